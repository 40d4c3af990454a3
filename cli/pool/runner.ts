import { loadModel, type Backbone, type DifferNet, type FeatureConfig, type FeatureEngine } from '../../src/core/internal';
import { resizeBilinear } from '../../src/core/resample';
import { decodeForInspection, readImageBytes } from '../io/decode';
import { loadBackboneFile } from '../weights';
import type { Job, JobResult, WorkerInit } from './protocol';

/** Executes jobs on one TF.js engine; the same code runs in a worker thread or, with one worker, in-process. */
export class JobRunner {
  private constructor(
    private readonly engine: FeatureEngine,
    private readonly backbone: Backbone,
    private readonly features: FeatureConfig,
    private readonly model: DifferNet | null,
  ) {}

  /** A runner computing on `engine`, its process's plan's. */
  static create(init: WorkerInit, engine: FeatureEngine): JobRunner {
    if (init.kind === 'backbone') return new JobRunner(engine, loadBackboneFile(init.weightsPath, init.backbone), init.features, null);
    const { model } = loadModel(init.modelBytes, engine);
    return new JobRunner(engine, model.backbone, model.features, model);
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
        const rows = await this.engine.copyRows(this.backbone, this.features, img, job.specs);
        return { id: job.id, ok: true, kind: 'copies', rows, width, height, ...downscaled };
      }
      if (!this.model) throw new Error('defect maps need a model');
      const d = await this.model.defectMap(img, { transforms: job.transforms, mapOrder: job.mapOrder });
      const map = img.downscaledFrom ? resizeBilinear(d.map, d.width, d.height, width, height) : d.map;
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
