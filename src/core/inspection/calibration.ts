// The threshold rule: from good images the final flow never trained on, a false-alarm rate the user chose.
import { f1MaxThreshold, percentileThreshold, scoreStats } from '../metrics';
import { nextUp, splitBetween } from '../metrics/threshold';
import { sortedCopy } from '../metrics/stats';
import { formatRawScore } from './verdict';

export type ThresholdMethod =
  | { kind: 'false-alarm-rate'; rate: number }
  /** Models calibrated before held-out calibration: a percentile of the training images' scores. */
  | { kind: 'percentile'; percentile: number }
  | { kind: 'f1-max' }
  | { kind: 'manual'; threshold: number };

/**
 * 5 % false alarms: one good part in twenty goes to a person for a second look. Lower rates need many
 * held-out images to be estimated at all (1 % needs 99, i.e. about 500 good images at a 20 % hold-out),
 * and a threshold set by the top one or two scores moves a lot between trainings; at 5 % about twenty
 * held-out images suffice, which a typical teaching session of 100 good images gives.
 */
export const DEFAULT_FALSE_ALARM_RATE = 0.05;

/** Where the good scores that set the threshold came from. */
export type CalibrationSource = 'held-out' | 'training' | 'labelled';

/** What the threshold promises about good parts, when it comes from held-out or labelled good images. */
export interface Guarantee {
  /** The rate asked for. */
  requested: number;
  /**
   * The bound that holds: if future good parts are like the held-out ones (exchangeable with them), the
   * probability that one is flagged is at most this, on average over the choice of held-out images.
   */
  bound: number;
  /** The lowest rate these images can promise: 1 / (n + 1). */
  minRate: number;
  /** False when fewer images were held out than the requested rate needs; the bound is then minRate. */
  supported: boolean;
}

export interface Calibration {
  /** Raw DifferNet scores >= threshold are defects. */
  threshold: number;
  method: ThresholdMethod;
  source: CalibrationSource;
  /** The good scores the threshold came from, ascending: what a new rate is computed from. */
  goodScores: number[];
  good: { n: number; mean: number; std: number; min: number; max: number; median: number };
  guarantee: Guarantee | null;
  /**
   * Defect-map colour scale, fixed per model: `mapLow` (99th percentile of the held-out good images'
   * pixels) is transparent, `mapHigh` (their largest pixel) tops the good range; see heatScale.ts.
   */
  mapLow: number;
  mapHigh: number;
  /**
   * How many times this flow's threshold was re-set with parts a person marked good (absent: never). A
   * recalibration changes verdicts without a new flow, so it is part of the version's name: v1 → v1.1.
   */
  revision?: number;
}

/** A model version's name as shown everywhere: "v1", or "v1.2" after its threshold was recalibrated twice. */
export function versionLabel(version: number, revision?: number | null): string {
  return revision ? `v${version}.${revision}` : `v${version}`;
}

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

export interface ConformalThreshold {
  threshold: number;
  guarantee: Guarantee;
}

/**
 * Split-conformal threshold: with n held-out good scores s(1) <= ... <= s(n) and k = ceil((n + 1)(1 - rate)),
 * any threshold in (s(k), s(k+1)] flags a new good part with probability (n + 1 - k) / (n + 1) <= rate when
 * it is exchangeable with the held-out ones (ties only lower it). The midpoint keeps margin on both sides.
 * It needs rate >= 1 / (n + 1); below that the threshold sits just above the highest score, and the result
 * says the request is not supported and what bound holds instead.
 */
export function conformalThreshold(goodScores: ArrayLike<number>, rate: number): ConformalThreshold {
  if (!(rate > 0 && rate < 1)) throw new CalibrationError(`the false-alarm rate must be between 0 and 100 %, got ${rate * 100} %`);
  const s = sortedCopy(goodScores);
  const n = s.length;
  if (n === 0) throw new CalibrationError('calibration needs at least one good image the model did not train on');
  const minRate = 1 / (n + 1);
  // The 1e-9 absorbs decimal rates such as (n + 1) * 0.95 landing a hair above an integer.
  const k = Math.max(1, Math.ceil((n + 1) * (1 - rate) - 1e-9));
  if (k > n) return { threshold: nextUp(s[n - 1]), guarantee: { requested: rate, bound: minRate, minRate, supported: false } };
  const bound = (n + 1 - k) / (n + 1);
  const threshold = k < n ? splitBetween(s[k - 1], s[k]) : nextUp(s[n - 1]);
  return { threshold, guarantee: { requested: rate, bound, minRate, supported: true } };
}

export interface CalibrationInput {
  goodScores: ArrayLike<number>;
  source: CalibrationSource;
  /** Labelled scores, required for f1-max. */
  labelled?: { scores: ArrayLike<number>; labels: ArrayLike<0 | 1> };
  /** The colour scale; from held-out good maps (heatScale.ts). */
  mapScale: { mapLow: number; mapHigh: number };
}

