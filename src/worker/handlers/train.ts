import type { TrainEvent } from '../../core/model/differnet';
import { saveModel } from '../../core/model/modelFile';
import { trainModel } from '../../core/train/pipeline';
import type { ImageSource } from '../../core/train/featureBank';
import type { Engine, Handlers } from './types';

export function trainHandler({ backends, weights, models, decoder }: Engine): Handlers['train'] {
  // A training interrupted by a lost GPU is reported, not restarted: redoing minutes of work unasked,
  // with a loss curve starting over, would surprise more than a message saying to press Train again.
  return async (args, ctx) =>
    backends.compute('training', ctx.signal, false, async (signal) => {
      const backbone = weights.backbone(args.backbone);
      // A progress message per flow step (13 a second) would re-render the page's loss chart as often,
      // on the core the helper threads need: at most 5 a second, and always the last.
      let lastFlowMessage = 0;
      const source: ImageSource = { count: args.images.length, load: (i) => decoder.image(args.images[i], args.names[i]) };
      const model = await trainModel(backbone, source, args.settings, {
        signal,
        plan: backends.plan,
        falseAlarmRate: args.falseAlarmRate,
        onProgress: (e: TrainEvent) => {
          if (e.phase === 'flow') {
            const t = performance.now();
            if (e.progress.step < e.progress.totalSteps && t - lastFlowMessage < 200) return;
            lastFlowMessage = t;
          }
          if (e.phase === 'flow') ctx.progress({ phase: 'flow', done: e.progress.step, total: e.progress.totalSteps, etaSeconds: e.progress.etaSeconds, loss: e.progress.loss });
          else ctx.progress({ phase: e.phase, done: e.progress.done, total: e.progress.total, etaSeconds: e.progress.etaSeconds });
        },
      });
      let summary;
      let bytes: Uint8Array;
      try {
        bytes = await saveModel(model, { name: args.modelId, includeBackbone: false });
        // Only now, with everything done, does the new version replace the old one.
        summary = models.put(args.modelId, bytes, model.calibration, model);
      } catch (e) {
        model.dispose();
        throw e;
      }
      const copy = bytes.slice();
      return { result: { bytes: copy.buffer, summary }, transfer: [copy.buffer] };
    });
}
