// The typed contract between the UI thread and the engine worker. Type-only imports from the engine, so
// the UI bundle never pulls in TensorFlow.js.
import type { BackboneId, BackendName, Calibration, FlowConfig, ModelSettings, ThresholdMethod, TrainingRecord } from '../core';

export type BackendChoice = 'auto' | BackendName;

/** What a startup measurement found for one backend. */
export interface BackendMeasurement {
  backend: BackendName;
  /** Milliseconds for the probe workload, or null when the backend could not run it. */
  ms: number | null;
  note: string;
}

export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU emulation (SwiftShader or a fallback adapter): far slower than WASM for this workload. */
  software: boolean;
}

export interface BackendInfo {
  name: BackendName;
  /** Human label of what runs the maths, e.g. "WASM SIMD, 2 threads" or the GPU adapter's name. */
  adapter: string;
  /** Why this backend was chosen, for the header's tooltip. */
  reason: string;
  choice: BackendChoice;
  measurements: BackendMeasurement[];
  webgpu: GpuAdapterInfo | null;
  crossOriginIsolated: boolean;
}

/** Any image the worker can decode: a file (or other Blob) or a video frame grabbed as a bitmap. */
export type ImageInput = Blob | ImageBitmap;

/** A rectangle in source pixels, or fractions of the source when `relative` is set. */
export interface Roi {
  x: number;
  y: number;
  width: number;
  height: number;
  relative?: boolean;
}

export interface WeightsInfo {
  id: BackboneId;
  hash: string;
  tensors: number;
  params: number;
  /** Where the weights came from (file name or URL), for display. */
  source: string;
}

/** What the UI needs to know about a model held by the worker. */
export interface ModelSummary {
  backbone: BackboneId;
  weightsHash: string;
  flow: FlowConfig;
  settings: ModelSettings;
  calibration: Calibration | null;
  training: TrainingRecord | null;
  /** Bytes of the model file without the backbone: what the app stores. */
  fileBytes: number;
}

/**
 * An official DifferNet checkpoint's flow, found beside the backbone in a weights file: the worker holds it
 * (the last one only) until `importCheckpoint` turns it into a model.
 */
export interface CheckpointFlow {
  id: string;
  /** Flow tensors found. */
  tensors: number;
}

/** A checkpoint's flow as a model file (no calibration yet). */
export interface ImportedFlow {
  bytes: ArrayBuffer;
  summary: ModelSummary;
}

export interface AnalyzeResult {
  score: number;
  /** Defect map, downsampled to at most MAP_SIDE on its long side; absent when not asked for. */
  map?: Float32Array;
  mapWidth: number;
  mapHeight: number;
  /** Size of the image as analysed (after EXIF orientation, ROI and downscaling). */
  width: number;
  height: number;
  ms: number;
}

export interface EvaluateItem {
  image: ImageInput;
  name: string;
  label: 0 | 1;
  /** Defect type (MVTec folder name), for per-defect numbers. */
  defect?: string;
  /** Ground-truth mask (white = defect), for pixel AUROC. */
  mask?: Blob;
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number;
}

export interface EvaluateSummary {
  scores: number[];
  /** Per item, the message when it could not be scored (its score is NaN). */
  errors: (string | null)[];
  pixelAuroc: number | null;
  calibration: Calibration | null;
}

export interface BackendComparisonRow {
  backend: BackendName;
  adapter: string;
  features: number[];
  score: number;
  /** Features and score. */
  ms: number;
  /** The defect map after them. */
  mapMs: number;
}

export interface BackendComparison {
  rows: BackendComparisonRow[];
  /** Largest |a - b| over the features, divided by the largest |feature|. */
  featureRelDiff: number;
  scoreRelDiff: number;
  /** Largest |a - b| over the two backends' defect maps of the same image, divided by the first map's largest value. */
  mapRelDiff: number;
  size: number;
}

export type TrainPhase = 'features' | 'flow' | 'calibrate';

