// The torch side of unpickling: the allow-list of globals, our own TypeScript stand-ins for the few
// functions a state_dict pickle calls, and the parsing of storage persistent ids. Any global not
// listed here (os.system, builtins.eval, a model class, ...) is refused by name.
import { PthError } from './errors';
import { describe, PyDict, PyObject, PyTuple, type PickleHooks, type PyValue } from './pickle';
import { DTYPE_SIZE, STORAGE_DTYPES, StorageRef, StorageType, TensorRef, type DType } from './tensors';

type GlobalKind =
  | 'OrderedDict'
  | 'rebuild_tensor_v2'
  | 'rebuild_tensor'
  | 'rebuild_parameter'
  | 'rebuild_parameter_with_state'
  | 'rebuild_from_type_v2'
  | 'Parameter'
  | 'Tensor'
  | 'Size';

/** An allowed global; what "calling" it means is implemented in `callGlobal`, not taken from the file. */
class TorchGlobal extends PyObject {
  constructor(readonly qualname: string, readonly kind: GlobalKind) {
    super();
  }
  describe(): string {
    return this.qualname;
  }
}

const ALLOWED: Record<string, GlobalKind> = {
  'collections.OrderedDict': 'OrderedDict',
  'torch._utils._rebuild_tensor_v2': 'rebuild_tensor_v2',
  'torch._utils._rebuild_tensor': 'rebuild_tensor',
  'torch._utils._rebuild_parameter': 'rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state': 'rebuild_parameter_with_state',
  'torch._utils._rebuild_from_type_v2': 'rebuild_from_type_v2',
  'torch.nn.parameter.Parameter': 'Parameter',
  'torch.Tensor': 'Tensor',
  'torch.Size': 'Size',
};

/** Resolves GLOBAL module/name against the allow-list. */
export function findGlobal(module: string, name: string): PyValue {
  const qualname = `${module}.${name}`;
  const kind = ALLOWED[qualname];
  if (kind !== undefined) return new TorchGlobal(qualname, kind);
  // Storage classes; files saved from the GPU name them torch.cuda.*, their bytes are the same.
  if ((module === 'torch' || module === 'torch.cuda') && Object.hasOwn(STORAGE_DTYPES, name)) {
    return new StorageType(name, STORAGE_DTYPES[name]);
  }
  if (module === 'torch' && name.endsWith('Storage')) {
    throw new PthError(`storage type '${qualname}' is not supported (float32/16/64, bfloat16, integer and bool storages are)`);
  }
  const hint = module.startsWith('__torch__')
    ? ' (this is a TorchScript archive; save model.state_dict() with torch.save instead)'
    : ' (only PyTorch tensor and state_dict types are; to load a model, save model.state_dict())';
  throw new PthError(`global '${qualname}' is not allowed${hint}`);
}

function int(v: PyValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new PthError(`${what} must be a non-negative integer, got ${describe(v)}`);
  return v;
}

function intTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) throw new PthError(`${what} must be a tuple of integers, got ${describe(v)}`);
  const items = v instanceof PyTuple ? v.items : v;
  if (items.length > 64) throw new PthError(`${what} has ${items.length} dimensions`);
  return items.map((x, i) => int(x, `${what}[${i}]`));
}

function arity(g: TorchGlobal, args: readonly PyValue[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    throw new PthError(`${g.qualname} called with ${args.length} arguments (expected ${min === max ? min : `${min}-${max}`})`);
  }
}

