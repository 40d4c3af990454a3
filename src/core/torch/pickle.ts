// A restricted unpickler. It understands the opcodes that torch.save writes (protocols 2-5, plus the
// text opcodes protocol 2 still uses) and builds only inert values: numbers, strings, lists, tuples,
// dicts. Anything that Python would import or call goes through `PickleHooks`, whose implementation
// decides what is allowed; nothing from the file is ever executed, and every size read from the file
// is checked against the bytes that remain before anything is allocated.
import { ByteView, decodeUtf8 } from './bytes';
import { PthError } from './errors';

/** Base class of values created by hooks (allowed globals, storages, tensors): opaque to the unpickler. */
export abstract class PyObject {
  abstract describe(): string;
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** dict and OrderedDict alike: insertion order is kept, which is the state_dict's order. */
export class PyDict {
  readonly entries = new Map<PyKey, PyValue>();
}

/** set / frozenset, kept as a plain list: nothing here needs set semantics. */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}

export type PyKey = string | number | bigint | boolean | null;
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PySet | PyObject;

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: return a value standing for the global, or throw PthError to refuse it. */
  findGlobal(module: string, name: string): PyValue;
  /** REDUCE (callable(*args)) and NEWOBJ (cls.__new__(cls, *args)) on a value from findGlobal. */
  call(callable: PyValue, args: readonly PyValue[], how: 'REDUCE' | 'NEWOBJ'): PyValue;
  /** BUILD: apply `state` to `target` (setstate). */
  build(target: PyValue, state: PyValue): void;
  /** BINPERSID: resolve a persistent id (torch uses them for storages). */
  persistentLoad(pid: PyValue): PyValue;
}

/** Hooks for pickles that must be plain data (legacy headers, storage key lists). */
export const PLAIN_DATA_ONLY: PickleHooks = {
  findGlobal(module, name) {
    throw new PthError(`global '${module}.${name}' is not allowed in this part of the file (plain data expected)`);
  },
  call() {
    throw new PthError('calls are not allowed in this part of the file (plain data expected)');
  },
  build() {
    throw new PthError('BUILD is not allowed in this part of the file (plain data expected)');
  },
  persistentLoad() {
    throw new PthError('persistent ids are not allowed in this part of the file (plain data expected)');
  },
};

export interface PickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode: the legacy format puts the next pickle there. */
  end: number;
}

// Far above anything a state_dict needs, far below what would exhaust memory.
const MAX_STACK = 1 << 22;
const MAX_MARK_DEPTH = 1 << 16;
const MAX_MEMO = 1 << 22;
const MAX_LINE = 4096;
const MAX_LONG_BYTES = 1024;
const HIGHEST_PROTOCOL = 5;

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Why the opcodes we refuse are refused, for messages that tell the user something useful. */
const REFUSED: Record<number, string> = {
  0x50: 'text persistent ids are never written by torch.save',
  0x53: 'protocol-0 quoted strings are never written by torch.save',
  0x56: 'protocol-0 unicode strings are never written by torch.save',
  0x69: 'INST instantiates arbitrary classes',
  0x6f: 'OBJ instantiates arbitrary classes',
  0x82: 'the copyreg extension registry is not available',
  0x83: 'the copyreg extension registry is not available',
  0x84: 'the copyreg extension registry is not available',
  0x97: 'out-of-band buffers are not available',
  0x98: 'out-of-band buffers are not available',
};

/** A short, non-recursive description of a value for error messages. */
export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `int/float ${String(v)}`;
  if (typeof v === 'string') return `str '${v.length > 60 ? `${v.slice(0, 60)}…` : v}'`;
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (Array.isArray(v)) return `list (${v.length} items)`;
  if (v instanceof PyTuple) return `tuple (${v.items.length} items)`;
  if (v instanceof PyDict) return `dict (${v.entries.size} items)`;
  if (v instanceof PySet) return `set (${v.items.length} items)`;
  return v.describe();
}

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) n -= 1n << BigInt(8 * bytes.length);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * Unpickles one pickle starting at `start` in `bytes`. `label` names the pickle in error messages
 * (e.g. "data.pkl"); every error is a PthError naming the opcode and its offset.
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks, label: string): PickleResult {
  return new Unpickler(bytes, hooks, label).run(start);
}

class Unpickler {
  private readonly r: ByteView;
  private stack: PyValue[] = [];
  private readonly metastack: PyValue[][] = [];
  private readonly memo = new Map<number, PyValue>();
  private pos = 0;
  private opStart = 0;
  private op = 0;

  constructor(
    bytes: Uint8Array,
    private readonly hooks: PickleHooks,
    private readonly label: string,
  ) {
    this.r = new ByteView(bytes, label);
  }

