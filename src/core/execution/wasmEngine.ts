import * as tf from '@tensorflow/tfjs';
import { HostBackbone, type HostThreads } from '../backbones/hostBackbone';
import type { Backbone, HostForward } from '../backbones/types';
import { transformCopies, type CopySpec } from '../features/copies';
import { featureDim, scaleWidth, type FeatureConfig } from '../features/extractor';
import { toUnitRgb } from '../features/preprocess';
import type { RgbaImage } from '../image';
import { downsampleNearestRgb } from '../resample';
import { hostCopyGradients } from '../score/hostMap';
import { simdSupported } from '../wasm/gemmKernels';
import type { CopyGradients, FeatureEngine, ScoredModel } from './featureEngine';
import { tfjsCopyGradients, tfjsCopyRows } from './tfjsEngine';

interface Shared {
  host: Promise<HostBackbone | null>;
  users: number;
}

/**
 * Feature rows and map gradients on the engine's own WebAssembly kernels (backbones/hostBackbone.ts), on
 * `threads`. The copies' transforms stay TF.js ops (the pixels the TF.js engine differentiates); the scales
 * and the CNN run on the kernels, image by image. A backbone the kernels cannot run (or no SIMD, or no
 * memory for it) keeps TF.js's rows. Backbones with the same weights (every model trained on one weights
 * file carries its own copy) share one compiled forward pass, its memory and its helper threads.
 */
export class WasmFeatureEngine implements FeatureEngine {
  readonly name = 'wasm';
  private readonly pending = new WeakMap<Backbone, Promise<HostForward | null>>();
  private readonly shared = new Map<string, Shared>();

  constructor(readonly threads: HostThreads) {}

  async copyRows(backbone: Backbone, cfg: FeatureConfig, img: RgbaImage, specs: readonly CopySpec[], chunk = 8, maxThreads?: number): Promise<Float32Array> {
    const host = await this.forward(backbone, cfg.size);
    if (!host) return tfjsCopyRows(backbone, cfg, img, specs, chunk);
    const dim = featureDim(backbone, cfg);
    const width = scaleWidth(backbone, cfg);
    const out = new Float32Array(specs.length * dim);
    const base = tf.tidy(() => toUnitRgb(img, cfg.size).expandDims(0) as tf.Tensor4D);
    try {
      const n = cfg.size * cfg.size * 3;
      for (let i = 0; i < specs.length; i += chunk) {
        const batch = transformCopies(base, specs.slice(i, i + chunk));
        const px = (await batch.data()) as Float32Array;
        batch.dispose();
        for (let j = 0; j * n < px.length; j++) {
          const full = px.subarray(j * n, (j + 1) * n);
          for (let s = 0; s < cfg.scales; s++) {
            const side = Math.floor(cfg.size / 2 ** s);
            out.set(await host.pooled(downsampleNearestRgb(full, cfg.size, side), side, cfg.taps, maxThreads), (i + j) * dim + s * width);
          }
        }
      }
    } finally {
      base.dispose();
    }
    return out;
  }

  async copyGradients(m: ScoredModel, base: tf.Tensor4D, angles: readonly number[], maxThreads?: number): Promise<CopyGradients> {
    const host = await this.forward(m.backbone, m.features.size);
    return host ? hostCopyGradients(host, m, base, angles, maxThreads) : tfjsCopyGradients(m, base, angles);
  }

  bytesFor(backbone: Backbone): number {
    return backbone.host?.bytes ?? 0;
  }

  /** The backbone's forward pass on the kernels, compiled on first use; null where it cannot run there. */
  private forward(backbone: Backbone, side: number): Promise<HostForward | null> {
    const current = backbone.host;
    if (current && !current.released) return Promise.resolve(current);
    if (current) {
      // Broken by a failed helper thread: the next rows get a fresh one.
      current.dispose();
      backbone.host = null;
      this.pending.delete(backbone);
    }
    let p = this.pending.get(backbone);
    if (!p) {
      p = this.attach(backbone, side);
      this.pending.set(backbone, p);
    }
    return p;
  }

  private async attach(backbone: Backbone, side: number): Promise<HostForward | null> {
    if (!simdSupported()) return null;
    const key = `${backbone.id}:${backbone.weightsHash}`;
    for (;;) {
      let s = this.shared.get(key);
      if (!s) {
        s = { host: compile(backbone, this.threads, side), users: 0 };
        this.shared.set(key, s);
      }
      s.users++;
      const host = await s.host;
      if (host && !host.released) {
        backbone.host = this.handle(key, s, host);
        return backbone.host;
      }
      s.users--;
      if (this.shared.get(key) === s) this.shared.delete(key);
      if (!host) return null;
    }
  }

  /** One backbone's share of a compiled host: the host itself goes once its last user is disposed. */
  private handle(key: string, s: Shared, host: HostBackbone): HostForward {
    let mine = true;
    const shared = this.shared;
    return {
      pooled: (rgb, side, taps, maxThreads) => host.pooled(rgb, side, taps, maxThreads),
      inputGradient: (images, taps, back, maxThreads) => host.inputGradient(images, taps, back, maxThreads),
      get threads() {
        return host.threads;
      },
      get bytes() {
        return host.bytes;
      },
      get released() {
        return !mine || host.released;
      },
      dispose() {
        if (!mine) return;
        mine = false;
        if (--s.users > 0) return;
        host.dispose();
        if (shared.get(key) === s) shared.delete(key);
      },
    };
  }
}

async function compile(backbone: Backbone, t: HostThreads, side: number): Promise<HostBackbone | null> {
  try {
    return await HostBackbone.create(backbone.plan, t, side);
  } catch (e) {
    if (t.helpers === 0) {
      // A plan these kernels cannot run, or no memory for it: TF.js keeps computing this backbone's rows.
      console.warn(`feature rows stay on TF.js: ${(e as Error).message}`);
      return null;
    }
    // Helper threads that would not start (a blocked Worker, say): this thread alone.
    return compile(backbone, { ...t, helpers: 0 }, side);
  }
}
