import { copyFeatures, loadModel, type Backbone, type DifferNet, type FeatureConfig } from '../../src/core/internal';
import { decodeForInspection, readImageBytes } from '../io/decode';
import { loadBackboneFile } from '../weights';
import type { Job, JobResult, WorkerInit } from './protocol';

/** Executes jobs on one TF.js engine; the same code runs in a worker thread or, with one worker, in-process. */
export class JobRunner {
  private constructor(
    private readonly backbone: Backbone,
    private readonly features: FeatureConfig,
    private readonly model: DifferNet | null,
  ) {}

  static create(init: WorkerInit): JobRunner {
    if (init.kind === 'backbone') return new JobRunner(loadBackboneFile(init.weightsPath, init.backbone), init.features, null);
    const { model } = loadModel(init.modelBytes);
    return new JobRunner(model.backbone, model.features, model);
  }

  /**
   * Never throws: any failure becomes `{ ok: false }` with a message naming the file, so one bad file in a
   * batch is reported and the rest still run.
   */
  async run(job: Job): Promise<JobResult> {
    try {
      const img = decodeForInspection(readImageBytes(job.imagePath), job.imagePath);
      // Results describe the file as decoded (callers overlay maps on it and match masks to it).
      const [width, height] = img.downscaledFrom ?? [img.width, img.height];
      const downscaled = img.downscaledFrom ? { downscaledTo: [img.width, img.height] as [number, number] } : {};
      if (job.kind === 'copies') {
        const rows = await copyFeatures(this.backbone, this.features, img, job.specs);
        return { id: job.id, ok: true, kind: 'copies', rows, width, height, ...downscaled };
      }
      if (!this.model) throw new Error('defect maps need a model');
      const d = await this.model.defectMap(img, { transforms: job.transforms, mapOrder: job.mapOrder });
      const map = img.downscaledFrom ? upsampleMap(d.map, d.width, d.height, width, height) : d.map;
      return { id: job.id, ok: true, kind: 'map', score: d.score, map, width, height, ...downscaled };
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      return { id: job.id, ok: false, error: text.includes(job.imagePath) ? text : `${job.imagePath}: ${text}` };
    }
  }

  /** Frees the backbone and flow tensors; the runner is unusable afterwards. */
  dispose(): void {
    this.model?.dispose();
    this.backbone.dispose();
  }
}

/**
 * Bilinear resize of a row-major map with half-pixel centres, as the engine's own tf.image.resizeBilinear
 * (alignCorners false, halfPixelCenters true) takes its map from the working size to the image size.
 */
export function upsampleMap(map: Float32Array, w: number, h: number, width: number, height: number): Float32Array {
  const axis = (n: number, to: number) => {
    const lo = new Int32Array(to);
    const hi = new Int32Array(to);
    const t = new Float32Array(to);
    for (let i = 0; i < to; i++) {
      const f = Math.min(n - 1, Math.max(0, ((i + 0.5) * n) / to - 0.5));
      lo[i] = Math.floor(f);
      hi[i] = Math.min(n - 1, lo[i] + 1);
      t[i] = f - lo[i];
    }
    return { lo, hi, t };
  };
  const xs = axis(w, width);
  const ys = axis(h, height);
  const out = new Float32Array(width * height);
  for (let y = 0, o = 0; y < height; y++) {
    const r0 = ys.lo[y] * w;
    const r1 = ys.hi[y] * w;
    const ty = ys.t[y];
    for (let x = 0; x < width; x++, o++) {
      const x0 = xs.lo[x];
      const x1 = xs.hi[x];
      const tx = xs.t[x];
      const top = map[r0 + x0] + (map[r0 + x1] - map[r0 + x0]) * tx;
      const bottom = map[r1 + x0] + (map[r1 + x1] - map[r1 + x0]) * tx;
      out[o] = top + (bottom - top) * ty;
    }
  }
  return out;
}
