// Has the false-alarm rate drifted? Recent parts judged good, against what the held-out calibration promised.
import type { Calibration } from './calibration';

/**
 * P(X >= k) for X ~ Binomial(n, p): the one-sided p-value of seeing k or more events when each has
 * probability p. Summed in log space, so n in the thousands neither overflows nor underflows to nonsense.
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (!(n >= 0) || !Number.isInteger(n) || !Number.isInteger(k)) throw new Error(`binomialUpperTail needs whole counts, got k = ${k}, n = ${n}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  // log C(n, i) by the recurrence C(n, i) = C(n, i - 1) (n - i + 1) / i, from i = 0.
  let logC = 0;
  let sum = 0;
  for (let i = 1; i <= n; i++) {
    logC += Math.log(n - i + 1) - Math.log(i);
    if (i >= k) sum += Math.exp(logC + i * lp + (n - i) * lq);
  }
  return Math.min(1, sum);
}

/** One recent verdict: the raw score, the model's verdict, and a person's correction if any. */
export interface RecentVerdict {
  rawScore: number;
  flagged: boolean;
  /** What a person said the part is, when they corrected the verdict. */
  person?: 'OK' | 'DEFECT';
}

/** Below this many good parts the tests cannot tell drift from chance at any useful rate. */
export const DRIFT_MIN_PARTS = 20;
/** The significance level of each test. */
export const DRIFT_ALPHA = 0.01;

export interface DriftTest {
  /** Events seen, out of n parts. */
  k: number;
  n: number;
  /** The rate the calibration allows for the event. */
  p0: number;
  /** One-sided binomial p-value of k or more events. */
  pValue: number;
}

