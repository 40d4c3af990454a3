// Evaluating a model on a labelled set, the part the app's worker and the CLI share: which images need a
// defect map, MVTec's rule for which images count in the pixel AUROC, and the run itself for callers that go
// image by image. TF-free: the model comes in as an interface, so this module stays importable by the UI.
import { pixelAuroc } from '../metrics';
import { CancelledError } from '../progress';
import { calibrate, type Calibration, type ThresholdMethod } from './calibration';
import { CALIBRATION_MAPS, mapScaleFromGood } from './heatScale';

/**
 * MVTec AD's convention for pixel AUROC: an image with a ground-truth mask counts with it, a good image
 * without one counts with an all-clear mask, and a defective image without one is left out (where its
 * defect lies is unknown).
 */
export function pixelTruth(item: { label: 0 | 1; hasMask: boolean }): 'mask' | 'all-clear' | null {
  if (item.hasMask) return 'mask';
  return item.label === 0 ? 'all-clear' : null;
}

/** Pixel AUROC over maps and masks of equal sizes, or null when no mask marks a defect pixel (nothing to rank). */
export function pixelAurocOrNull(maps: Float32Array[], masks: Uint8Array[]): number | null {
  return masks.some((m) => m.includes(1)) ? pixelAuroc(maps, masks) : null;
}

/** The model as an evaluation uses it: the score that thresholds and verdicts use, and a defect map. */
export interface EvaluatedModel<I> {
  score(img: I): Promise<number>;
  defectMap(img: I): Promise<{ map: Float32Array; width: number; height: number }>;
}

export interface SetItem<I> {
  label: 0 | 1;
  hasMask: boolean;
  image(): Promise<I>;
  /** The ground-truth mask on a width x height grid (1 = defect); called only when hasMask. */
  mask(width: number, height: number): Promise<Uint8Array>;
}

export interface SetOptions {
  /** Pixel AUROC where masks exist. */
  pixels: boolean;
  /** Set a threshold from this set's scores, with a colour scale from the first good images' maps. */
  calibrate?: ThresholdMethod;
  /** The grid a map is compared on (the app: the UI's map size); default the map's own. */
  grid?: (map: Float32Array, width: number, height: number) => { map: Float32Array; width: number; height: number };
  /** The one-line message of an error that fails only its item (an unreadable file), or null to fail the run. */
  itemError: (e: unknown) => string | null;
  signal?: AbortSignal;
  progress?: (done: number, total: number, score: number) => void;
}

export interface SetResult {
  /** Per item, NaN where it failed. */
  scores: number[];
  errors: (string | null)[];
  pixelAuroc: number | null;
  calibration: Calibration | null;
}

/**
 * Scores every item as `score` does (so the verdicts match the model's threshold, and CLI `eval`), and draws
 * a defect map only where one is used: images that count in the pixel AUROC, and the first
 * CALIBRATION_MAPS good ones when calibrating. Items go one at a time, in order.
 */
export async function evaluateLabelledSet<I>(model: EvaluatedModel<I>, items: SetItem<I>[], opts: SetOptions): Promise<SetResult> {
  const pixels = opts.pixels && items.some((it) => it.hasMask);
  const grid = opts.grid ?? ((map, width, height) => ({ map, width, height }));
  const scores: number[] = [];
  const errors: (string | null)[] = [];
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  const goodMaps: Float32Array[] = [];
  for (const [i, it] of items.entries()) {
    if (opts.signal?.aborted) throw new CancelledError('evaluation');
    try {
      const img = await it.image();
      const truth = pixels ? pixelTruth(it) : null;
      const forScale = !!opts.calibrate && it.label === 0 && goodMaps.length < CALIBRATION_MAPS;
      const score = await model.score(img);
      if (truth || forScale) {
        const dm = await model.defectMap(img);
        if (truth) {
          const g = grid(dm.map, dm.width, dm.height);
          const mask = truth === 'mask' ? await it.mask(g.width, g.height) : new Uint8Array(g.map.length);
          maps.push(g.map);
          masks.push(mask);
        }
        if (forScale) goodMaps.push(dm.map);
      }
      scores.push(score);
      errors.push(null);
    } catch (e) {
      const message = opts.itemError(e);
      if (message === null) throw e;
      scores.push(NaN);
      errors.push(message);
    }
    opts.progress?.(i + 1, items.length, scores[i]);
  }
  let calibration: Calibration | null = null;
  if (opts.calibrate) {
    const ok = items.map((_, i) => Number.isFinite(scores[i]));
    const goodScores = scores.filter((s, i) => ok[i] && items[i].label === 0);
    const labelled = { scores: scores.filter((_, i) => ok[i]), labels: items.filter((_, i) => ok[i]).map((it) => it.label) };
    if (goodScores.length > 0) calibration = calibrate({ goodScores, source: 'labelled', labelled, mapScale: mapScaleFromGood(goodMaps) }, opts.calibrate);
  }
  return { scores, errors, pixelAuroc: pixelAurocOrNull(maps, masks), calibration };
}
