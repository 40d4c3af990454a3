// The verdict rule and the one score people see.
import type { Calibration } from './calibration';

export type Verdict = 'defect' | 'ok';

/** The rule everywhere: a raw DifferNet score at or above the model's threshold is a defect. */
export function verdictOf(raw: number, threshold: number): Verdict {
  return raw >= threshold ? 'defect' : 'ok';
}

/** Where the displayed score puts the threshold. */
export const DISPLAY_THRESHOLD = 0.5;
/** Where the displayed score puts the median good held-out image. */
const DISPLAY_GOOD_MEDIAN = 0.25;

/**
 * The displayed score: logistic in log(raw / threshold), so it is bounded in [0, 1], monotone in the raw
 * score, exactly 0.5 at the threshold (verdict DEFECT at 0.5 and above, as in anomalib), and the median
 * held-out good image sits at 0.25. Raw scores run over twelve orders of magnitude (1 to 1e12 on MTD);
 * this keeps them readable without hiding order. Fixed per model calibration, so equal raw scores always
 * show the same number for the same model.
 */
export function displayScore(raw: number, scale: DisplayScale): number {
  if (Number.isNaN(raw)) return NaN;
  if (raw <= 0) return 0;
  if (raw === Infinity) return 1;
  const x = scale.steepness * (Math.log(raw) - Math.log(scale.threshold));
  // exp(-x) overflows to Infinity for very negative x, which still gives 0: no NaN on either end.
  const d = 1 / (1 + Math.exp(-x));
  // A raw score a hair under the threshold (the threshold is often the next float above the highest
  // held-out score) has the same logarithm, so it would land on 0.5 exactly: the scale must agree with the verdict.
  return raw < scale.threshold ? Math.min(d, BELOW_DISPLAY_THRESHOLD) : d;
}

/** The largest double below 0.5 (spacing 2^-54 in [0.25, 0.5)). */
const BELOW_DISPLAY_THRESHOLD = DISPLAY_THRESHOLD - 2 ** -54;

export interface DisplayScale {
  threshold: number;
  steepness: number;
}

export function displayScale(cal: Pick<Calibration, 'threshold' | 'good'>): DisplayScale {
  const ratio = Math.log(cal.threshold) - Math.log(cal.good.median);
  const want = Math.log(DISPLAY_THRESHOLD / (1 - DISPLAY_THRESHOLD)) - Math.log(DISPLAY_GOOD_MEDIAN / (1 - DISPLAY_GOOD_MEDIAN));
  // A threshold at or below the good median (a labelled set's choice) has no good spread to scale by.
  const steepness = Number.isFinite(ratio) && ratio > 1e-6 ? Math.min(50, Math.max(0.5, want / ratio)) : 4;
  return { threshold: cal.threshold, steepness };
}

/** What a scored image shows and exports: both scores, the verdict and the model that gave them. */
export interface Judgement {
  raw: number;
  display: number;
  verdict: Verdict;
  threshold: number;
}

export function judge(raw: number, cal: Pick<Calibration, 'threshold' | 'good'>): Judgement {
  return { raw, display: displayScore(raw, displayScale(cal)), verdict: verdictOf(raw, cal.threshold), threshold: cal.threshold };
}

/**
 * Three decimals: enough to order images, never float noise or twelve digits. The one formatter of the
 * 0-1 score in every view, so the shown number never contradicts the verdict: a score below the threshold
 * never reads 0.500 (it rounds down to 0.499 there), one at or above it never reads below 0.500.
 * Pass the verdict when it is known: it wins over the number, should the two ever disagree.
 */
export function formatDisplayScore(d: number, verdict?: Verdict): string {
  if (!Number.isFinite(d)) return '—';
  const defect = verdict ? verdict === 'defect' : d >= DISPLAY_THRESHOLD;
  if (!defect && d >= DISPLAY_THRESHOLD - 0.0005) return '0.499';
  if (defect && d < DISPLAY_THRESHOLD) return '0.500';
  // Keep "1.000" for a score that is not exactly 1.
  if (d >= 0.9995 && d < 1) return '>0.999';
  return d.toFixed(3);
}

/** A raw score in at most four significant digits, with an exponent past 1e5. */
export function formatRawScore(raw: number): string {
  if (!Number.isFinite(raw)) return '—';
  const a = Math.abs(raw);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return raw.toExponential(2);
  return Number(raw.toPrecision(4)).toString();
}
