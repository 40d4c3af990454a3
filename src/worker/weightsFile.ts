// A features-only backbone file: what `npm start` writes into public/models/ and what the app caches in
// IndexedDB, so the 233 MB torchvision AlexNet file (mostly classifier) is read once and kept as ~10 MB.
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { BackboneId, StateDict } from '../core';

export const WEIGHTS_FORMAT = 'differnet-backbone-weights';
const VERSION = 1;

export interface WeightsManifest {
  format: typeof WEIGHTS_FORMAT;
  version: number;
  id: BackboneId;
  /** The backbone's weightsHash, checked again on load to catch corruption. */
  hash: string;
  source: string;
  tensors: { name: string; shape: number[]; offset: number }[];
}

export class WeightsFileError extends Error {
  override name = 'WeightsFileError';
}

export function encodeWeightsFile(id: BackboneId, hash: string, source: string, sd: StateDict): Uint8Array {
  let total = 0;
  const tensors: WeightsManifest['tensors'] = [];
  for (const [name, t] of sd) {
    tensors.push({ name, shape: t.shape, offset: total });
    total += t.data.length;
  }
  const bin = new Float32Array(total);
  for (const e of tensors) bin.set(sd.get(e.name)!.data, e.offset);
  const manifest: WeightsManifest = { format: WEIGHTS_FORMAT, version: VERSION, id, hash, source, tensors };
  return zipSync({ 'manifest.json': strToU8(JSON.stringify(manifest)), 'tensors.bin': [new Uint8Array(bin.buffer), { level: 0 }] });
}

/** True for files written by encodeWeightsFile; a PyTorch zip checkpoint is also a zip, so look inside. */
export function isWeightsFile(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) return false;
  try {
    const files = unzipSync(bytes, { filter: (f) => f.name === 'manifest.json' });
    const raw = files['manifest.json'];
    return !!raw && (JSON.parse(strFromU8(raw)) as Partial<WeightsManifest>).format === WEIGHTS_FORMAT;
  } catch {
    return false;
  }
}

export function decodeWeightsFile(bytes: Uint8Array): { manifest: WeightsManifest; stateDict: StateDict } {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new WeightsFileError(`damaged weights file: ${(e as Error).message}`);
  }
  const raw = files['manifest.json'];
  const bin = files['tensors.bin'];
  if (!raw || !bin) throw new WeightsFileError('damaged weights file: manifest.json or tensors.bin is missing');
  const manifest = JSON.parse(strFromU8(raw)) as WeightsManifest;
  if (manifest.format !== WEIGHTS_FORMAT || manifest.version !== VERSION) {
    throw new WeightsFileError(`unsupported weights file (format ${String(manifest.format)} version ${String(manifest.version)})`);
  }
  if (bin.length % 4 !== 0) throw new WeightsFileError('damaged weights file: tensors.bin is not whole float32 values');
  const floats = new Float32Array(bin.slice().buffer);
  const stateDict: StateDict = new Map();
  for (const e of manifest.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset < 0 || e.offset + n > floats.length) throw new WeightsFileError(`damaged weights file: ${e.name} lies outside tensors.bin`);
    stateDict.set(e.name, { shape: e.shape, data: floats.subarray(e.offset, e.offset + n) });
  }
  return { manifest, stateDict };
}
