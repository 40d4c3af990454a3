import type { BackboneId } from '../backbones/types';
import type { FeatureConfig } from '../features/extractor';
import type { AdamConfig } from '../train/adam';
import { PAPER_ADAM } from '../train/adam';

export interface TrainSettings {
  epochs: number;
  subEpochs: number;
  batchSize: number;
  /** Transformed copies of each image per training step (n_transforms). */
  transforms: number;
  /** Transformed copies of each image whose features are computed once and reused across epochs. */
  copies: number;
  rotate: boolean;
  /** Colour jitter strength (0 = off). */
  jitter: number;
  adam: AdamConfig;
  seed: number;
}

export interface ModelSettings {
  features: FeatureConfig;
  flow: { blocks: number; hidden: number; clamp: number };
  train: TrainSettings;
  /** Transformed copies averaged into a score at inspection time. */
  testTransforms: number;
}

/** The paper's configuration (Rudolph et al. 2021, official code's config.py). */
export const PAPER_SETTINGS: ModelSettings = {
  features: { size: 448, scales: 3 },
  flow: { blocks: 8, hidden: 2048, clamp: 3 },
  train: { epochs: 24, subEpochs: 8, batchSize: 24, transforms: 4, copies: 4, rotate: true, jitter: 0, adam: PAPER_ADAM, seed: 0 },
  testTransforms: 64,
};

/**
 * Default for interactive use on a CPU-class machine: the paper's features and flow depth with a narrow
 * flow and fewer passes (see BENCHMARKS.md for the measurements behind the choice).
 */
export const DEFAULT_SETTINGS: ModelSettings = {
  features: { size: 448, scales: 3 },
  flow: { blocks: 8, hidden: 128, clamp: 3 },
  train: { epochs: 3, subEpochs: 8, batchSize: 24, transforms: 4, copies: 4, rotate: true, jitter: 0, adam: PAPER_ADAM, seed: 0 },
  testTransforms: 16,
};

export interface ModelIdentity {
  name: string;
  backbone: BackboneId;
}

/** Copies per image in the feature bank: at least the transforms drawn per step. */
export function bankCopies(s: ModelSettings): number {
  return Math.max(s.train.copies, s.train.transforms);
}
