// Diagnostics: the same features, score and defect map on two backends, to tell a backend's numerical
// trouble apart from a model's (a map runs the backward pass, which the features alone do not exercise).
import * as tf from '@tensorflow/tfjs';
import { featureDim, multiScaleFeatures } from '../../core/features/extractor';
import { Flow } from '../../core/flow';
import type { RgbaImage } from '../../core/image';
import { defectMap } from '../../core/score/defectMap';
import { scoreFeatureRows } from '../../core/score/score';
import type { BackendComparison } from '../protocol';
import type { Engine, Handlers } from './types';

export function compareBackendsHandler({ backends, weights, models }: Engine): Handlers['compareBackends'] {
  return async (args, ctx) =>
    backends.run('backend comparison', ctx.signal, async () => {
      const entry = args.modelId ? models.entry(args.modelId) : null;
      // A model's flow needs its number of scales, and the smallest scale must stay big enough for the CNN.
      const f0 = entry?.manifest.settings.features;
      const cfg = f0 ? { size: args.size * 2 ** (f0.scales - 1), scales: f0.scales, taps: f0.taps } : { size: args.size, scales: 1 };
      const image = testPattern(cfg.size);
      const rgba = toRgba(image, cfg.size);
      const rows: BackendComparison['rows'] = [];
      const maps: Float32Array[] = [];
      await backends.visit(args.backends, async (b) => {
        const t0 = performance.now();
        const backbone = weights.backbone(args.backbone);
        const flow = entry ? models.model(args.modelId!).flow : Flow.random({ inputDim: featureDim(backbone, cfg), blocks: 2, hidden: 64, clamp: 3 }, 7);
        try {
          const f = tf.tidy(() => multiScaleFeatures(backbone, tf.tensor4d(image, [1, cfg.size, cfg.size, 3]), cfg));
          const features = Array.from((await f.data()) as Float32Array);
          f.dispose();
          const score = (await scoreFeatureRows(flow, Float32Array.from(features), features.length, 1))[0];
          const ms = performance.now() - t0;
          maps.push((await defectMap({ engine: backends.plan.features, backbone, flow, features: cfg }, rgba, { transforms: 1, rotate: false })).map);
          rows.push({ backend: b, adapter: backends.adapter(b), features, score, ms, mapMs: performance.now() - t0 - ms });
        } finally {
          if (!entry) flow.dispose();
        }
      });
      const [a, b] = rows;
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < a.features.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a.features[i]));
        maxDiff = Math.max(maxDiff, Math.abs(a.features[i] - (b?.features[i] ?? a.features[i])));
      }
      return {
        result: {
          rows,
          featureRelDiff: maxDiff / Math.max(maxAbs, 1e-12),
          scoreRelDiff: b ? Math.abs(a.score - b.score) / Math.max(Math.abs(a.score), 1e-12) : 0,
          mapRelDiff: maps.length === 2 ? relToMax(maps[1], maps[0]) : 0,
          size: cfg.size,
        },
      };
    });
}

/** Largest |got - want| over the largest |want|. */
function relToMax(got: Float32Array, want: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / Math.max(m, 1e-30);
}

/** The test pattern as 8-bit RGBA, the image a defect map takes. */
function toRgba(rgb: Float32Array, size: number): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) data[4 * p + c] = Math.round(rgb[3 * p + c] * 255);
    data[4 * p + 3] = 255;
  }
  return { width: size, height: size, data };
}

/** A deterministic, textured RGB image in [0, 1] so backend comparisons do not depend on user files. */
export function testPattern(size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      out[i] = 0.5 + 0.5 * Math.sin(x * 0.37 + y * 0.11);
      out[i + 1] = 0.5 + 0.5 * Math.cos(x * 0.05 - y * 0.29);
      out[i + 2] = ((x * 7 + y * 13) % 17) / 16;
    }
  }
  return out;
}
