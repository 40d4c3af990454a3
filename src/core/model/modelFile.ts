import { strFromU8, strToU8, zipSync } from 'fflate';
import { openZip } from '../torch/zip';
import { createBackbone } from '../backbones';
import type { Backbone, BackboneId } from '../backbones/types';
import { Flow } from '../flow/flow';
import type { FlowConfig } from '../flow/config';
import type { StateDict } from '../torch/types';
import type { Calibration } from './calibration';
import { crc32 } from './crc32';
import { DifferNet, type TrainingRecord } from './differnet';
import type { ModelSettings } from './settings';

export const MODEL_FORMAT = 'differnet-inspector-model';
export const MODEL_VERSION = 1;

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into tensors.bin. */
  offset: number;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  name: string;
  savedAt: string;
  backbone: { id: BackboneId; weightsHash: string; included: boolean };
  flow: FlowConfig;
  settings: ModelSettings;
  calibration: Calibration | null;
  training: TrainingRecord | null;
  tensors: TensorEntry[];
  /** CRC-32 of tensors.bin. */
  checksum: string;
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
  let total = 0;
  const tensors: TensorEntry[] = [];
  for (const [name, t] of sd) {
    tensors.push({ name, shape: t.shape, offset: total });
    total += t.data.length;
  }
  const bin = new Float32Array(total);
  for (const e of tensors) bin.set(sd.get(e.name)!.data, e.offset);
  const binBytes = new Uint8Array(bin.buffer);
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    name: opts.name,
    savedAt: new Date().toISOString(),
    backbone: { id: model.backbone.id, weightsHash: model.backbone.weightsHash, included: opts.includeBackbone },
    flow: model.flow.config,
    settings: model.settings,
    calibration: model.calibration,
    training: model.training,
    tensors,
    checksum: crc32(binBytes),
  };
  return zipSync({ 'manifest.json': strToU8(JSON.stringify(manifest, null, 1)), 'tensors.bin': [binBytes, { level: 0 }] });
}

/** Reads and checks the manifest and tensors without building anything on the TF.js backend. */
export function readModelFile(bytes: Uint8Array): { manifest: ModelManifest; tensors: StateDict } {
  let rawManifest: Uint8Array | undefined;
  let bin: Uint8Array | undefined;
  try {
    // The hardened reader of the .pth loader: sizes checked against the file, no decompression bombs.
    const zip = openZip(bytes);
    const entry = (name: string) => (zip.entries.has(name) ? zip.read(zip.entries.get(name)!) : undefined);
    rawManifest = entry('manifest.json');
    bin = entry('tensors.bin');
  } catch (e) {
    throw new ModelFileError(`not a DifferNet Inspector model file (expected a zip with manifest.json): ${(e as Error).message}`, { cause: e });
  }
  if (!rawManifest || !bin) throw new ModelFileError('damaged model file: manifest.json or tensors.bin is missing');
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(strFromU8(rawManifest)) as ModelManifest;
    if (typeof manifest !== 'object' || manifest === null) throw new Error('not an object');
  } catch {
    throw new ModelFileError('damaged model file: manifest.json is not valid JSON');
  }
  if (manifest?.format !== MODEL_FORMAT) throw new ModelFileError(`not a DifferNet Inspector model file (format "${String(manifest?.format)}")`);
  if (manifest.version !== MODEL_VERSION) {
    throw new ModelFileError(`unsupported model file version ${String(manifest.version)}: this app reads version ${MODEL_VERSION}; update the app or re-export the model`);
  }
  validateManifest(manifest);
  if (crc32(bin) !== manifest.checksum) throw new ModelFileError(`damaged model file: checksum ${crc32(bin)} does not match the manifest's ${manifest.checksum}`);
  if (bin.length % 4 !== 0) throw new ModelFileError('damaged model file: tensors.bin is not a whole number of float32 values');
  const floats = new Float32Array(bin.slice().buffer);
  const tensors: StateDict = new Map();
  for (const e of manifest.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > floats.length) {
      throw new ModelFileError(`damaged model file: tensor ${e.name} lies outside tensors.bin`);
    }
    tensors.set(e.name, { shape: e.shape, data: floats.subarray(e.offset, e.offset + n) });
  }
  return { manifest, tensors };
}

const isCount = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v < 2 ** 31;

/** The manifest is untrusted JSON: check every field the loader relies on before using it. */
function validateManifest(m: ModelManifest): void {
  const bad = (what: string) => {
    throw new ModelFileError(`damaged model file: manifest ${what}`);
  };
  if (typeof m.name !== 'string') bad('has no name');
  if (!m.backbone || !['alexnet', 'squeezenet1_1'].includes(m.backbone.id) || typeof m.backbone.weightsHash !== 'string') bad('names no known backbone');
  const f = m.flow;
  if (!f || !isCount(f.inputDim, 2) || !isCount(f.blocks, 1) || !isCount(f.hidden, 1) || !(typeof f.clamp === 'number' && f.clamp > 0)) bad('has an invalid flow configuration');
  const st = m.settings;
  if (!st?.features || !isCount(st.features.size, 8) || !isCount(st.features.scales, 1) || !isCount(st.testTransforms, 1) || !st.train || !st.flow) bad('has invalid settings');
  if (typeof m.checksum !== 'string') bad('has no checksum');
  if (!Array.isArray(m.tensors)) bad('lists no tensors');
  for (const e of m.tensors) {
    if (!e || typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => isCount(d)) || !isCount(e.offset)) bad('has an invalid tensor entry');
  }
  const c = m.calibration;
  if (c !== null && (typeof c !== 'object' || ![c.threshold, c.mapLow, c.mapHigh].every((v) => typeof v === 'number' && Number.isFinite(v)))) bad('has an invalid calibration');
}

/**
 * Builds a model from a file. The backbone comes from the file when bundled, else `backbone` must be
 * given and carry the same weights hash.
 */
export function loadModel(bytes: Uint8Array, backbone?: Backbone): { model: DifferNet; manifest: ModelManifest; ownsBackbone: boolean } {
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
    const model = new DifferNet(bb, flow, manifest.settings, manifest.calibration, manifest.training);
    return { model, manifest, ownsBackbone };
  } catch (e) {
    flow?.dispose();
    if (ownsBackbone) bb.dispose();
    throw new ModelFileError(`damaged model file: ${(e as Error).message}`, { cause: e });
  }
}
