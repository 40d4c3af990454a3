// From an unpickled top-level object to the state_dict's (name, tensor) entries.
import { PthError } from './errors';
import { describe, PyDict, type PyValue } from './pickle';
import { TensorRef } from './tensors';

/** What a format reader hands over: the unpickled object and a way to reach storage bytes. */
export interface ParsedFile {
  top: PyValue;
  /** Byte order of the storages (the zip format records it; legacy files are little-endian). */
  littleEndian: boolean;
  /** The raw bytes of root storage `key`, exactly as long as declared (PthError if missing or short). */
  storageBytes(key: string): Uint8Array;
}

/**
 * Accepts a dict of name -> tensor, or a checkpoint dict holding one under 'state_dict'. Non-tensor
 * values (and non-string keys) are dropped, so checkpoints with epochs, optimiser settings etc. load.
 */
export function stateDictEntries(top: PyValue): [string, TensorRef][] {
  if (!(top instanceof PyDict)) throw new PthError(`expected a state_dict (a dict of name -> tensor), but the file holds ${describe(top)}`);
  const nested = top.entries.get('state_dict');
  const dict = nested instanceof PyDict ? nested : top;
  const out: [string, TensorRef][] = [];
  for (const [k, v] of dict.entries) if (typeof k === 'string' && v instanceof TensorRef) out.push([k, v]);
  if (out.length === 0 && dict.entries.size > 0) {
    const keys = [...dict.entries.keys()].slice(0, 5).map(String).join(', ');
    throw new PthError(`expected a state_dict, but the dict holds no tensors (keys: ${keys}${dict.entries.size > 5 ? ', …' : ''})`);
  }
  return out;
}