export function calibrate(input: CalibrationInput, method: ThresholdMethod): Calibration {
  if (input.goodScores.length === 0) throw new CalibrationError('calibration needs at least one good image');
  const sorted = Array.from(sortedCopy(input.goodScores));
  const stats = scoreStats(sorted);
  const { threshold, guarantee } = thresholdOf(sorted, input.source, method, input.labelled);
  return {
    threshold,
    method,
    source: input.source,
    goodScores: sorted,
    good: { n: stats.n, mean: stats.mean, std: stats.std, min: stats.min, max: stats.max, median: stats.median },
    guarantee,
    ...input.mapScale,
  };
}

/** The same evidence under another method, e.g. a new false-alarm rate typed in Teach; no engine needed. */
export function recalibrate(cal: Calibration, method: ThresholdMethod, labelled?: CalibrationInput['labelled']): Calibration {
  if (cal.goodScores.length === 0 && method.kind !== 'manual') {
    throw new CalibrationError('this model keeps no calibration scores (it was calibrated by an older version): retrain it, or set the threshold in Evaluate');
  }
  const { threshold, guarantee } = thresholdOf(cal.goodScores, cal.source, method, labelled);
  return { ...cal, threshold, method, guarantee: method.kind === 'manual' || method.kind === 'f1-max' ? null : guarantee };
}

function thresholdOf(
  sorted: ArrayLike<number>,
  source: CalibrationSource,
  method: ThresholdMethod,
  labelled: CalibrationInput['labelled'],
): { threshold: number; guarantee: Guarantee | null } {
  switch (method.kind) {
    case 'false-alarm-rate': {
      const c = conformalThreshold(sorted, method.rate);
      // Training images score lower than new good parts: no promise can be made from them.
      return { threshold: c.threshold, guarantee: source === 'training' ? null : c.guarantee };
    }
    case 'percentile':
      return { threshold: percentileThreshold(sorted, method.percentile), guarantee: null };
    case 'manual':
      return { threshold: method.threshold, guarantee: null };
    case 'f1-max':
      if (!labelled) throw new CalibrationError('the best-F1 threshold needs a labelled set (good and defective images)');
      return { threshold: f1MaxThreshold(labelled.scores, labelled.labels).threshold, guarantee: null };
  }
}

/**
 * Calibrations written before held-out calibration (model file version 1) lack the evidence fields: they
 * came from the training images, and their map scale's top was twice the good maximum.
 */
export function normaliseCalibration(c: Calibration | (Omit<Calibration, 'source' | 'goodScores' | 'guarantee' | 'good'> & { good: Omit<Calibration['good'], 'median'> & { median?: number }; source?: CalibrationSource; goodScores?: number[]; guarantee?: Guarantee | null }) | null): Calibration | null {
  if (!c) return null;
  return {
    ...c,
    source: c.source ?? 'training',
    goodScores: c.goodScores ?? [],
    guarantee: c.guarantee ?? null,
    // A record damaged or cut short keeps what it has; the statistics then read as unknown.
    good: c.good ? { ...c.good, median: c.good.median ?? c.good.mean } : { n: 0, mean: NaN, std: NaN, min: NaN, max: NaN, median: NaN },
  };
}

/** A sentence a person can read about what the threshold promises. */
export function describeCalibration(c: Calibration): string {
  const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 2 : 1)} %`;
  const n = c.good.n;
  switch (c.method.kind) {
    case 'false-alarm-rate': {
      if (c.source === 'training') return `${pct(c.method.rate)} of the training images flagged (training images score lower than new parts: expect more false alarms)`;
      const g = c.guarantee!;
      if (!g.supported) {
        return `asked for ${pct(g.requested)} false alarms, but ${n} held-out good image${n === 1 ? '' : 's'} can only promise ${pct(g.minRate)} or more: the threshold sits above all of them; add good images for a lower rate`;
      }
      return `at most ${pct(g.bound)} false alarms on good parts like the ${n} held-out image${n === 1 ? '' : 's'} (asked: ${pct(g.requested)})`;
    }
    case 'percentile':
      return `${c.method.percentile}th percentile of the training images' scores (older calibration: expect more false alarms on new parts)`;
    case 'f1-max':
      return 'best F1 on a labelled set';
    case 'manual':
      return 'set by hand';
  }
}

/**
 * Says so when one image sets the threshold: too few held-out images for the rate (or k = n) put it
 * just above the single highest good score, and one unusual good part among them moves it by orders of
 * magnitude (one run: 104.6 against a median of 1.725). Null when the threshold lies between two scores.
 */
export function singleImageThresholdNote(c: Calibration): string | null {
  if (c.method.kind !== 'false-alarm-rate' || c.source === 'training' || c.goodScores.length === 0) return null;
  const max = c.goodScores[c.goodScores.length - 1];
  if (c.threshold < max) return null;
  const ratio = c.good.median > 0 ? max / c.good.median : Infinity;
  const far = Number.isFinite(ratio) && ratio >= 3 ? `, ${ratio >= 100 ? ratio.toExponential(1).replace('e+', 'e') : Math.round(ratio)} times their median of ${formatRawScore(c.good.median)}` : '';
  return (
    `A single image sets this threshold: it sits just above the highest held-out score (raw ${formatRawScore(max)}${far}). ` +
    'If that one good image was unusual, the threshold is far too lenient; more good images let the threshold rest on several.'
  );
}
