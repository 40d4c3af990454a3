// Reads PyTorch state_dict files (.pth/.pt) in pure TypeScript: browser, Web Worker and Node alike.
// Nothing in the file is executed; see pickle.ts and torchPickle.ts for what the unpickler accepts.
import { PthError } from './errors';
import { looksLikeLegacy, NOT_PYTORCH, readLegacyFormat } from './legacyFormat';
import { stateDictEntries, type ParsedFile } from './stateDict';
import { DTYPE_SIZE, materialize, tensorSpan } from './tensors';
import type { StateDict } from './types';
import { looksLikeZip } from './zip';
import { readZipFormat } from './zipFormat';

export { PthError } from './errors';
export type { TensorData, StateDict } from './types';

export interface ReadPthOptions {
  /** Tensors for which this returns false are skipped: their data is never read, copied or converted. */
  include?: (key: string) => boolean;
  /** Called with 0..1 as tensor data is converted (by bytes), ending with 1. */
  onProgress?: (fraction: number) => void;
}

/** Marks an exception thrown by a caller's callback, so that it is rethrown unchanged (e.g. a cancellation). */
class CallbackError {
  constructor(readonly error: unknown) {}
}

function callback<A extends unknown[], R>(f: ((...a: A) => R) | undefined, ...args: A): R | undefined {
  if (!f) return undefined;
  try {
    return f(...args);
  } catch (e) {
    throw new CallbackError(e);
  }
}

function parse(bytes: Uint8Array): ParsedFile {
  if (bytes.length === 0) throw new PthError(`empty file: ${NOT_PYTORCH}`);
  if (looksLikeZip(bytes)) return readZipFormat(bytes);
  if (bytes.length < 4 && [0x50, 0x4b, 3, 4].slice(0, bytes.length).every((b, i) => bytes[i] === b)) {
    throw new PthError(`truncated: the file is ${bytes.length} bytes, the start of a zip archive`);
  }
  if (looksLikeLegacy(bytes)) return readLegacyFormat(bytes);
  if (bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
    throw new PthError('the tar-based PyTorch format (torch < 0.1.10) is not supported: re-save the file with a recent torch');
  }
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new PthError(`${NOT_PYTORCH}; the file starts with bytes ${head}`);
}

/**
 * Reads a state_dict saved by torch.save, in the zip (torch >= 1.6) or legacy format. Tensors come
 * back contiguous, row-major, as float32 whatever their dtype: float16/bfloat16/float64 are
 * converted, and integer/bool tensors (e.g. BatchNorm's num_batches_tracked) are converted by value.
 * Throws PthError for anything malformed, truncated, hostile or unsupported.
 */
export function readPth(bytes: Uint8Array, options: ReadPthOptions = {}): StateDict {
  try {
    return read(bytes, options);
  } catch (e) {
    if (e instanceof CallbackError) throw e.error;
    if (e instanceof PthError) throw e;
    // A bug or an engine limit (e.g. allocation failure) still surfaces as the documented error type.
    throw new PthError(`failed to read PyTorch file: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function read(bytes: Uint8Array, { include, onProgress }: ReadPthOptions): StateDict {
  if (!(bytes instanceof Uint8Array)) throw new PthError('expected the file contents as a Uint8Array');
  // Subclasses such as Node's Buffer change slice() into a view; the readers rely on it copying.
  const plain = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = parse(plain);
  const entries = stateDictEntries(parsed.top).filter(([key]) => include === undefined || Boolean(callback(include, key)));

  // Validate every shape against its storage before converting anything.
  let total = 0;
  const uses = new Map<string, number>();
  for (const [key, t] of entries) {
    total += tensorSpan(key, t) * DTYPE_SIZE[t.storage.dtype];
    uses.set(t.storage.key, (uses.get(t.storage.key) ?? 0) + 1);
  }

  callback(onProgress, 0);
  const out: StateDict = new Map();
  // Storages shared by several tensors are fetched (inflated, for compressed zips) once, then released.
  const cache = new Map<string, Uint8Array>();
  let done = 0;
  for (const [key, t] of entries) {
    const sk = t.storage.key;
    let data = cache.get(sk);
    if (!data) {
      data = parsed.storageBytes(sk);
      cache.set(sk, data);
    }
    out.set(key, materialize(key, t, data, parsed.littleEndian));
    const left = (uses.get(sk) as number) - 1;
    uses.set(sk, left);
    if (left === 0) cache.delete(sk);
    done += tensorSpan(key, t) * DTYPE_SIZE[t.storage.dtype];
    if (total > 0 && done < total) callback(onProgress, done / total);
  }
  callback(onProgress, 1);
  return out;
}