/** Progress of long work, one shape for every request. */
export interface ProgressEvent {
  phase: TrainPhase | 'read' | 'parse' | 'evaluate' | 'backend';
  done: number;
  total: number;
  etaSeconds?: number;
  /** Flow training only: mean loss of the last step. */
  loss?: number;
  /** Evaluate only: the score of item `done - 1`. */
  itemScore?: number;
  message?: string;
}

/** Request name -> [arguments, result]. */
export interface EngineApi {
  /** Starts the engine; also hands over the engine's constants the UI needs without importing TF.js. */
  /** `wasmThreads` caps the WASM backend's threads (the Live screen's second engine, for maps, takes one). */
  init: [{ wasmPaths: string; choice: BackendChoice; wasmThreads?: number }, { backend: BackendInfo; palette: Uint8Array; presets: { default: ModelSettings; paper: ModelSettings } }];
  setBackend: [{ choice: BackendChoice }, BackendInfo];
  loadWeights: [
    { source: { kind: 'blob'; blob: Blob } | { kind: 'bytes'; bytes: ArrayBuffer }; name: string },
    { weights: WeightsInfo; cache: ArrayBuffer | null; checkpoint: CheckpointFlow | null },
  ];
  /**
   * The loaded weights of a backbone as the app's weights file (its kept tensors only), whatever they were
   * loaded from: how a second engine (Live's maps) gets the same weights without the UI keeping a copy.
   */
  exportWeights: [{ backbone: BackboneId }, { bytes: ArrayBuffer; weights: WeightsInfo }];
  /** Turns the flow of a checkpoint just loaded by `loadWeights` into a model file on its backbone. */
  importCheckpoint: [{ checkpoint: string }, ImportedFlow];
  loadModel: [{ modelId: string; bytes: ArrayBuffer; calibration: Calibration | null }, ModelSummary];
  unloadModel: [{ modelId: string }, void];
  train: [
    { modelId: string; backbone: BackboneId; settings: ModelSettings; images: ImageInput[]; names: string[]; falseAlarmRate: number },
    { bytes: ArrayBuffer; summary: ModelSummary },
  ];
  setCalibration: [{ modelId: string; calibration: Calibration }, void];
  /**
   * `name`: the file's, for the error an undecodable image gets ("image" without one). `threads`: at most this
   * many threads for this job's host kernels (ScoreOptions.threads), e.g. 1 while another engine holds a core.
   */
  analyze: [{ modelId: string; image: ImageInput; name?: string; map: boolean; transforms?: number; roi?: Roi; threads?: number }, AnalyzeResult];
  /** With `calibrate`, the good items also set a calibration (for models that have none yet). */
  evaluate: [{ modelId: string; items: EvaluateItem[]; maps: boolean; calibrate?: ThresholdMethod }, EvaluateSummary];
  exportModel: [{ modelId: string; name: string; includeBackbone: boolean }, ArrayBuffer];
  importModel: [{ bytes: ArrayBuffer }, { bytes: ArrayBuffer; summary: ModelSummary; name: string; weights: { info: WeightsInfo; cache: ArrayBuffer } | null }];
  compareBackends: [{ modelId: string | null; backbone: BackboneId; size: number; backends: BackendName[] }, BackendComparison];
}

export type RequestType = keyof EngineApi;
export type RequestArgs<K extends RequestType> = EngineApi[K][0];
export type RequestResult<K extends RequestType> = EngineApi[K][1];

export type Request = { [K in RequestType]: { kind: 'request'; id: number; type: K; args: RequestArgs<K> } }[RequestType];

export interface CancelMessage {
  kind: 'cancel';
  id: number;
}

export type ToWorker = Request | CancelMessage;

export interface SerializedError {
  name: string;
  message: string;
}

/** Unsolicited news from the worker. */
export type EngineEvent =
  | { event: 'backendChanged'; backend: BackendInfo; message: string }
  | { event: 'log'; level: 'info' | 'warn'; message: string };

export type FromWorker =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'progress'; id: number; progress: ProgressEvent }
  | ({ kind: 'event' } & EngineEvent);

/** Long side of defect maps sent to the UI: the maps are blurred at ~3 px per 448, so more is wasted memory. */
export const MAP_SIDE = 256;
