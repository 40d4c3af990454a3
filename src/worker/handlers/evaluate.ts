import { evaluateLabelledSet } from '../../core/inspection';
import { downsampleMap, ImageDecodeError } from '../decode';
import type { Engine, Handlers } from './types';

export function evaluateHandler({ backends, models, decoder }: Engine): Handlers['evaluate'] {
  return async ({ modelId, items, maps, calibrate }, ctx) =>
    backends.compute('evaluation', ctx.signal, true, async (signal) => {
      const model = models.model(modelId);
      const clock = performance.now();
      const result = await evaluateLabelledSet(
        model,
        items.map((it) => ({
          label: it.label,
          hasMask: !!it.mask,
          image: () => decoder.image(it.image, it.name),
          mask: (width: number, height: number) => decoder.mask(it.mask!, `${it.name} mask`, width, height),
        })),
        {
          pixels: maps,
          calibrate,
          // Compared on the grid the UI shows, with the mask drawn to the same size.
          grid: downsampleMap,
          itemError: (e) => (e instanceof ImageDecodeError ? e.message : null),
          signal,
          progress: (done, total, itemScore) => {
            const elapsed = (performance.now() - clock) / 1000;
            ctx.progress({ phase: 'evaluate', done, total, itemScore, etaSeconds: (elapsed / done) * (total - done) });
          },
        },
      );
      return { result };
    });
}
