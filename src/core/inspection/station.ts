// Workstation policy: the k-of-n debounce that turns per-frame verdicts into the one a station shows,
// its pass/fail counts, and how many camera frames a quick teach needs for a false-alarm rate.
import { conformalThreshold, DEFAULT_FALSE_ALARM_RATE, type Calibration } from './calibration';
import { heldOutCount, MAX_HELD_OUT } from './holdout';
import type { Verdict } from './verdict';

export interface Debounce {
  /** DEFECT when at least k of the last n frames are defects. */
  k: number;
  n: number;
}

/**
 * 2 of 3: a single noisy frame (a hand passing, a flicker of light) neither raises nor clears a DEFECT,
 * while a real defect shows from its second frame, about 0.4 s at the engine's 5 verdicts a second.
 */
export const DEFAULT_DEBOUNCE: Debounce = { k: 2, n: 3 };

export function validDebounce(d: Debounce): boolean {
  return Number.isInteger(d.k) && Number.isInteger(d.n) && d.n >= 1 && d.n <= 50 && d.k >= 1 && d.k <= d.n;
}

export interface DebounceState {
  /** The last n per-frame verdicts, oldest first. */
  window: Verdict[];
  /** The verdict shown; null until the frames so far decide one. */
  stable: Verdict | null;
}

export const EMPTY_DEBOUNCE: DebounceState = { window: [], stable: null };

/**
 * Adds a frame's verdict. The shown verdict turns DEFECT once k of the last n frames are defects and
 * back to OK once n - k + 1 of them are good (so k defects can no longer be among them); between the
 * two it keeps what it was. With k = n = 1 it is the frame's own verdict.
 */
export function debounce(state: DebounceState, v: Verdict, d: Debounce = DEFAULT_DEBOUNCE): DebounceState {
  const window = [...state.window, v].slice(-d.n);
  const defects = window.filter((x) => x === 'defect').length;
  const oks = window.length - defects;
  const stable = defects >= d.k ? 'defect' : oks >= d.n - d.k + 1 ? 'ok' : state.stable;
  return { window, stable };
}

export interface StationCounts {
  pass: number;
  fail: number;
}

export const ZERO_COUNTS: StationCounts = { pass: 0, fail: 0 };

/** Counts a debounced verdict (one per scored frame once the debounce has decided). */
export function countVerdict(c: StationCounts, v: Verdict | null): StationCounts {
  if (v === null) return c;
  return v === 'defect' ? { ...c, fail: c.fail + 1 } : { ...c, pass: c.pass + 1 };
}

/** The share of counted frames that failed, or null before any. */
export function failRate(c: StationCounts): number | null {
  const n = c.pass + c.fail;
  return n > 0 ? c.fail / n : null;
}

/** The fewest held-out good images whose threshold can promise `rate` (calibration.ts: rate >= 1 / (n + 1)). */
export function heldOutNeeded(rate: number): number {
  return Math.max(1, Math.ceil(1 / rate - 1 - 1e-9));
}

/**
 * The fewest good frames a teach needs so that its held-out share (holdout.ts) can promise `rate`; null
 * when even the largest hold-out cannot.
 */
export function framesNeeded(rate: number = DEFAULT_FALSE_ALARM_RATE): number | null {
  const need = heldOutNeeded(rate);
  if (need > MAX_HELD_OUT) return null;
  for (let n = need; n < 100_000; n++) if (heldOutCount(n) >= need) return n;
  return null;
}

/** The lowest false-alarm rate `n` good frames can promise once their held-out share is set aside (1 when none is). */
export function rateSupportedBy(n: number): number {
  const h = heldOutCount(n);
  return h > 0 ? conformalThreshold(Array.from({ length: h }, (_, i) => i), 0.5).guarantee.minRate : 1;
}

/**
 * The false-alarm rate a calibration actually promises: the bound the held-out images support (which is
 * above the rate asked for when too few were held out), or null when it promises none (set from training
 * images, by hand, or by best F1).
 */
export function promisedRate(c: Calibration | null): number | null {
  if (!c || c.method.kind !== 'false-alarm-rate' || !c.guarantee) return null;
  return c.guarantee.supported ? c.guarantee.bound : c.guarantee.minRate;
}
