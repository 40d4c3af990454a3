// Free of TF.js, like settings.ts, so the UI can show what a training run will cost before it starts.
import type { BackboneId } from '../backbones/types';
import { bankCopies, type ModelSettings } from '../model/settings';

/** GAP feature width per scale of each backbone with its default taps (Backbone.featureWidth), known without loading one. */
export const FEATURE_WIDTH: Record<BackboneId, number> = { alexnet: 256, squeezenet1_1: 512, googlenet: 2336 };

export interface BankCost {
  /** Transformed copies whose CNN features are computed: images x copies. */
  rows: number;
  /** Bytes of the feature bank (float32): rows x feature dimension x 4. */
  bytes: number;
  /** Feature extraction time at `copiesPerSecond`; null when no rate was given. */
  seconds: number | null;
}

/**
 * What the training feature bank of `images` images costs under `s`: its rows, its memory, and (given a
 * measured rate of transformed copies through the CNN per second, e.g. measureCopyRate or a previous run's
 * images x copies / featureSeconds) the time to compute it. The flow's training time is not included.
 */
export function featureBankCost(s: ModelSettings, images: number, backbone: BackboneId | number, copiesPerSecond?: number): BankCost {
  const width = typeof backbone === 'number' ? backbone : FEATURE_WIDTH[backbone];
  const rows = images * bankCopies(s);
  const bytes = rows * width * s.features.scales * 4;
  return { rows, bytes, seconds: copiesPerSecond && copiesPerSecond > 0 ? rows / copiesPerSecond : null };
}
