import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
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
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new ModelFileError(`not a DifferNet Inspector model file (expected a zip with manifest.json): ${(e as Error).message}`);
  }
  const rawManifest = files['manifest.json'];
  const bin = files['tensors.bin'];
  if (!rawManifest || !bin) throw new ModelFileError('damaged model file: manifest.json or tensors.bin is missing');
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(strFromU8(rawManifest)) as ModelManifest;
  } catch {
    throw new ModelFileError('damaged model file: manifest.json is not valid JSON');
  }
  if (manifest?.format !== MODEL_FORMAT) throw new ModelFileError(`not a DifferNet Inspector model file (format "${String(manifest?.format)}")`);
  if (manifest.version !== MODEL_VERSION) {
    throw new ModelFileError(`unsupported model file version ${String(manifest.version)}: this app reads version ${MODEL_VERSION}; update the app or re-export the model`);
  }
  if (crc32(bin) !== manifest.checksum) throw new ModelFileError(`damaged model file: checksum ${crc32(bin)} does not match the manifest's ${manifest.checksum}`);
  if (bin.length % 4 !== 0) throw new ModelFileError('damaged model file: tensors.bin is not a whole number of float32 values');
  const floats = new Float32Array(bin.slice().buffer);
  const tensors: StateDict = new Map();
  for (const e of manifest.tensors ?? []) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset + n > floats.length) {
      throw new ModelFileError(`damaged model file: tensor ${e.name} lies outside tensors.bin`);
    }
    tensors.set(e.name, { shape: e.shape, data: floats.subarray(e.offset, e.offset + n) });
  }
  return { manifest, tensors };
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
    bb = createBackbone(sd, manifest.backbone.id);
    ownsBackbone = true;
  }
  if (!bb) throw new ModelFileError(`this model needs the ${manifest.backbone.id} backbone (weights ${manifest.backbone.weightsHash}); load those weights first`);
  if (bb.id !== manifest.backbone.id || bb.weightsHash !== manifest.backbone.weightsHash) {
    throw new ModelFileError(`this model was trained on ${manifest.backbone.id} weights ${manifest.backbone.weightsHash}, but the loaded backbone is ${bb.id} ${bb.weightsHash}`);
  }
  const flow = Flow.fromStateDict(tensors, manifest.flow.clamp);
  try {
    const model = new DifferNet(bb, flow, manifest.settings, manifest.calibration, manifest.training);
    return { model, manifest, ownsBackbone };
  } catch (e) {
    flow.dispose();
    if (ownsBackbone) bb.dispose();
    throw new ModelFileError(`damaged model file: ${(e as Error).message}`);
  }
}
