// The one file format for tensors this app writes: a zip of manifest.json and raw little-endian float32
// tensors.bin. Model files and the backbone-weights cache both use it, and both are read back through the
// hardened zip reader (sizes checked against the file, no decompression bombs) and a validated manifest.
import { strFromU8, strToU8, zipSync } from 'fflate';
import { openZip } from '../torch/zip';
import type { StateDict } from '../torch/types';
import { crc32 } from './crc32';

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into tensors.bin. */
  offset: number;
}

/** The fields every archive's manifest has; each format adds its own. */
export interface ArchiveManifest {
  format: string;
  version: number;
  tensors: TensorEntry[];
  /** CRC-32 of tensors.bin. */
  checksum: string;
}

export class TensorArchiveError extends Error {
  override name = 'TensorArchiveError';
}

export function writeTensorArchive<M extends ArchiveManifest>(fields: Omit<M, 'tensors' | 'checksum'>, sd: StateDict): Uint8Array {
  let total = 0;
  const tensors: TensorEntry[] = [];
  for (const [name, t] of sd) {
    tensors.push({ name, shape: t.shape, offset: total });
    total += t.data.length;
  }
  const bin = new Float32Array(total);
  for (const e of tensors) bin.set(sd.get(e.name)!.data, e.offset);
  const binBytes = new Uint8Array(bin.buffer);
  const manifest = { ...fields, tensors, checksum: crc32(binBytes) };
  return zipSync({ 'manifest.json': strToU8(JSON.stringify(manifest, null, 1)), 'tensors.bin': [binBytes, { level: 0 }] });
}

const isCount = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v < 2 ** 31;

/** The manifest alone (for telling formats apart), or null when the bytes are no archive of ours. */
export function peekManifest(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const zip = openZip(bytes);
    const e = zip.entries.get('manifest.json');
    if (!e) return null;
    const m = JSON.parse(strFromU8(zip.read(e))) as unknown;
    return typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Reads an archive of `format` (`what` names it in messages). The manifest is untrusted JSON: its format,
 * version, tensor list and checksum are checked here; the caller validates its own fields.
 */
export function readTensorArchive(
  bytes: Uint8Array,
  format: string,
  /** The versions this app reads; a newer one is refused with a message. */
  version: number | readonly number[],
  what: string,
  opts: { checksumRequired?: boolean; title?: string } = {},
): { manifest: ArchiveManifest & Record<string, unknown>; tensors: StateDict } {
  const title = opts.title ?? what;
  let rawManifest: Uint8Array | undefined;
  let bin: Uint8Array | undefined;
  try {
    const zip = openZip(bytes);
    const entry = (name: string) => (zip.entries.has(name) ? zip.read(zip.entries.get(name)!) : undefined);
    rawManifest = entry('manifest.json');
    bin = entry('tensors.bin');
  } catch (e) {
    throw new TensorArchiveError(`not a ${title} (expected a zip with manifest.json): ${(e as Error).message}`, { cause: e });
  }
  if (!rawManifest || !bin) throw new TensorArchiveError(`damaged ${what}: manifest.json or tensors.bin is missing`);
  let m: ArchiveManifest & Record<string, unknown>;
  try {
    m = JSON.parse(strFromU8(rawManifest));
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
  } catch {
    throw new TensorArchiveError(`damaged ${what}: manifest.json is not valid JSON`);
  }
  if (m.format !== format) throw new TensorArchiveError(`not a ${title} (format "${String(m.format)}")`);
  const versions: readonly number[] = typeof version === 'number' ? [version] : version;
  if (!versions.includes(m.version as number)) throw new TensorArchiveError(`unsupported ${what} version ${String(m.version)}: this app reads version ${versions.join(' and ')}; update the app or write the file again`);
  if (!Array.isArray(m.tensors)) throw new TensorArchiveError(`damaged ${what}: manifest lists no tensors`);
  for (const e of m.tensors) {
    if (!e || typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => isCount(d)) || !isCount(e.offset)) {
      throw new TensorArchiveError(`damaged ${what}: manifest has an invalid tensor entry`);
    }
  }
  if (typeof m.checksum !== 'string' && (opts.checksumRequired ?? true)) throw new TensorArchiveError(`damaged ${what}: manifest has no checksum`);
  if (m.checksum !== undefined && crc32(bin) !== m.checksum) throw new TensorArchiveError(`damaged ${what}: checksum ${crc32(bin)} does not match the manifest's ${m.checksum}`);
  if (bin.length % 4 !== 0) throw new TensorArchiveError(`damaged ${what}: tensors.bin is not a whole number of float32 values`);
  const floats = new Float32Array(bin.slice().buffer);
  const tensors: StateDict = new Map();
  for (const e of m.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > floats.length) throw new TensorArchiveError(`damaged ${what}: tensor ${e.name} lies outside tensors.bin`);
    tensors.set(e.name, { shape: e.shape, data: floats.subarray(e.offset, e.offset + n) });
  }
  return { manifest: m, tensors };
}
