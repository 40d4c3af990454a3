// Models in and out of the worker: load, unload, set a calibration, export, import a model file.
import { readModelFile, withoutBackbone, saveModel } from '../../core/model/modelFile';
import type { StateDict } from '../../core/torch';
import { ownBuffer } from '../jobs';
import { summaryOf } from '../modelRegistry';
import type { WeightsInfo } from '../protocol';
import type { Engine, Handlers } from './types';

export function modelHandlers({ backends, weights, models }: Engine): Pick<Handlers, 'loadModel' | 'unloadModel' | 'setCalibration' | 'exportModel' | 'importModel'> {
  return {
    loadModel: async ({ modelId, bytes, calibration }) => ({ result: models.put(modelId, new Uint8Array(bytes), calibration) }),

    unloadModel: async ({ modelId }) => {
      models.drop(modelId);
      return { result: undefined };
    },

    setCalibration: async ({ modelId, calibration }) => {
      models.setCalibration(modelId, calibration);
      return { result: undefined };
    },

    exportModel: async ({ modelId, name, includeBackbone }, ctx) =>
      backends.compute('export', ctx.signal, true, async () => {
        const buffer = ownBuffer(await saveModel(models.model(modelId), { name, includeBackbone }));
        return { result: buffer, transfer: [buffer] };
      }),

    importModel: async ({ bytes }, ctx) =>
      backends.compute('import', ctx.signal, true, async () => {
        const u8 = new Uint8Array(bytes);
        const { manifest, tensors } = readModelFile(u8);
        let imported: { info: WeightsInfo; cache: ArrayBuffer } | null = null;
        if (manifest.backbone.included && !weights.has(manifest.backbone.id)) {
          const sd: StateDict = new Map();
          for (const [k, v] of tensors) if (k.startsWith('backbone.')) sd.set(k.slice('backbone.'.length), v);
          const info = weights.adopt(sd, manifest.backbone.id, `model file "${manifest.name}"`);
          imported = { info, cache: weights.cacheFile(info.id).buffer as ArrayBuffer };
        }
        // With its backbone's weights held here, the model is kept as trained ones are: flow only.
        const held = manifest.backbone.included && weights.info(manifest.backbone.id)?.hash === manifest.backbone.weightsHash;
        const copy = held ? withoutBackbone(u8) : u8.slice();
        const transfer: Transferable[] = [copy.buffer];
        if (imported) transfer.push(imported.cache);
        const stored = held ? readModelFile(copy).manifest : manifest;
        return { result: { bytes: copy.buffer as ArrayBuffer, summary: summaryOf(stored, stored.calibration, copy.length), name: manifest.name, weights: imported }, transfer };
      }),
  };
}
