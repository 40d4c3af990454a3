import type { Backbone } from '../backbones/types';
import type { ExecutionPlan } from '../execution/executionPlan';
import type { FeatureEngine } from '../execution/featureEngine';
import { featureDim } from '../features/extractor';
import { Flow } from '../flow/flow';
import { fitWhitening } from '../flow/whitening';
import type { RgbaImage } from '../image';
import type { Progress } from '../progress';
import { defectMap, type DefectMap } from '../score/defectMap';
import { anomalyScore, scoreAngles, type ScoreOptions } from '../score/score';
import type { FeatureBank } from '../train/featureBank';
import { trainFlow, type FlowTrainProgress } from '../train/trainFlow';
import type { Calibration } from '../inspection/calibration';
import { FEATURE_POWER_OFFSET, type ModelSettings } from './settings';

export interface TrainingRecord {
  /** Good images the flow trained on. */
  images: number;
  /** Good images kept out of training to set the threshold (absent in older files: none). */
  heldOut?: number;
  featureSeconds: number;
  flowSeconds: number;
  /** Scoring the held-out images and their defect maps (absent in older files). */
  calibrationSeconds?: number;
  /** Everything the user waited for, from the first image read to the calibrated model. */
  totalSeconds?: number;
  /** Mean loss of each pass over the data. */
  losses: number[];
  finishedAt: string;
  backend: string;
}

export type TrainEvent =
  | { phase: 'features' | 'calibrate'; progress: Progress }
  | { phase: 'flow'; progress: FlowTrainProgress };

export interface TrainCallbacks {
  signal?: AbortSignal;
  onProgress?: (e: TrainEvent) => void;
  /** The worker's or process's plan: the engine of the feature rows, the flow's runner and threads, and the backend recorded in the model. */
  plan: ExecutionPlan;
}

/**
 * A trained inspection model: frozen backbone + flow + calibration, and the feature engine of the plan it
 * runs under (execution/executionPlan.ts). Does not own the backbone.
 */
export class DifferNet {
  constructor(
    readonly engine: FeatureEngine,
    readonly backbone: Backbone,
    readonly flow: Flow,
    readonly settings: ModelSettings,
    public calibration: Calibration | null = null,
    readonly training: TrainingRecord | null = null,
  ) {
    const dim = featureDim(backbone, settings.features);
    if (flow.config.inputDim !== dim) {
      throw new Error(`flow expects ${flow.config.inputDim} features but ${backbone.id} at ${settings.features.scales} scales gives ${dim}`);
    }
  }

  get features() {
    return this.settings.features;
  }

  /** The flow half of training, for callers that computed the feature bank themselves (e.g. in parallel). */
  static async trainOnBank(backbone: Backbone, bank: FeatureBank, settings: ModelSettings, cb: TrainCallbacks, featureSeconds = 0): Promise<DifferNet> {
    const t = settings.train;
    const { whitening: shrinkage, power, ...arch } = settings.flow;
    if (power !== undefined && shrinkage === undefined) throw new Error('a feature power needs the whitening: turn "Whiten the features" on, or the power off');
    const fitStart = Date.now();
    const whitening =
      shrinkage === undefined
        ? null
        : await fitWhitening(bank.data, bank.count * bank.copies, bank.dim, { shrinkage, power: power === undefined ? null : { exponent: power, offset: FEATURE_POWER_OFFSET }, signal: cb.signal });
    const whiteningSeconds = (Date.now() - fitStart) / 1000;
    const flow = Flow.random({ inputDim: bank.dim, ...arch }, t.seed, { whitening, identityInit: whitening !== null });
    try {
      const report = await trainFlow(flow, bank, {
        epochs: t.epochs,
        subEpochs: t.subEpochs,
        batchSize: t.batchSize,
        transforms: t.transforms,
        adam: t.adam,
        seed: t.seed,
        signal: cb.signal,
        engine: cb.plan.flow.runner,
        threads: cb.plan.flow.threads,
        onProgress: (progress) => cb.onProgress?.({ phase: 'flow', progress }),
      });
      return new DifferNet(cb.plan.features, backbone, flow, settings, null, {
        images: bank.count,
        featureSeconds,
        flowSeconds: whiteningSeconds + report.seconds,
        losses: report.losses,
        finishedAt: new Date().toISOString(),
        backend: cb.plan.backend,
      });
    } catch (e) {
      flow.dispose();
      throw e;
    }
  }

  private scoreOptions(opts?: Partial<ScoreOptions>): ScoreOptions {
    return { transforms: this.settings.testTransforms, rotate: this.settings.train.rotate, ...opts };
  }

  /** The rotations an image is scored under: T of them, or only the unrotated image for a rotation-free model. */
  scoreAngles(transforms = this.settings.testTransforms): number[] {
    return scoreAngles(this.scoreOptions({ transforms }));
  }

  score(img: RgbaImage, opts?: Partial<ScoreOptions>): Promise<number> {
    return anomalyScore(this, img, this.scoreOptions(opts));
  }

  defectMap(img: RgbaImage, opts?: Partial<ScoreOptions>): Promise<DefectMap> {
    return defectMap(this, img, this.scoreOptions(opts));
  }

  dispose(): void {
    this.flow.dispose();
  }
}
