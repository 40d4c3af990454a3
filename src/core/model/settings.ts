import type { BackboneId } from '../backbones/types';
import type { FeatureConfig } from '../features/extractor';
import type { Framing } from '../inspection/framing';
import { PAPER_ADAM, type AdamConfig } from '../train/adamConfig';

export interface TrainSettings {
  epochs: number;
  subEpochs: number;
  batchSize: number;
  /** Transformed copies of each image per training step (n_transforms). */
  transforms: number;
  /**
   * Transformed copies of each image whose features are computed once and reused across epochs (the bank).
   * With more copies than transforms, every step draws a fresh random `transforms` of them per image.
   */
  copies: number;
  rotate: boolean;
  /** Colour jitter strength (0 = off). */
  jitter: number;
  adam: AdamConfig;
  seed: number;
}

export interface FlowSettings {
  blocks: number;
  hidden: number;
  clamp: number;
  /**
   * Whiten the features before the coupling blocks, with this shrinkage of their covariance towards a scaled
   * identity, and start the blocks at the identity (flow/whitening.ts says why). Absent: the paper's flow.
   */
  whitening?: number;
  /**
   * The exponent of a power taken on every feature before the whitening, (x + FEATURE_POWER_OFFSET)^power
   * (flow/whitening.ts's FeaturePower says why). Only with `whitening`. Absent: the features as they are.
   */
  power?: number;
}

export interface ModelSettings {
  features: FeatureConfig;
  flow: FlowSettings;
  train: TrainSettings;
  /** Transformed copies averaged into a score at inspection time. */
  testTransforms: number;
  /**
   * How the training images were framed, recorded by training (absent in older files: framingOf gives
   * the default). Scoring never reads it; Live crops camera frames with it before the engine sees them.
   */
  framing?: Framing;
}

/** The paper's configuration (Rudolph et al. 2021, official code's config.py). */
export const PAPER_SETTINGS: ModelSettings = {
  features: { size: 448, scales: 3 },
  flow: { blocks: 8, hidden: 2048, clamp: 3 },
  train: { epochs: 24, subEpochs: 8, batchSize: 24, transforms: 4, copies: 32, rotate: true, jitter: 0, adam: PAPER_ADAM, seed: 0 },
  testTransforms: 64,
};

/**
 * Default for parts photographed in a fixed pose (a jig, a conveyor, a cropped tile): no rotations, one
 * unrotated copy per image for training and scoring, the paper's features and flow depth with a flow 25x
 * smaller than the paper's, trained for more passes (narrow flows need them; a pass is cheap here), and
 * 16x cheaper to score than 16 rotations. On Magnetic Tile Defects it also scores higher than the paper's
 * rotations with the fresh-angle bank and the same flow (BENCHMARKS.md, `npm run bench`: image AUROC
 * 88.15 against 82.07 / 79.94 / 83.31 / 84.56 at T = 1 / 4 / 16 / 64). `withRotations` turns the
 * paper's augmentation back on, for parts that can lie at any angle.
 */
export const DEFAULT_SETTINGS: ModelSettings = {
  features: { size: 448, scales: 3 },
  flow: { blocks: 8, hidden: 192, clamp: 3 },
  train: { epochs: 4, subEpochs: 8, batchSize: 24, transforms: 1, copies: 1, rotate: false, jitter: 0, adam: PAPER_ADAM, seed: 0 },
  testTransforms: 1,
};

/**
 * Random rotations per training image whose features a rotating model computes up front. The official
 * loader draws new angles every time it returns an image (4 per image per step, about 768 over the paper's
 * 192 passes). From a bank of 32, each step draws 4 at random, so the flow sees fresh combinations of 32
 * angles per image instead of the same 4 every step, at 8x their feature cost (featureBankCost says how much).
 */
export const ROTATION_BANK_COPIES = 32;

/**
 * Settings with the paper's random-rotation augmentation on (parts at any angle: a bank of
 * ROTATION_BANK_COPIES rotated copies per training image, 4 drawn afresh each step, 16 evenly spaced
 * rotations per score) or off (one unrotated copy each). 16, not the paper's 64: on MTD T = 64 scored
 * 1.25 AUROC points above T = 16 and takes 3-4x as long per image (2.48 against 7.72 s on TF.js's
 * convolutions, 1.20 against 4.41 s on the engine's own).
 */
export function withRotations(s: ModelSettings, rotate: boolean): ModelSettings {
  const n = rotate ? { copies: ROTATION_BANK_COPIES, transforms: 4, test: 16 } : { copies: 1, transforms: 1, test: 1 };
  return { ...s, train: { ...s.train, rotate, copies: n.copies, transforms: n.transforms }, testTransforms: n.test };
}

/**
 * Each backbone's default features. AlexNet and SqueezeNet: the paper's last layer at 448, 224 and 112 px.
 * GoogLeNet: inception_3b, 4a, 4c and 4e (its plan's default taps) at 224 px only, the size it was trained
 * at; one 224 px pass costs less than SqueezeNet's three scales (BENCHMARKS.md has both rows).
 */
export const BACKBONE_FEATURES: Record<BackboneId, FeatureConfig> = {
  alexnet: { size: 448, scales: 3 },
  squeezenet1_1: { size: 448, scales: 3 },
  googlenet: { size: 224, scales: 1 },
};

/**
 * The outputs each backbone pools when a model names no taps (its plan's defaultTaps), for code that must not
 * load TF.js to ask the plan (the UI); settings.test.ts holds them to the plans.
 */
export const BACKBONE_TAPS: Record<BackboneId, readonly string[]> = {
  alexnet: ['features.12'],
  squeezenet1_1: ['features.12'],
  googlenet: ['inception_3b', 'inception_4a', 'inception_4c', 'inception_4e'],
};

