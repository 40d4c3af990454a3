// A features-only backbone file: what `npm start` writes into public/models/ and what the app caches in
// IndexedDB, so the 233 MB torchvision AlexNet file (mostly classifier) is read once and kept as ~10 MB.
import { BACKBONE_IDS, type BackboneId } from '../backbones/types';
import type { StateDict } from '../torch/types';
import { peekManifest, readTensorArchive, TensorArchiveError, writeTensorArchive, type ArchiveManifest } from './tensorArchive';

export const WEIGHTS_FORMAT = 'differnet-backbone-weights';
const VERSION = 1;

export interface WeightsManifest extends ArchiveManifest {
  format: typeof WEIGHTS_FORMAT;
  id: BackboneId;
  /** The backbone's weightsHash, checked again on load to catch corruption. */
  hash: string;
  source: string;
}

export class WeightsFileError extends Error {
  override name = 'WeightsFileError';
}

export function encodeWeightsFile(id: BackboneId, hash: string, source: string, sd: StateDict): Uint8Array {
  return writeTensorArchive<WeightsManifest>({ format: WEIGHTS_FORMAT, version: VERSION, id, hash, source }, sd);
}

/** True for files written by encodeWeightsFile; a PyTorch zip checkpoint is also a zip, so look inside. */
export function isWeightsFile(bytes: Uint8Array): boolean {
  return peekManifest(bytes)?.format === WEIGHTS_FORMAT;
}

export function decodeWeightsFile(bytes: Uint8Array): { manifest: WeightsManifest; stateDict: StateDict } {
  let read: ReturnType<typeof readTensorArchive>;
  try {
    // Files cached before the shared archive format have no checksum; the backbone hash still guards them.
    read = readTensorArchive(bytes, WEIGHTS_FORMAT, VERSION, 'weights file', { checksumRequired: false });
  } catch (e) {
    if (e instanceof TensorArchiveError) throw new WeightsFileError(e.message, { cause: e });
    throw e;
  }
  const m = read.manifest;
  if (!BACKBONE_IDS.includes(m.id as BackboneId) || typeof m.hash !== 'string' || typeof m.source !== 'string') {
    throw new WeightsFileError('damaged weights file: manifest names no known backbone, hash or source');
  }
  return { manifest: m as unknown as WeightsManifest, stateDict: read.tensors };
}
