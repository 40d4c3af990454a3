import { downsampleMap } from '../decode';
import type { Engine, Handlers } from './types';

export function analyzeHandler({ backends, models, decoder }: Engine): Handlers['analyze'] {
  return async ({ modelId, image, name, map, transforms, roi, threads }, ctx) =>
    backends.compute('inspection', ctx.signal, true, async () => {
      const t0 = performance.now();
      const model = models.model(modelId);
      const img = await decoder.image(image, name ?? 'image', { roi });
      const opts = { ...(transforms ? { transforms } : {}), ...(threads !== undefined ? { threads } : {}) };
      if (!map) {
        const score = await model.score(img, opts);
        return { result: { score, mapWidth: 0, mapHeight: 0, width: img.width, height: img.height, ms: performance.now() - t0 } };
      }
      const dm = await model.defectMap(img, opts);
      const small = downsampleMap(dm.map, dm.width, dm.height);
      return {
        result: { score: dm.score, map: small.map, mapWidth: small.width, mapHeight: small.height, width: img.width, height: img.height, ms: performance.now() - t0 },
        transfer: [small.map.buffer as ArrayBuffer],
      };
    });
}