/**
 * The smallest square image each backbone's plan runs on (backbones/plan.ts planShapes: below it a layer has no
 * pixels), for code that must not load TF.js to ask the plan (the UI); settings.test.ts holds them to the plans.
 */
export const BACKBONE_MIN_SIDE: Record<BackboneId, number> = { alexnet: 63, squeezenet1_1: 17, googlenet: 31 };

/** The most scales, up to `max`, whose smallest image (size / 2^(scales - 1) px) backbone `id` still runs on. */
export function scalesThatFit(id: BackboneId, size: number, max: number): number {
  let scales = max;
  while (scales > 1 && Math.floor(size / 2 ** (scales - 1)) < BACKBONE_MIN_SIDE[id]) scales--;
  return scales;
}

/**
 * Why GoogLeNet is the default backbone, as the app says it beside the backbone choice: each backbone's
 * default model's image AUROC on Magnetic Tile Defects, in percent, the mean over the seeds of BENCHMARKS.md's
 * "Backbones side by side" table (`npm run bench`, every row from the same run). A value that is null has
 * not been entered from that table yet, and the sentence then leaves the numbers out rather than guess.
 */
export const BACKBONE_EVIDENCE: { dataset: string; source: string; best: BackboneId; against: BackboneId; auroc: Partial<Record<BackboneId, number | null>> } = {
  dataset: 'Magnetic Tile Defects',
  source: 'BENCHMARKS.md',
  best: 'googlenet',
  against: 'squeezenet1_1',
  auroc: { googlenet: 96.68, squeezenet1_1: 87.35 },
};

/** The covariance shrinkage of a whitened flow's input (flow/whitening.ts): 0.001-0.01 scored alike on MTD, 0.05 and 0.2 lower. */
export const DEFAULT_WHITENING_SHRINKAGE = 0.01;

/**
 * The offset of the feature power (flow/whitening.ts): keeps its slope finite where a feature is 0 (at most
 * 0.5 x 0.01^-0.5 = 5 for the square root). A steeper slope near 0 lets barely active channels steer the
 * defect maps: see DEFAULT_FEATURE_POWER.
 */
export const FEATURE_POWER_OFFSET = 0.01;

/**
 * The feature power's exponent: the square root. Roots trade the maps for the verdicts. On MTD (GoogLeNet's
 * taps; BENCHMARKS.md "GoogLeNet's feature power"), a Gaussian on the whitened rows over seeds 0-2 (held-out
 * threshold) scored image AUROC / recall at the model's threshold: no power 95.2 / 74 %, square root 96.8 /
 * 83 %, fourth root 97.5 / 88 %, log 97.4 / 87 %. Seed 0's trained default, image / pixel AUROC: no power
 * 95.5 / 87.8, square root (offset 0.01) 96.9 / 86.9, fourth root 97.0-97.6 / 83.1-86.3 (offsets 0.001-0.1).
 * The square root keeps nearly all of the maps' quality and most of the detection.
 */
export const DEFAULT_FEATURE_POWER = 0.5;

/** Each whitened backbone's feature power; see DEFAULT_FEATURE_POWER. */
export const BACKBONE_FEATURE_POWER: Record<BackboneId, number | undefined> = {
  alexnet: undefined,
  squeezenet1_1: undefined,
  googlenet: DEFAULT_FEATURE_POWER,
};

/**
 * Each backbone's default flow input. GoogLeNet's 2336 mid-level taps are whitened first (flow/whitening.ts);
 * AlexNet and SqueezeNet keep the paper's flow on their last layer.
 */
export const BACKBONE_WHITENING: Record<BackboneId, number | undefined> = {
  alexnet: undefined,
  squeezenet1_1: undefined,
  googlenet: DEFAULT_WHITENING_SHRINKAGE,
};

/**
 * Passes over the training images for a whitened flow (epochs x subEpochs). It starts at the Gaussian its
 * whitening describes, and on Magnetic Tile Defects (2336 GoogLeNet features, ~650 training images, seeds
 * 0-2, held-out threshold) more passes fit the training images at the expense of new ones: image AUROC /
 * recall at the model's own threshold (before the feature power) 95.22 / 74.5 % after 2 passes, 94.46 / 70.3 % after 8, and 95.42 /
 * 67.9 % after 32 (seed 0 alone, where 2 passes gave 95.54 / 74.2 %).
 */
export const WHITENED_PASSES = { epochs: 1, subEpochs: 2 } as const;

/**
 * Settings with the backbone's default features and flow input in place of the preset's. Passes follow the
 * flow input where they are the default preset's: a whitened flow trains for WHITENED_PASSES, a plain one
 * for DEFAULT_SETTINGS'; passes a user chose otherwise are kept.
 */
export function forBackbone(s: ModelSettings, id: BackboneId): ModelSettings {
  const { whitening: _previous, power: _previousPower, ...flow } = s.flow;
  const whitening = BACKBONE_WHITENING[id];
  const power = BACKBONE_FEATURE_POWER[id];
  const plainPasses = { epochs: DEFAULT_SETTINGS.train.epochs, subEpochs: DEFAULT_SETTINGS.train.subEpochs };
  const [from, to] = whitening === undefined ? [WHITENED_PASSES, plainPasses] : [plainPasses, WHITENED_PASSES];
  const train = s.train.epochs === from.epochs && s.train.subEpochs === from.subEpochs ? { ...s.train, ...to } : s.train;
  return { ...s, features: { ...BACKBONE_FEATURES[id] }, flow: whitening === undefined ? flow : { ...flow, whitening, ...(power === undefined ? {} : { power }) }, train };
}

/** Copies per image in the feature bank: at least the transforms drawn per step. */
export function bankCopies(s: ModelSettings): number {
  return Math.max(s.train.copies, s.train.transforms);
}