  private where(): string {
    const name = OPCODE_NAMES[this.op] ?? `0x${this.op.toString(16).padStart(2, '0')}`;
    return `${name} at offset ${this.opStart}`;
  }

  private fail(message: string): PthError {
    return new PthError(`${this.label}: ${message} (${this.where()})`);
  }

  /** Hooks throw bare messages; this adds where in the pickle the refusal happened. */
  private hook<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof PthError && !e.message.startsWith('truncated')) throw this.fail(e.message);
      throw e;
    }
  }

  private push(v: PyValue): void {
    if (this.stack.length >= MAX_STACK) throw this.fail(`stack exceeds ${MAX_STACK} items`);
    this.stack.push(v);
  }

  private pop(): PyValue {
    if (this.stack.length === 0) throw this.fail('stack underflow (malformed pickle)');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length === 0) throw this.fail('stack underflow (malformed pickle)');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): PyValue[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) throw this.fail('no MARK on the stack (malformed pickle)');
    this.stack = prev;
    return items;
  }

  private take(n: number, field: string): Uint8Array {
    this.r.need(this.pos, n, `${field} (${this.where()})`);
    const out = this.r.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private u8(): number {
    const v = this.r.u8(this.pos, `argument of ${this.where()}`);
    this.pos += 1;
    return v;
  }

  private u16(): number {
    const v = this.r.u16(this.pos, `argument of ${this.where()}`);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    const v = this.r.u32(this.pos, `argument of ${this.where()}`);
    this.pos += 4;
    return v;
  }

  private i32(): number {
    const v = this.r.i32(this.pos, `argument of ${this.where()}`);
    this.pos += 4;
    return v;
  }

  private u64(): number {
    const v = this.r.u64(this.pos, `argument of ${this.where()}`);
    this.pos += 8;
    return v;
  }

  /** A length prefix is only believed once the bytes it announces are known to exist. */
  private sized(n: number): Uint8Array {
    if (n < 0) throw this.fail(`negative length ${n}`);
    return this.take(n, `${n}-byte payload`);
  }

  private line(): string {
    const bytes = this.r.bytes;
    const limit = Math.min(bytes.length, this.pos + MAX_LINE);
    let i = this.pos;
    while (i < limit && bytes[i] !== 0x0a) i++;
    if (i >= limit) {
      if (limit === bytes.length) this.r.need(this.pos, limit - this.pos + 1, `text line (${this.where()})`);
      throw this.fail(`text argument longer than ${MAX_LINE} bytes`);
    }
    const s = decodeUtf8(bytes.subarray(this.pos, i), `${this.label}: text argument of ${this.where()}`);
    this.pos = i + 1;
    return s;
  }

  private decimal(s: string): number | bigint {
    if (!/^[+-]?\d{1,300}$/.test(s)) throw this.fail(`malformed integer '${s.slice(0, 40)}'`);
    const n = BigInt(s);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }

  private memoIndex(s: string): number {
    const n = this.decimal(s);
    if (typeof n !== 'number' || n < 0) throw this.fail(`bad memo index '${s.slice(0, 40)}'`);
    return n;
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= MAX_MEMO) throw this.fail(`memo exceeds ${MAX_MEMO} entries`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw this.fail(`memo key ${index} was never stored (malformed pickle)`);
    this.push(this.memo.get(index) as PyValue);
  }

  private key(v: PyValue): PyKey {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
    throw this.fail(`unsupported dict key: ${describe(v)}`);
  }

  private setItems(dict: PyValue, items: PyValue[]): void {
    if (!(dict instanceof PyDict)) throw this.fail(`cannot set items on ${describe(dict)}`);
    if (items.length % 2 !== 0) throw this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) dict.entries.set(this.key(items[i]), items[i + 1]);
  }

  private appendItems(list: PyValue, items: PyValue[]): void {
    if (!Array.isArray(list)) throw this.fail(`cannot append to ${describe(list)}`);
    if (list.length + items.length > MAX_STACK) throw this.fail(`list exceeds ${MAX_STACK} items`);
    for (const it of items) list.push(it);
  }

  private global(module: string, name: string): void {
    this.push(this.hook(() => this.hooks.findGlobal(module, name)));
  }

  private call(how: 'REDUCE' | 'NEWOBJ', args: PyValue, callable: PyValue): void {
    if (!(args instanceof PyTuple)) throw this.fail(`${how} arguments must be a tuple, got ${describe(args)}`);
    this.push(this.hook(() => this.hooks.call(callable, args.items, how)));
  }

  run(start: number): PickleResult {
    this.pos = start;
    for (;;) {
      this.opStart = this.pos;
      this.op = this.r.u8(this.pos, 'next pickle opcode (no STOP yet)');
      this.pos += 1;
      switch (this.op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > HIGHEST_PROTOCOL) throw this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: { // FRAME: framing is only a read-ahead hint; the length must still fit
          const n = this.u64();
          this.r.need(this.pos, n, `${n}-byte frame (${this.where()})`);
          break;
        }
        case 0x2e: { // STOP
          const value = this.pop();
          return { value, end: this.pos };
        }
        case 0x28: // MARK
          if (this.metastack.length >= MAX_MARK_DEPTH) throw this.fail(`more than ${MAX_MARK_DEPTH} nested MARKs`);
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(decodeLong(this.sized(this.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n > MAX_LONG_BYTES) throw this.fail(`integer of ${n} bytes is too large`);
          this.push(decodeLong(this.sized(n)));
          break;
        }
        case 0x49: { // INT (text; "01"/"00" are protocol 0's True/False)
          const s = this.line();
          this.push(s === '01' ? true : s === '00' ? false : this.decimal(s));
          break;
        }
        case 0x4c: this.push(this.decimal(this.line().replace(/L$/, ''))); break; // LONG (text)
        case 0x46: { // FLOAT (text)
          const s = this.line();
          const v = Number(s);
          if (s.trim() === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(s.trim()))) throw this.fail(`malformed float '${s.slice(0, 40)}'`);
          this.push(v);
          break;
        }
        case 0x47: { // BINFLOAT
          const v = this.r.f64be(this.pos, `argument of ${this.where()}`);
          this.pos += 8;
          this.push(v);
          break;
        }
        case 0x58: this.push(decodeUtf8(this.sized(this.u32()), `${this.label}: ${this.where()}`)); break; // BINUNICODE
        case 0x8c: this.push(decodeUtf8(this.sized(this.u8()), `${this.label}: ${this.where()}`)); break; // SHORT_BINUNICODE
        case 0x8d: this.push(decodeUtf8(this.sized(this.u64()), `${this.label}: ${this.where()}`)); break; // BINUNICODE8
        // Python 2 str: torch.load decodes it as UTF-8 text, so do we.
        case 0x54: this.push(decodeUtf8(this.sized(this.i32()), `${this.label}: ${this.where()}`)); break; // BINSTRING
        case 0x55: this.push(decodeUtf8(this.sized(this.u8()), `${this.label}: ${this.where()}`)); break; // SHORT_BINSTRING
        // Copies, so that values never alias the caller's buffer.
        case 0x42: this.push(this.sized(this.u32()).slice()); break; // BINBYTES
        case 0x43: this.push(this.sized(this.u8()).slice()); break; // SHORT_BINBYTES
        case 0x8e: this.push(this.sized(this.u64()).slice()); break; // BINBYTES8
        case 0x96: this.push(this.sized(this.u64()).slice()); break; // BYTEARRAY8
        case 0x7d: this.push(new PyDict()); break; // EMPTY_DICT
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x8f: this.push(new PySet([])); break; // EMPTY_SET
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x74: this.push(new PyTuple(this.popMark())); break; // TUPLE
        case 0x91: this.push(new PySet(this.popMark())); break; // FROZENSET
        case 0x85: this.push(new PyTuple([this.pop()])); break; // TUPLE1
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b, c]));
          break;
        }
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const set = this.top();
          if (!(set instanceof PySet)) throw this.fail(`cannot add items to ${describe(set)}`);
          if (set.items.length + items.length > MAX_STACK) throw this.fail(`set exceeds ${MAX_STACK} items`);
          for (const it of items) set.items.push(it);
          break;
        }
        case 0x71: this.put(this.u8()); break; // BINPUT
        case 0x72: this.put(this.u32()); break; // LONG_BINPUT
        case 0x70: this.put(this.memoIndex(this.line())); break; // PUT
        case 0x94: this.put(this.memo.size); break; // MEMOIZE
        case 0x68: this.get(this.u8()); break; // BINGET
        case 0x6a: this.get(this.u32()); break; // LONG_BINGET
        case 0x67: this.get(this.memoIndex(this.line())); break; // GET
        case 0x63: { // GLOBAL
          const module = this.line();
          const name = this.line();
          this.global(module, name);
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw this.fail('STACK_GLOBAL needs two strings');
          this.global(module, name);
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.call('REDUCE', args, callable);
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.call('NEWOBJ', args, cls);
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof PyDict) || kwargs.entries.size > 0) throw this.fail('keyword arguments are not supported');
          this.call('NEWOBJ', args, cls);
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const target = this.top();
          this.hook(() => this.hooks.build(target, state));
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop();
          this.push(this.hook(() => this.hooks.persistentLoad(pid)));
          break;
        }
        default: {
          const why = REFUSED[this.op];
          if (why !== undefined) throw this.fail(`unsupported pickle opcode: ${why}`);
          throw this.fail(`unknown pickle opcode 0x${this.op.toString(16).padStart(2, '0')}`);
        }
      }
    }
  }
}
