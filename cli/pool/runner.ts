import { readFileSync } from 'node:fs';
import { copyFeatures, loadModel, type Backbone, type DifferNet, type FeatureConfig } from '../../src/core';
import { decodeImage } from '../io/decode';
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

  async run(job: Job): Promise<JobResult> {
    try {
      const img = decodeImage(new Uint8Array(readFileSync(job.imagePath)), job.imagePath);
      if (job.kind === 'copies') {
        const rows = await copyFeatures(this.backbone, this.features, img, job.specs);
        return { id: job.id, ok: true, kind: 'copies', rows, width: img.width, height: img.height };
      }
      if (!this.model) throw new Error('defect maps need a model');
      const d = await this.model.defectMap(img, { transforms: job.transforms });
      return { id: job.id, ok: true, kind: 'map', score: d.score, map: d.map, width: d.width, height: d.height };
    } catch (e) {
      return { id: job.id, ok: false, error: (e as Error).message };
    }
  }
}
