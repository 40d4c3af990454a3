import { createBackbone } from '../backbones';
import type { FeatureEngine } from '../execution/featureEngine';
import { BACKBONE_IDS, type Backbone, type BackboneId } from '../backbones/types';
import { Flow } from '../flow/flow';
import type { FlowConfig } from '../flow/config';
import type { StateDict } from '../torch/types';
import { normaliseCalibration, type Calibration } from '../inspection/calibration';
import { validRegion } from '../inspection/framing';
import { readTensorArchive, TensorArchiveError, writeTensorArchive, type ArchiveManifest } from './tensorArchive';
import { DifferNet, type TrainingRecord } from './differnet';
import type { ModelSettings } from './settings';

export const MODEL_FORMAT = 'differnet-inspector-model';
/**
 * Version 2 adds a whitened flow (flow/whitening.ts), version 3 a power of the features before it. Each file
 * is written with the lowest version that describes it, so an older app keeps reading what it can score and
 * refuses a model instead of scoring it without its whitening or power.
 */
export const MODEL_VERSION = 3;
const READABLE_VERSIONS = [1, 2, 3] as const;

/** The lowest model file version that holds `flow`. */
function modelVersionFor(flow: Flow): number {
  return flow.whitening?.power ? 3 : flow.whitening ? 2 : 1;
}

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

export interface ModelManifest extends ArchiveManifest {
  format: typeof MODEL_FORMAT;
  name: string;
  savedAt: string;
  backbone: { id: BackboneId; weightsHash: string; included: boolean };
  flow: FlowConfig;
  settings: ModelSettings;
  calibration: Calibration | null;
  training: TrainingRecord | null;
}

export interface SaveOptions {
  name: string;
  /** Bundle the backbone weights so the file alone can inspect (costs 3-10 MB). */
  includeBackbone: boolean;
}

/** One self-describing file: a zip of manifest.json and the raw little-endian float32 tensors. */
export async function saveModel(model: DifferNet, opts: SaveOptions): Promise<Uint8Array> {
  const sd: StateDict = await model.flow.toStateDict();
  if (opts.includeBackbone) for (const [k, v] of model.backbone.stateDict()) sd.set(`backbone.${k}`, v);
  return writeTensorArchive<ModelManifest>(
    {
      format: MODEL_FORMAT,
      version: modelVersionFor(model.flow),
      name: opts.name,
      savedAt: new Date().toISOString(),
      backbone: { id: model.backbone.id, weightsHash: model.backbone.weightsHash, included: opts.includeBackbone },
      flow: model.flow.config,
      settings: model.settings,
      calibration: model.calibration,
      training: model.training,
    },
    sd,
  );
}

/** Reads and checks the manifest and tensors without building anything on the TF.js backend. */
export function readModelFile(bytes: Uint8Array): { manifest: ModelManifest; tensors: StateDict } {
  let read: ReturnType<typeof readTensorArchive>;
  try {
    read = readTensorArchive(bytes, MODEL_FORMAT, READABLE_VERSIONS, 'model file', { title: 'DifferNet Inspector model file' });
  } catch (e) {
    if (e instanceof TensorArchiveError) throw new ModelFileError(e.message, { cause: e });
    throw e;
  }
  const manifest = read.manifest as unknown as ModelManifest;
  validateManifest(manifest);
  return { manifest, tensors: read.tensors };
}

/**
 * The same model file without the bundled backbone tensors, for a store that keeps the backbone weights
 * apart (the app): what it stores and the size it shows are then the same for trained and imported models.
 */
export function withoutBackbone(bytes: Uint8Array): Uint8Array {
  const { manifest, tensors } = readModelFile(bytes);
  if (!manifest.backbone.included) return bytes;
  const flow: StateDict = new Map([...tensors].filter(([k]) => !k.startsWith('backbone.')));
  const { tensors: _t, checksum: _c, ...fields } = manifest;
  return writeTensorArchive<ModelManifest>({ ...fields, backbone: { ...manifest.backbone, included: false } }, flow);
}

const isCount = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v < 2 ** 31;

