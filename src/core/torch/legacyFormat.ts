// torch.save's legacy format (before torch 1.6, e.g. torchvision's alexnet-owt-7be5be79.pth): a run of
// pickles (magic number, protocol version, sys_info, the object, the list of storage keys) followed,
// for each key in that order, by an 8-byte little-endian element count and the raw little-endian bytes.
import { ByteView } from './bytes';
import { PthError } from './errors';
import { PLAIN_DATA_ONLY, PyDict, unpickle, type PickleHooks, type PyValue } from './pickle';
import type { ParsedFile } from './stateDict';
import { StorageRef } from './tensors';
import { parseStorageId, StorageTable, torchHooks } from './torchPickle';

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export const NOT_PYTORCH = 'not a PyTorch file: expected a zip archive (torch.save since torch 1.6) or a legacy pickle (magic 0x1950a86a20f9469cfc6c)';

/** Legacy files start with a pickle, i.e. with the PROTO opcode. */
export function looksLikeLegacy(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === 0x80;
}

export function readLegacyFormat(bytes: Uint8Array): ParsedFile {
  let pos = 0;
  const next = (label: string, hooks: PickleHooks = PLAIN_DATA_ONLY): PyValue => {
    const r = unpickle(bytes, pos, hooks, label);
    pos = r.end;
    return r.value;
  };

  let magic: PyValue;
  try {
    magic = next('legacy header');
  } catch (e) {
    if (e instanceof PthError && e.message.startsWith('truncated')) throw new PthError(`truncated: the file ends inside its first pickle (${e.message})`);
    throw new PthError(`${NOT_PYTORCH}; the file starts with a pickle that is not the magic number`);
  }
  if (magic !== LEGACY_MAGIC) throw new PthError(`${NOT_PYTORCH}; the file starts with a pickle of another value`);
  const version = next('legacy protocol version');
  if (version !== PROTOCOL_VERSION) throw new PthError(`unsupported legacy protocol version ${String(version)} (expected ${PROTOCOL_VERSION})`);
  if (!(next('legacy sys_info') instanceof PyDict)) throw new PthError('legacy sys_info must be a dict');

  const table = new StorageTable();
  const persistentLoad = (pid: PyValue): PyValue => {
    const id = parseStorageId(pid, true);
    const decl = table.declare(id.key, id.type.dtype, id.numel);
    return id.view ? new StorageRef(decl.key, decl.dtype, id.view.offset, id.view.numel) : new StorageRef(decl.key, decl.dtype, 0, decl.numel);
  };
  const top = next('legacy main pickle', torchHooks(persistentLoad));

  const keys = next('legacy storage key list');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new PthError('legacy storage key list must be a list of strings');

  // Storages follow in key order; only their positions are recorded here, nothing is converted.
  const r = new ByteView(bytes, 'legacy PyTorch file');
  const located = new Map<string, Uint8Array>();
  for (const key of keys as string[]) {
    const decl = table.roots.get(key);
    if (!decl) throw new PthError(`legacy storage key list names '${key}', which no tensor uses`);
    if (located.has(key)) throw new PthError(`legacy storage key list names '${key}' twice`);
    const n = r.u64(pos, `element count of storage '${key}'`);
    pos += 8;
    if (n !== decl.numel) throw new PthError(`storage '${key}': the file says ${n} elements, the pickle declares ${decl.numel}`);
    r.need(pos, decl.byteLength, `${decl.byteLength} bytes of storage '${key}'`);
    located.set(key, bytes.subarray(pos, pos + decl.byteLength));
    pos += decl.byteLength;
  }

  const storageBytes = (key: string): Uint8Array => {
    const data = located.get(key);
    if (!data) throw new PthError(`storage '${key}' has no data in the file (missing from the storage key list)`);
    return data;
  };
  return { top, littleEndian: true, storageBytes };
}
