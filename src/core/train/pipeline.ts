// Training as the app and the CLI both run it: hold out good images, train the flow on the rest, and set
// the threshold from the held-out ones, scored exactly as inspection scores an image.
import type { Backbone } from '../backbones/types';
import type { FeatureEngine } from '../execution/featureEngine';
import type { CopySpec } from '../features/copies';
import { calibrate, DEFAULT_FALSE_ALARM_RATE, type Calibration } from '../inspection/calibration';
import { CALIBRATION_MAPS, mapScaleFromGood } from '../inspection/heatScale';
import { holdoutSplit } from '../inspection/holdout';
import { ProgressClock, throwIfAborted, type Progress } from '../progress';
import { scoreFeatureRows } from '../score/score';
import { bankCopySpecs, type FeatureBank, type ImageSource } from './featureBank';
import { DifferNet, type TrainCallbacks } from '../model/differnet';
import { bankCopies, type ModelSettings } from '../model/settings';
import { framingFromSizes } from '../inspection/framing';

export { CALIBRATION_MAPS };

/** The CNN half of the work, which each caller runs its own way (the CLI across worker threads). */
export interface FeatureWork {
  /**
   * Feature rows of the good images `indices` (positions in the caller's list), image after image, image
   * `indices[j]` under `specsFor(j)`; `onImage` after each image.
   */
  rows(indices: number[], specsFor: (j: number) => CopySpec[], onImage: () => void, signal?: AbortSignal): Promise<Float32Array>;
  /** Defect maps of these good images under the trained model. */
  maps(model: DifferNet, indices: number[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Rows run on other threads than maps (the CLI's workers), so calibration runs both at once. */
  rowsOffThread?: boolean;
}

/** The in-process FeatureWork: one image at a time on `engine` (the app's worker). */
export function localFeatureWork(engine: FeatureEngine, backbone: Backbone, settings: ModelSettings, source: ImageSource): FeatureWork {
  return {
    async rows(indices, specsFor, onImage, signal) {
      const parts: Float32Array[] = [];
      // The next image loads while this one's features are computed (the browser decodes off this thread).
      const load = (j: number) => {
        const p = Promise.resolve(source.load(indices[j]));
        p.catch(() => undefined); // awaited below; a failure is reported there, not as unhandled
        return p;
      };
      let next = indices.length > 0 ? load(0) : null;
      for (let j = 0; j < indices.length; j++) {
        throwIfAborted(signal, 'training');
        const img = await next!;
        next = j + 1 < indices.length ? load(j + 1) : null;
        parts.push(await engine.copyRows(backbone, settings.features, img, specsFor(j)));
        onImage();
      }
      return concatRows(parts);
    },
    async maps(model, indices, signal) {
      const out: Float32Array[] = [];
      for (const i of indices) {
        throwIfAborted(signal, 'calibration');
        out.push((await model.defectMap(await source.load(i))).map);
      }
      return out;
    },
  };
}

export interface PipelineOptions extends TrainCallbacks {
  /** False alarms accepted on good parts; DEFAULT_FALSE_ALARM_RATE when absent. */
  falseAlarmRate?: number;
}

/** Trains in this thread on images loaded from `source` (the app's worker, tests). */
export async function trainModel(backbone: Backbone, source: ImageSource, settings: ModelSettings, opts: PipelineOptions): Promise<DifferNet> {
  // The framing is what the images were, as decoded: every image passes through load, training and held out alike.
  const sizes = new Map<number, { width: number; height: number }>();
  const seen: ImageSource = {
    ...source,
    load: async (i) => {
      const img = await source.load(i);
      sizes.set(i, { width: img.width, height: img.height });
      return img;
    },
  };
  const model = await trainInspectionModel(backbone, source.count, settings, localFeatureWork(opts.plan.features, backbone, settings, seen), opts);
  const { aspect: _a, aspectRange: _r, ...given } = settings.framing ?? {};
  // The same flow under settings that now say how its images were framed (the old wrapper is dropped, not disposed).
  return new DifferNet(model.engine, model.backbone, model.flow, { ...model.settings, framing: framingFromSizes([...sizes.values()], given) }, model.calibration, model.training);
}

/** Held-out split, feature bank, flow, held-out calibration: a calibrated model, or an error and nothing. */
export async function trainInspectionModel(backbone: Backbone, count: number, settings: ModelSettings, work: FeatureWork, opts: PipelineOptions): Promise<DifferNet> {
  if (count === 0) throw new Error('no good images to train on');
  const started = now();
  const t = settings.train;
  const split = holdoutSplit(count, t.seed);
  const copies = bankCopies(settings);
  const specs = bankCopySpecs(split.train.length, copies, t.seed, t);
  const featureClock = new ProgressClock(split.train.length);
  let extracted = 0;
  const data = await work.rows(split.train, (j) => specs[j], () => opts.onProgress?.({ phase: 'features', progress: featureClock.at(++extracted) }), opts.signal);
  const bank: FeatureBank = { dim: data.length / split.train.length / copies, count: split.train.length, copies, data };
  const featureSeconds = (now() - started) / 1000;
  const model = await DifferNet.trainOnBank(backbone, bank, settings, opts, featureSeconds);
  try {
    const c0 = now();
    model.calibration = await heldOutCalibration(model, bank, split.heldOut, work, opts);
    const training = model.training!;
    Object.assign(training, { heldOut: split.heldOut.length, calibrationSeconds: (now() - c0) / 1000, totalSeconds: (now() - started) / 1000 });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

async function heldOutCalibration(model: DifferNet, bank: FeatureBank, heldOut: number[], work: FeatureWork, opts: PipelineOptions): Promise<Calibration> {
  const rate = opts.falseAlarmRate ?? DEFAULT_FALSE_ALARM_RATE;
  const angles = model.scoreAngles();
  const specs = angles.map((angle) => ({ angle }));
  const total = heldOut.length + Math.min(CALIBRATION_MAPS, heldOut.length || bank.count);
  const clock = new ProgressClock(total);
  let done = 0;
  const tick = () => opts.onProgress?.({ phase: 'calibrate', progress: clock.at(++done) as Progress });
  if (heldOut.length === 0) {
    // Too few images to spare any: the threshold comes from the training rows, and says so.
    const goodScores = await scoreFeatureRows(model.flow, bank.data, bank.dim, bank.copies);
    const mapIdx = Array.from({ length: Math.min(CALIBRATION_MAPS, bank.count) }, (_, i) => i);
    const maps = await work.maps(model, mapIdx, opts.signal);
    maps.forEach(tick);
    return calibrate({ goodScores, source: 'training', mapScale: mapScaleFromGood(maps) }, { kind: 'false-alarm-rate', rate });
  }
  const mapIdx = heldOut.slice(0, CALIBRATION_MAPS);
  let rows: Float32Array;
  let maps: Float32Array[];
  if (work.rowsOffThread) [rows, maps] = await bothOrNeither(opts.signal, (s) => work.rows(heldOut, () => specs, tick, s), (s) => work.maps(model, mapIdx, s));
  else {
    rows = await work.rows(heldOut, () => specs, tick, opts.signal);
    maps = await work.maps(model, mapIdx, opts.signal);
  }
  maps.forEach(tick);
  const goodScores = await scoreFeatureRows(model.flow, rows, bank.dim, specs.length);
  return calibrate({ goodScores, source: 'held-out', mapScale: mapScaleFromGood(maps) }, { kind: 'false-alarm-rate', rate });
}

/**
 * Runs a and b at once. When one fails the other is aborted and awaited before the error is thrown, so
 * nothing still runs on the model that the caller then disposes.
 */
async function bothOrNeither<A, B>(signal: AbortSignal | undefined, a: (s: AbortSignal) => Promise<A>, b: (s: AbortSignal) => Promise<B>): Promise<[A, B]> {
  const ctl = new AbortController();
  const relay = () => ctl.abort(signal?.reason);
  if (signal?.aborted) relay();
  signal?.addEventListener('abort', relay);
  let first: { error: unknown } | null = null;
  const stopOnError = <T>(p: Promise<T>) => p.catch((e: unknown) => {
    first ??= { error: e };
    ctl.abort(e);
    throw e;
  });
  try {
    const [ra, rb] = await Promise.allSettled([stopOnError(a(ctl.signal)), stopOnError(b(ctl.signal))]);
    // The failure that stopped the other, not the other's "aborted".
    if (first) throw (first as { error: unknown }).error;
    if (ra.status === 'rejected' || rb.status === 'rejected') throw new Error('unreachable: a rejection without an error');
    return [ra.value, rb.value];
  } finally {
    signal?.removeEventListener('abort', relay);
  }
}

export function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
