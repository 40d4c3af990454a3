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
  return 1 / (1 + Math.exp(-x));
}

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

/** Three decimals: enough to order images, never float noise or twelve digits. */
export function formatDisplayScore(d: number): string {
  if (!Number.isFinite(d)) return '—';
  // Keep "1.000" for a score that is not exactly 1, and never round an OK image up to the threshold.
  if (d >= 0.9995 && d < 1) return '>0.999';
  if (d < DISPLAY_THRESHOLD && d >= 0.4995) return '0.499';
  return d.toFixed(3);
}

/** A raw score in at most four significant digits, with an exponent past 1e5. */
export function formatRawScore(raw: number): string {
  if (!Number.isFinite(raw)) return '—';
  const a = Math.abs(raw);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return raw.toExponential(2);
  return Number(raw.toPrecision(4)).toString();
}
