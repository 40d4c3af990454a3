import { f1MaxThreshold, percentileThreshold, scoreStats, thresholdForFalseAlarmRate } from '../metrics';

export type ThresholdMethod =
  | { kind: 'percentile'; percentile: number }
  | { kind: 'false-alarm-rate'; rate: number }
  | { kind: 'f1-max' }
  | { kind: 'manual'; threshold: number };

export interface Calibration {
  /** Scores >= threshold are defects. */
  threshold: number;
  method: ThresholdMethod;
  good: { n: number; mean: number; std: number; min: number; max: number };
  /**
   * Fixed colour scale of defect maps: values at or below `mapLow` are transparent, `mapHigh` is full
   * colour. Fixed per model, not per image, so a perfect part does not glow.
   */
  mapLow: number;
  mapHigh: number;
}

export interface CalibrationInput {
  goodScores: ArrayLike<number>;
  /** Optional labelled scores, required for f1-max. */
  labelled?: { scores: ArrayLike<number>; labels: ArrayLike<0 | 1> };
  /** Defect maps of some good images, for the colour scale. */
  goodMaps: Float32Array[];
}

export function calibrate(input: CalibrationInput, method: ThresholdMethod): Calibration {
  if (input.goodScores.length === 0) throw new Error('calibration needs at least one good image');
  const stats = scoreStats(input.goodScores);
  return {
    threshold: thresholdFor(input, method),
    method,
    good: { n: stats.n, mean: stats.mean, std: stats.std, min: stats.min, max: stats.max },
    ...mapScale(input.goodMaps),
  };
}

export function thresholdFor(input: Pick<CalibrationInput, 'goodScores' | 'labelled'>, method: ThresholdMethod): number {
  switch (method.kind) {
    case 'percentile':
      return percentileThreshold(input.goodScores, method.percentile);
    case 'false-alarm-rate':
      return thresholdForFalseAlarmRate(input.goodScores, method.rate);
    case 'manual':
      return method.threshold;
    case 'f1-max': {
      if (!input.labelled) throw new Error('the f1-max threshold needs a labelled set (good and defective images)');
      return f1MaxThreshold(input.labelled.scores, input.labelled.labels).threshold;
    }
  }
}

/** Low end: 99th percentile of good-image pixels; high end: twice the largest good-image value. */
export function mapScale(goodMaps: Float32Array[]): { mapLow: number; mapHigh: number } {
  if (goodMaps.length === 0) return { mapLow: 0, mapHigh: 1 };
  let max = 0;
  let n = 0;
  for (const m of goodMaps) n += m.length;
  // A strided sample keeps the percentile cheap on many large maps.
  const stride = Math.max(1, Math.floor(n / 200_000));
  const sample: number[] = [];
  for (const m of goodMaps) {
    for (let i = 0; i < m.length; i++) {
      if (m[i] > max) max = m[i];
      if (i % stride === 0) sample.push(m[i]);
    }
  }
  const low = percentileThreshold(sample, 99);
  const high = Math.max(2 * max, low * 1.01, 1e-12);
  return { mapLow: low, mapHigh: high };
}