function rebuildTensor(g: TorchGlobal, args: readonly PyValue[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new PthError(`${g.qualname}: first argument must be a storage, got ${describe(storage)}`);
  const shape = intTuple(size, `${g.qualname} size`);
  const strides = intTuple(stride, `${g.qualname} stride`);
  if (shape.length !== strides.length) throw new PthError(`${g.qualname}: size [${shape}] and stride [${strides}] differ in rank`);
  return new TensorRef(storage, int(offset, `${g.qualname} storage offset`), shape, strides);
}

function asTensor(g: TorchGlobal, v: PyValue): TensorRef {
  if (!(v instanceof TensorRef)) throw new PthError(`${g.qualname}: expected a tensor, got ${describe(v)}`);
  return v;
}

function isRebuild(v: PyValue): v is TorchGlobal {
  return v instanceof TorchGlobal && (v.kind === 'rebuild_tensor_v2' || v.kind === 'rebuild_tensor' || v.kind === 'rebuild_parameter' || v.kind === 'rebuild_parameter_with_state');
}

function orderedDict(g: TorchGlobal, args: readonly PyValue[]): PyDict {
  arity(g, args, 0, 1);
  const d = new PyDict();
  if (args.length === 0) return d;
  // OrderedDict([(key, value), ...]), as protocol 0/1 pickles write it.
  const pairs = args[0];
  if (!Array.isArray(pairs)) throw new PthError(`${g.qualname}: expected a list of pairs, got ${describe(pairs)}`);
  for (const p of pairs) {
    if (!(p instanceof PyTuple) || p.items.length !== 2 || typeof p.items[0] !== 'string') throw new PthError(`${g.qualname}: expected (str, value) pairs`);
    d.entries.set(p.items[0], p.items[1]);
  }
  return d;
}

function callGlobal(callable: PyValue, args: readonly PyValue[], how: 'REDUCE' | 'NEWOBJ'): PyValue {
  if (!(callable instanceof TorchGlobal)) throw new PthError(`${how} on ${describe(callable)} is not allowed (only allowed torch globals can be called)`);
  const g = callable;
  if (how === 'NEWOBJ' && g.kind !== 'OrderedDict') throw new PthError(`NEWOBJ of ${g.qualname} is not allowed`);
  switch (g.kind) {
    case 'OrderedDict':
      return orderedDict(g, args);
    case 'rebuild_tensor_v2':
      // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]); hooks and metadata are not data.
      arity(g, args, 6, 7);
      return rebuildTensor(g, args);
    case 'rebuild_tensor':
      arity(g, args, 4, 4);
      return rebuildTensor(g, args);
    case 'rebuild_parameter':
      arity(g, args, 3, 3);
      return asTensor(g, args[0]);
    case 'rebuild_parameter_with_state':
      arity(g, args, 4, 4);
      return asTensor(g, args[0]);
    case 'Parameter':
      arity(g, args, 1, 2);
      return asTensor(g, args[0]);
    case 'rebuild_from_type_v2': {
      // (func, new_type, args, state): tensor subclasses; only plain Tensor/Parameter are accepted.
      arity(g, args, 4, 4);
      const [func, type, inner] = args;
      if (!isRebuild(func)) throw new PthError(`${g.qualname}: rebuild function ${describe(func)} is not allowed`);
      if (!(type instanceof TorchGlobal) || (type.kind !== 'Tensor' && type.kind !== 'Parameter')) {
        throw new PthError(`${g.qualname}: tensor type ${describe(type)} is not allowed`);
      }
      if (!(inner instanceof PyTuple)) throw new PthError(`${g.qualname}: arguments must be a tuple`);
      return callGlobal(func, inner.items, 'REDUCE');
    }
    case 'Size':
      arity(g, args, 1, 1);
      return new PyTuple(intTuple(args[0], 'torch.Size'));
    case 'Tensor':
      throw new PthError(`calling ${g.qualname} is not allowed`);
  }
}

function build(target: PyValue, state: PyValue): void {
  // torch's OrderedDict state_dicts carry a `_metadata` attribute (module versions): not tensor data.
  if (target instanceof PyDict && (state === null || state instanceof PyDict || state instanceof PyTuple)) return;
  throw new PthError(`BUILD on ${describe(target)} is not allowed`);
}

/** Hooks for a torch pickle; `persistentLoad` is the format's (zip and legacy ids differ). */
export function torchHooks(persistentLoad: (pid: PyValue) => PyValue): PickleHooks {
  return { findGlobal, call: callGlobal, build, persistentLoad };
}

export interface StorageDecl {
  key: string;
  dtype: DType;
  numel: number;
  byteLength: number;
}

/**
 * Root storages by key, as persistent ids declare them. torch loads a key once and reuses it, so a
 * second declaration must agree with the first; a file where it does not is refused.
 */
export class StorageTable {
  readonly roots = new Map<string, StorageDecl>();

  declare(key: string, dtype: DType, numel: number): StorageDecl {
    const prev = this.roots.get(key);
    if (prev) {
      if (prev.dtype !== dtype || prev.numel !== numel) {
        throw new PthError(`storage '${key}' is declared twice, as ${prev.numel} ${prev.dtype} and as ${numel} ${dtype}`);
      }
      return prev;
    }
    const decl = { key, dtype, numel, byteLength: numel * DTYPE_SIZE[dtype] };
    this.roots.set(key, decl);
    return decl;
  }
}

export interface StorageId {
  type: StorageType;
  key: string;
  numel: number;
  /** Legacy storage views: (view key, element offset, element count). */
  view: { key: string; offset: number; numel: number } | null;
}

/** Parses ('storage', type, key, location, numel[, view_metadata]) and refuses every other kind of id. */
export function parseStorageId(pid: PyValue, legacy: boolean): StorageId {
  if (!(pid instanceof PyTuple) || pid.items.length === 0) throw new PthError(`persistent id must be a tuple, got ${describe(pid)}`);
  const [kind, type, key, location, count, view] = pid.items;
  if (kind === 'module') throw new PthError('the file holds a pickled nn.Module, not a state_dict (save model.state_dict() instead)');
  if (kind !== 'storage') throw new PthError(`unsupported persistent id kind ${describe(kind)}`);
  const expected = legacy ? 6 : 5;
  if (pid.items.length !== expected) throw new PthError(`storage id has ${pid.items.length} fields (expected ${expected})`);
  if (!(type instanceof StorageType)) throw new PthError(`storage id names ${describe(type)}, not a storage type`);
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) throw new PthError(`storage key must be a short string, got ${describe(key)}`);
  if (typeof location !== 'string') throw new PthError(`storage location must be a string, got ${describe(location)}`);
  const numel = int(count, `storage '${key}' size`);
  if (!legacy || view === null) return { type, key, numel, view: null };
  if (!(view instanceof PyTuple) || view.items.length !== 3 || typeof view.items[0] !== 'string') {
    throw new PthError(`storage '${key}': malformed view metadata ${describe(view)}`);
  }
  const v = { key: view.items[0], offset: int(view.items[1], 'storage view offset'), numel: int(view.items[2], 'storage view size') };
  if (v.offset + v.numel > numel) throw new PthError(`storage view '${v.key}' [${v.offset}, ${v.offset + v.numel}) lies outside storage '${key}' of ${numel} elements`);
  return { type, key, numel, view: v };
}
