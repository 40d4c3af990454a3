// torch.save's zip format (torch >= 1.6): <archive>/data.pkl holds the object, whose persistent ids
// ('storage', type, key, location, numel) refer to raw storages in <archive>/data/<key>.
import { PthError } from './errors';
import { unpickle, type PyValue } from './pickle';
import type { ParsedFile } from './stateDict';
import { StorageRef } from './tensors';
import { parseStorageId, StorageTable, torchHooks } from './torchPickle';
import { openZip } from './zip';

/** The archive's folder: torch names it after the file, so take the one folder holding data.pkl. */
function archivePrefix(names: string[]): string {
  const candidates = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (candidates.length === 0) {
    const hint = names.some((n) => /\/(code|constants\.pkl)/.test(n)) ? ' (it looks like a TorchScript archive; save model.state_dict() with torch.save instead)' : '';
    throw new PthError(`zip archive is not a PyTorch file: no <archive>/data.pkl entry${hint}`);
  }
  if (candidates.length === 1) return candidates[0].slice(0, -'data.pkl'.length);
  // Several: torch reads the folder of the first entry.
  const first = names[0].split('/')[0] + '/';
  if (!candidates.includes(`${first}data.pkl`)) throw new PthError(`zip archive holds several data.pkl files (${candidates.slice(0, 3).join(', ')}, ...)`);
  return first;
}

export function readZipFormat(bytes: Uint8Array): ParsedFile {
  const zip = openZip(bytes);
  const prefix = archivePrefix(zip.names);
  const entry = (name: string) => zip.entries.get(prefix + name);

  let littleEndian = true;
  const order = entry('byteorder');
  if (order) {
    const text = new TextDecoder().decode(zip.read(order)).trim();
    if (text !== 'little' && text !== 'big') throw new PthError(`${prefix}byteorder: expected 'little' or 'big', got '${text.slice(0, 20)}'`);
    littleEndian = text === 'little';
  }

  const table = new StorageTable();
  const persistentLoad = (pid: PyValue): PyValue => {
    const id = parseStorageId(pid, false);
    const decl = table.declare(id.key, id.type.dtype, id.numel);
    return new StorageRef(decl.key, decl.dtype, 0, decl.numel);
  };
  const pkl = zip.read(entry('data.pkl')!);
  const top = unpickle(pkl, 0, torchHooks(persistentLoad), `${prefix}data.pkl`).value;

  const storageBytes = (key: string): Uint8Array => {
    const decl = table.roots.get(key);
    if (!decl) throw new PthError(`storage '${key}' was never declared`);
    const name = `${prefix}data/${key}`;
    const e = zip.entries.get(name);
    if (!e) throw new PthError(`zip archive has no entry '${name}' for storage '${key}'`);
    if (e.size < decl.byteLength) {
      throw new PthError(`storage '${key}' is too short: entry '${name}' holds ${e.size} bytes, the pickle declares ${decl.numel} ${decl.dtype} elements (${decl.byteLength} bytes)`);
    }
    return zip.read(e).subarray(0, decl.byteLength);
  };

  return { top, littleEndian, storageBytes };
}