/** The manifest is untrusted JSON: check every field the loader relies on before using it. */
function validateManifest(m: ModelManifest): void {
  const bad = (what: string) => {
    throw new ModelFileError(`damaged model file: manifest ${what}`);
  };
  if (typeof m.name !== 'string') bad('has no name');
  if (!m.backbone || !BACKBONE_IDS.includes(m.backbone.id) || typeof m.backbone.weightsHash !== 'string') bad('names no known backbone');
  const f = m.flow;
  if (!f || !isCount(f.inputDim, 2) || !isCount(f.blocks, 1) || !isCount(f.hidden, 1) || !(typeof f.clamp === 'number' && f.clamp > 0)) bad('has an invalid flow configuration');
  const st = m.settings;
  if (!st?.features || !isCount(st.features.size, 8) || !isCount(st.features.scales, 1) || !isCount(st.testTransforms, 1) || !st.train || !st.flow) bad('has invalid settings');
  const wh = st.flow.whitening;
  if (wh !== undefined && !(typeof wh === 'number' && wh > 0 && wh <= 1)) bad('has an invalid flow whitening');
  if (wh !== undefined && m.version === 1) bad('has a whitened flow in a version 1 file');
  const pw = st.flow.power;
  if (pw !== undefined && !(typeof pw === 'number' && pw > 0 && pw <= 1 && wh !== undefined)) bad('has an invalid feature power');
  if (pw !== undefined && m.version < 3) bad(`has a feature power in a version ${m.version} file`);
  // Absent in files written before feature taps: the backbone's default, the last layer.
  const taps = st.features.taps;
  if (taps !== undefined && (!Array.isArray(taps) || taps.length < 1 || taps.length > 64 || !taps.every((t) => typeof t === 'string' && t.length > 0 && t.length < 100))) bad('has invalid feature taps');
  const fr = st.framing;
  if (fr !== undefined && (typeof fr !== 'object' || fr === null || !(typeof fr.aspect === 'number' && Number.isFinite(fr.aspect) && fr.aspect > 0) || (fr.region !== undefined && !validRegion(fr.region)))) bad('has an invalid framing');
  const c = m.calibration;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (c !== null) {
    if (typeof c !== 'object' || ![c.threshold, c.mapLow, c.mapHigh].every(finite)) bad('has an invalid calibration');
    // Absent in files written before held-out calibration; normaliseCalibration fills them in.
    if (c.source !== undefined && !['held-out', 'training', 'labelled'].includes(c.source)) bad('has an invalid calibration source');
    if (c.goodScores !== undefined && (!Array.isArray(c.goodScores) || c.goodScores.length > 1_000_000 || !c.goodScores.every(finite))) bad('has invalid calibration scores');
    const g = c.guarantee;
    if (g !== undefined && g !== null && (typeof g !== 'object' || ![g.requested, g.bound, g.minRate].every(finite) || typeof g.supported !== 'boolean')) bad('has an invalid calibration guarantee');
    if (!c.good || typeof c.good !== 'object' || ![c.good.n, c.good.mean, c.good.min, c.good.max].every((v) => finite(v) || Number.isNaN(v) || v === null)) bad('has invalid calibration statistics');
  }
  m.calibration = normaliseCalibration(c);
}

/**
 * Builds a model from a file. The backbone comes from the file when bundled, else `backbone` must be
 * given and carry the same weights hash. The model runs on `engine`, its worker's or process's plan's.
 */
export function loadModel(bytes: Uint8Array, engine: FeatureEngine, backbone?: Backbone): { model: DifferNet; manifest: ModelManifest; ownsBackbone: boolean } {
  const { manifest, tensors } = readModelFile(bytes);
  let bb = backbone;
  let ownsBackbone = false;
  if (manifest.backbone.included && (!bb || bb.weightsHash !== manifest.backbone.weightsHash)) {
    const sd: StateDict = new Map();
    for (const [k, v] of tensors) if (k.startsWith('backbone.')) sd.set(k.slice('backbone.'.length), v);
    try {
      bb = createBackbone(sd, manifest.backbone.id);
    } catch (e) {
      throw new ModelFileError(`damaged model file: its backbone does not load (${(e as Error).message})`, { cause: e });
    }
    ownsBackbone = true;
  }
  if (!bb) throw new ModelFileError(`this model needs the ${manifest.backbone.id} backbone (weights ${manifest.backbone.weightsHash}); load those weights first`);
  if (bb.id !== manifest.backbone.id || bb.weightsHash !== manifest.backbone.weightsHash) {
    throw new ModelFileError(`this model was trained on ${manifest.backbone.id} weights ${manifest.backbone.weightsHash}, but the loaded backbone is ${bb.id} ${bb.weightsHash}`);
  }
  let flow: Flow | undefined;
  try {
    flow = Flow.fromStateDict(tensors, manifest.flow.clamp);
    if ((manifest.settings.flow.whitening !== undefined) !== (flow.whitening !== null)) {
      throw new Error(manifest.settings.flow.whitening !== undefined ? 'its settings whiten the features but the flow has no whitening' : 'its flow has a whitening its settings do not name');
    }
    const inFlow = flow.whitening?.power?.exponent;
    const inSettings = manifest.settings.flow.power;
    // The flow's tensor holds the exponent in float32.
    if (inFlow === undefined ? inSettings !== undefined : inSettings === undefined || Math.fround(inSettings) !== inFlow) {
      throw new Error(`its settings take the features to the power ${inSettings ?? '(none)'} but its flow to ${inFlow ?? '(none)'}`);
    }
    const model = new DifferNet(engine, bb, flow, manifest.settings, manifest.calibration, manifest.training);
    return { model, manifest, ownsBackbone };
  } catch (e) {
    flow?.dispose();
    if (ownsBackbone) bb.dispose();
    throw new ModelFileError(`damaged model file: ${(e as Error).message}`, { cause: e });
  }
}
