// Learning from a person's corrections: the threshold again with good images a person confirmed, which
// good images two versions of a model never trained on (a fair good side to compare them), and the two
// versions' numbers on one labelled set. TF-free: the app computes these without the engine.
import { calibrate, CalibrationError, DEFAULT_FALSE_ALARM_RATE, type Calibration } from './calibration';
import { evaluationReport, type EvaluationReport } from './evaluation';

/**
 * The threshold from the calibration's held-out good scores plus `addedScores` (good images a person
 * confirmed, scored by the same flow), by the same rule as training's held-out calibration: the
 * split-conformal threshold at the model's false-alarm rate (the default when its threshold was set
 * another way, since best-F1 or hand-set cuts do not describe good parts). The colour scale stays.
 *
 * The held-out scores are the current flow's scores of the held-out images (the flow has not changed
 * since they were computed, and scoring is deterministic), so they are reused, not recomputed.
 */
export function recalibrateWithGood(cal: Calibration, addedScores: readonly number[]): Calibration {
  if (addedScores.length === 0) throw new CalibrationError('no new good images to recalibrate with');
  const bad = addedScores.find((s) => !(Number.isFinite(s) && s > 0));
  if (bad !== undefined) throw new CalibrationError(`a new good image has no usable score (${bad})`);
  if (cal.source === 'training') {
    throw new CalibrationError('this threshold came from the training images (too few good images were held out): their scores cannot be mixed with new ones; retrain instead');
  }
  if (cal.goodScores.length === 0) {
    throw new CalibrationError('this model keeps no held-out scores (it was calibrated by an older version): retrain it to recalibrate');
  }
  const rate = cal.method.kind === 'false-alarm-rate' ? cal.method.rate : DEFAULT_FALSE_ALARM_RATE;
  const next = calibrate(
    { goodScores: [...cal.goodScores, ...addedScores], source: cal.source, mapScale: { mapLow: cal.mapLow, mapHigh: cal.mapHigh } },
    { kind: 'false-alarm-rate', rate },
  );
  return { ...next, revision: (cal.revision ?? 0) + 1 };
}

/** What a version of a model was trained on, as far as it is known. */
export interface VersionTraining {
  /** Image ids the flow trained on, or null for a version saved before these were recorded. */
  trainedOn: readonly string[] | null;
  /** When it was trained (ms since 1970): with `trainedOn` unknown, every image added before then counts as trained on. */
  trainedAt: number;
}

export interface GoodImageRef {
  id: string;
  /** When it was added to the model's good images (ms since 1970). */
  addedAt: number;
}

/** Whether the version's flow may have seen this image in training (unknown counts as yes). */
export function mayHaveTrainedOn(v: VersionTraining, img: GoodImageRef): boolean {
  return v.trainedOn ? v.trainedOn.includes(img.id) : img.addedAt <= v.trainedAt;
}

/**
 * The good images none of `versions` trained on: a flow scores its own training images lower than new
 * parts, so only these compare versions fairly (held out by all of them, or added after them).
 */
export function untrainedGood<T extends GoodImageRef>(images: readonly T[], versions: readonly VersionTraining[]): T[] {
  return images.filter((img) => versions.every((v) => !mayHaveTrainedOn(v, img)));
}

/** The number a new version gets: past every version ever saved, so a roll-back never reuses one. */
export function nextVersion(current: number, saved: readonly number[]): number {
  return Math.max(current, 0, ...saved) + 1;
}

export interface VersionScores {
  version: number;
  /** Raw score of each labelled item, in the set's order (NaN: could not be scored). */
  scores: readonly number[];
  /** The version's own raw threshold, or null when it has none. */
  threshold: number | null;
}

export interface VersionResult {
  version: number;
  threshold: number | null;
  report: EvaluationReport;
}

/** Each version's AUROC, ROC and confusion at its own threshold, on the same labelled items. */
export function compareVersions(labels: readonly (0 | 1)[], versions: readonly VersionScores[]): VersionResult[] {
  return versions.map((v) => {
    if (v.scores.length !== labels.length) throw new Error(`version ${v.version} scored ${v.scores.length} of ${labels.length} images`);
    const items = labels.map((label, i) => ({ score: v.scores[i], label, defect: label ? 'defect' : 'good' }));
    return { version: v.version, threshold: v.threshold, report: evaluationReport(items, v.threshold, 60) };
  });
}