export interface DriftReport {
  status: 'too-few' | 'ok' | 'watch' | 'drift';
  /** One line before the explanation: "No drift seen", "Watch: …", "Probable drift". */
  headline: string;
  /** Good parts among the recent verdicts (see `driftCheck`). */
  goodParts: number;
  /**
   * The named test: false alarms (good parts at or above the threshold) against the bound the held-out
   * calibration promised, one-sided binomial test. Null without a false-alarm-rate guarantee.
   */
  falseAlarms: DriftTest | null;
  /**
   * Early warning: how many good parts the model passed score above the middle of the held-out scores
   * below the threshold; about half should. Many more means scores are creeping up before the false alarms do.
   */
  creep: DriftTest | null;
  /**
   * All recent parts flagged, reviewed or not, against the promised false-alarm rate. Needs no review, so it
   * speaks when everything is flagged and nobody has marked a part good; it cannot tell a bad lot from drift.
   * Null without a false-alarm-rate guarantee or with too few recent parts.
   */
  flagged: DriftTest | null;
  message: string;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
const pv = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

/**
 * Compares recent parts judged good with the held-out calibration. A part counts as good when the
 * model passed it and nobody corrected that to a defect, or when the model flagged it and a person
 * marked it good (a confirmed false alarm); flagged parts nobody reviewed are left out, since they may be
 * defects. So false alarms count only when corrected: the check can miss drift nobody reviews, never invent it.
 *
 * Test 1 (drift): k confirmed false alarms among n good parts, against the bound B the calibration
 * promised (at most B of good parts flagged): P(Binomial(n, B) >= k) < 1 % says the rate has probably drifted.
 *
 * Test 2 (watch): among the c held-out scores below the threshold take the middle one, s(j), j = ceil(c / 2).
 * A new good part exchangeable with the held-out ones has a uniformly random rank among them, so given that
 * it scores below the threshold it lies above s(j) with probability (c + 1 - j) / (c + 1), about one half
 * (averaged over the held-out draw). Far more passed parts above it than that: scores are rising.
 *
 * Test 3 (watch): k flagged among all n recent parts, reviewed or not, against the same bound B. Good parts
 * are flagged at most at rate B, so far more flagged parts than that means defects or drift, and nobody has
 * to mark anything first: with every part flagged and none reviewed, tests 1 and 2 have no good parts to use.
 */
export function driftCheck(cal: Pick<Calibration, 'threshold' | 'goodScores' | 'guarantee'>, recent: readonly RecentVerdict[]): DriftReport {
  const good = recent.filter((r) => (r.flagged ? r.person === 'OK' : r.person !== 'DEFECT'));
  const n = good.length;

  let flagged: DriftTest | null = null;
  if (cal.guarantee && recent.length >= DRIFT_MIN_PARTS) {
    const k = recent.filter((r) => r.flagged).length;
    const p0 = cal.guarantee.bound;
    flagged = { k, n: recent.length, p0, pValue: binomialUpperTail(k, recent.length, p0) };
  }
  const manyFlagged = !!flagged && flagged.pValue < DRIFT_ALPHA;
  const flaggedMessage = () => {
    const f = flagged!;
    return (
      `${f.k} of the last ${f.n} parts were flagged (${pct(f.k / f.n)}), where the calibration expects at most ${pct(f.p0)} of good parts flagged ` +
      `(one-sided binomial test, ${pv(f.pValue)}). Either this lot has many defects, or the parts, light or camera have changed since teaching (drift). ` +
      'Check a few flagged parts: if they are good, recalibrate with recent good parts.'
    );
  };

  if (n < DRIFT_MIN_PARTS) {
    const wait = `Drift check: ${n} recent good part${n === 1 ? '' : 's'} so far; it needs ${DRIFT_MIN_PARTS} to compare with the calibration.`;
    if (manyFlagged) {
      return { status: 'watch', headline: 'Watch: far more parts flagged than expected', goodParts: n, falseAlarms: null, creep: null, flagged, message: `${flaggedMessage()} ${wait}` };
    }
    return { status: 'too-few', headline: 'Not enough good parts yet', goodParts: n, falseAlarms: null, creep: null, flagged, message: wait };
  }

  let falseAlarms: DriftTest | null = null;
  if (cal.guarantee) {
    const k = good.filter((r) => r.flagged).length;
    const p0 = cal.guarantee.bound;
    falseAlarms = { k, n, p0, pValue: binomialUpperTail(k, n, p0) };
  }

  let creep: DriftTest | null = null;
  const below = cal.goodScores.filter((s) => s < cal.threshold);
  const c = below.length;
  const passed = good.filter((r) => !r.flagged);
  if (c >= 2 && passed.length >= DRIFT_MIN_PARTS) {
    const j = Math.ceil(c / 2);
    const middle = below[j - 1];
    const k = passed.filter((r) => r.rawScore > middle).length;
    const p0 = (c + 1 - j) / (c + 1);
    creep = { k, n: passed.length, p0, pValue: binomialUpperTail(k, passed.length, p0) };
  }

  const drift = !!falseAlarms && falseAlarms.pValue < DRIFT_ALPHA;
  const rising = !drift && !!creep && creep.pValue < DRIFT_ALPHA;
  let message: string;
  let headline: string;
  if (drift) {
    const f = falseAlarms!;
    headline = 'Probable drift';
    message =
      `The false-alarm rate has probably drifted: ${f.k} of the last ${f.n} good parts were flagged (${pct(f.k / f.n)}), where the calibration promised at most ${pct(f.p0)} ` +
      `(one-sided binomial test, ${pv(f.pValue)}). Recalibrate: teach again with recent good parts.`;
  } else if (manyFlagged) {
    headline = 'Watch: far more parts flagged than expected';
    message = flaggedMessage();
  } else if (rising) {
    const w = creep!;
    headline = 'Watch: scores of good parts rising';
    message =
      `Scores of good parts are rising: ${w.k} of the last ${w.n} passed parts scored above the middle of the held-out good scores, where about ${pct(w.p0)} would (one-sided binomial test, ${pv(w.pValue)}). ` +
      'False alarms may follow; consider recalibrating with recent good parts.';
  } else {
    const f = falseAlarms;
    headline = 'No drift seen';
    message = `No drift seen in the last ${n} good parts${f ? `: ${f.k} confirmed false alarm${f.k === 1 ? '' : 's'} (${pct(f.k / f.n)}; at most ${pct(f.p0)} promised, ${pv(f.pValue)})` : ''}.`;
  }
  return { status: drift ? 'drift' : manyFlagged || rising ? 'watch' : 'ok', headline, goodParts: n, falseAlarms, creep, flagged, message };
}
