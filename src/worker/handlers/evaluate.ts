import { calibrate, mapScaleFromGood, type Calibration } from '../../core/inspection';
import { pixelAuroc } from '../../core/metrics';
import { CALIBRATION_MAPS } from '../../core/train/pipeline';
import { CancelledError } from '../../core/progress';
import { downsampleMap, ImageDecodeError } from '../decode';
import type { Engine, Handlers } from './types';

export function evaluateHandler({ backends, models, decoder }: Engine): Handlers['evaluate'] {
  return async ({ modelId, items, maps, calibrate: method }, ctx) =>
    backends.compute('evaluation', ctx.signal, true, async (signal) => {
      const model = models.model(modelId);
      const scores: number[] = [];
      const errors: (string | null)[] = [];
      const pixelMaps: Float32Array[] = [];
      const pixelMasks: Uint8Array[] = [];
      const withMasks = (maps && items.some((it) => it.mask)) || !!method;
      const goodMaps: Float32Array[] = [];
      const clock = performance.now();
      for (let i = 0; i < items.length; i++) {
        if (signal.aborted) throw new CancelledError('evaluation');
        const it = items[i];
        try {
          const img = await decoder.image(it.image, it.name);
          if (withMasks) {
            const dm = await model.defectMap(img);
            if (it.label === 0 && goodMaps.length < CALIBRATION_MAPS) goodMaps.push(dm.map);
            const small = downsampleMap(dm.map, dm.width, dm.height);
            // MVTec convention: good images count with an all-clear mask; defects without one are left out.
            if (it.mask || it.label === 0) {
              pixelMaps.push(small.map);
              pixelMasks.push(it.mask ? await decoder.mask(it.mask, `${it.name} mask`, small.width, small.height) : new Uint8Array(small.map.length));
            }
            scores.push(dm.score);
          } else {
            scores.push(await model.score(img));
          }
          errors.push(null);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          scores.push(NaN);
          errors.push(e.message);
        }
        const elapsed = (performance.now() - clock) / 1000;
        ctx.progress({ phase: 'evaluate', done: i + 1, total: items.length, itemScore: scores[i], etaSeconds: (elapsed / (i + 1)) * (items.length - i - 1) });
      }
      const pixel = pixelMasks.some((mk) => mk.some((v) => v === 1)) ? pixelAuroc(pixelMaps, pixelMasks) : null;
      let calibration: Calibration | null = null;
      if (method) {
        const goodScores = scores.filter((s, i) => items[i].label === 0 && Number.isFinite(s));
        const labelled = { scores: scores.filter(Number.isFinite), labels: items.filter((_, i) => Number.isFinite(scores[i])).map((it) => it.label) };
        if (goodScores.length > 0) calibration = calibrate({ goodScores, source: 'labelled', labelled, mapScale: mapScaleFromGood(goodMaps) }, method);
      }
      return { result: { scores, errors, pixelAuroc: pixel, calibration } };
    });
}
