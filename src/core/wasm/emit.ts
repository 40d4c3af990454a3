// A minimal WebAssembly binary writer: enough to emit the flow's kernels (products, couplings, Adam) at run
// time, so the engine needs no compiler toolchain at build time and no generated binary in the repository.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type I32 = typeof I32;
export type F32 = typeof F32;
export type F64 = typeof F64;
export type V128 = typeof V128;
export type ValType = I32 | F32 | F64 | V128;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

declare const localType: unique symbol;
/**
 * A parameter or local of a function being built. Branded with its value type so that a raw number (an
 * index counted by hand, which drifts when a parameter is added) cannot stand in for one.
 */
export type Local<T extends ValType = ValType> = number & { readonly [localType]: T };

const TYPE_NAMES: Record<ValType, string> = { [I32]: 'i32', [F32]: 'f32', [F64]: 'f64', [V128]: 'v128' };

/**
 * The body of one function: its locals after its parameters, and the instructions that use them. Every
 * instruction is also written to a text listing (see `listing`), so that a kernel can be read while debugging.
 */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];
  private readonly names: string[];
  private readonly lines: string[] = [];
  private depth = 1;

  constructor(readonly params: ValType[], paramNames: readonly string[] = params.map((_, i) => `p${i}`)) {
    if (paramNames.length !== params.length) throw new Error(`${params.length} parameters but ${paramNames.length} names`);
    this.names = [...paramNames];
  }

  /** Parameter `i` (in declaration order). */
  param<T extends ValType = ValType>(i: number): Local<T> {
    if (!(i >= 0 && i < this.params.length)) throw new Error(`no parameter ${i}: the function has ${this.params.length}`);
    return i as Local<T>;
  }

  /** A new local; `name` shows in the listing. */
  local<T extends ValType>(type: T, name?: string): Local<T> {
    this.locals.push(type);
    const index = this.params.length + this.locals.length - 1;
    this.names.push(name ?? `l${index}`);
    return index as Local<T>;
  }

  /** The name a parameter or local shows in the listing. */
  nameOf(l: Local): string {
    return this.names[l];
  }

  /** One new local of `type` per name. */
  localsOf<T extends ValType>(type: T, ...names: string[]): Local<T>[] {
    return names.map((n) => this.local(type, n));
  }

  /** The function as text: its parameters, its locals and one instruction a line, blocks indented. */
  listing(): string {
    const decl = (from: number, types: readonly ValType[]) => types.map((t, i) => `${this.names[from + i]}: ${TYPE_NAMES[t]}`).join(', ');
    return [`params ${decl(0, this.params)}`, `locals ${decl(this.params.length, this.locals)}`, ...this.lines].join('\n');
  }

  private ins(text: string, bytes: number[]): this {
    this.code.push(...bytes);
    this.lines.push('  '.repeat(this.depth) + text);
    return this;
  }
  private plain(text: string, opcode: number): this {
    return this.ins(text, [opcode]);
  }
  private withIndex(text: string, opcode: number, i: number): this {
    const bytes = [opcode];
    uleb(i, bytes);
    return this.ins(text, bytes);
  }
  private simd(text: string, opcode: number, ...imm: number[]): this {
    const bytes = [0xfd];
    uleb(opcode, bytes);
    return this.ins(text, [...bytes, ...imm]);
  }
  /** memarg: alignment hint 0 (any address), offset in bytes. */
  private memory(text: string, prefix: number[], offset: number): this {
    const bytes = [...prefix, 0];
    uleb(offset, bytes);
    return this.ins(offset ? `${text} offset=${offset}` : text, bytes);
  }
  private simdMemory(text: string, opcode: number, offset: number): this {
    const prefix = [0xfd];
    uleb(opcode, prefix);
    return this.memory(text, prefix, offset);
  }
  private v128Bytes(text: string, lanes: Uint8Array): this {
    return this.simd(text, 0x0c, ...lanes);
  }

  get(l: Local): this { return this.withIndex(`local.get ${this.names[l]}`, 0x20, l); }
  set(l: Local): this { return this.withIndex(`local.set ${this.names[l]}`, 0x21, l); }
  i32(v: number): this {
    const bytes = [0x41];
    sleb(v, bytes);
    return this.ins(`i32.const ${v}`, bytes);
  }

  drop(): this { return this.plain('drop', 0x1a); }
  /** select(a, b, cond): a where cond is non-zero, else b. */
  select(): this { return this.plain('select', 0x1b); }
  eqz(): this { return this.plain('i32.eqz', 0x45); }
  ltS(): this { return this.plain('i32.lt_s', 0x48); }
  ltU(): this { return this.plain('i32.lt_u', 0x49); }
  gtS(): this { return this.plain('i32.gt_s', 0x4a); }
  geU(): this { return this.plain('i32.ge_u', 0x4f); }
  add(): this { return this.plain('i32.add', 0x6a); }
  sub(): this { return this.plain('i32.sub', 0x6b); }
  mul(): this { return this.plain('i32.mul', 0x6c); }
  divU(): this { return this.plain('i32.div_u', 0x6e); }
  and(): this { return this.plain('i32.and', 0x71); }
  shl(): this { return this.plain('i32.shl', 0x74); }
  shrU(): this { return this.plain('i32.shr_u', 0x76); }
  f32Le(): this { return this.plain('f32.le', 0x5f); }
  f32Ge(): this { return this.plain('f32.ge', 0x60); }
  f32Neg(): this { return this.plain('f32.neg', 0x8c); }
  f32Add(): this { return this.plain('f32.add', 0x92); }
  f32Min(): this { return this.plain('f32.min', 0x96); }
  f32Max(): this { return this.plain('f32.max', 0x97); }
  f64Add(): this { return this.plain('f64.add', 0xa0); }
  f64Mul(): this { return this.plain('f64.mul', 0xa2); }
  f32ConvertI32S(): this { return this.plain('f32.convert_i32_s', 0xb2); }
  f32DemoteF64(): this { return this.plain('f32.demote_f64', 0xb6); }
  f64PromoteF32(): this { return this.plain('f64.promote_f32', 0xbb); }
  i32Load(offset = 0): this { return this.memory('i32.load', [0x28], offset); }
  f32Load(offset = 0): this { return this.memory('f32.load', [0x2a], offset); }
  f64Load(offset = 0): this { return this.memory('f64.load', [0x2b], offset); }
  f32Store(offset = 0): this { return this.memory('f32.store', [0x38], offset); }
  f64Store(offset = 0): this { return this.memory('f64.store', [0x39], offset); }
  f32Const(v: number): this {
    return this.ins(`f32.const ${Math.fround(v)}`, [0x43, ...new Uint8Array(new Float32Array([v]).buffer)]);
  }
  f64Const(v: number): this {
    return this.ins(`f64.const ${v}`, [0x44, ...new Uint8Array(new Float64Array([v]).buffer)]);
  }
  v128Load(offset = 0): this { return this.simdMemory('v128.load', 0x00, offset); }
  /** A float32 from memory in all four lanes (one broadcast load). */
  v128Load32Splat(offset = 0): this { return this.simdMemory('v128.load32_splat', 0x09, offset); }
  v128Store(offset = 0): this { return this.simdMemory('v128.store', 0x0b, offset); }
  /** relaxed_madd(a, b, c) = a b + c, fused or not as the hardware does it (relaxed SIMD). */
  f32x4RelaxedMadd(): this { return this.simd('f32x4.relaxed_madd', 0x105); }
  v128Zero(): this { return this.v128Bytes('v128.const 0', new Uint8Array(16)); }
  f32x4Splat(): this { return this.simd('f32x4.splat', 0x13); }
  f32x4Lane(lane: number): this { return this.simd(`f32x4.extract_lane ${lane}`, 0x1f, lane); }
  f32x4Add(): this { return this.simd('f32x4.add', 0xe4); }
  f32x4Sub(): this { return this.simd('f32x4.sub', 0xe5); }
  f32x4Mul(): this { return this.simd('f32x4.mul', 0xe6); }
  f32x4Div(): this { return this.simd('f32x4.div', 0xe7); }
  f32x4Sqrt(): this { return this.simd('f32x4.sqrt', 0xe3); }
  /** pmax(a, b) = a < b ? b : a, so pmax(0, NaN) is 0 like JS's x > 0 ? x : 0. */
  f32x4Pmax(): this { return this.simd('f32x4.pmax', 0xeb); }
  f32x4Abs(): this { return this.simd('f32x4.abs', 0xe0); }
  /** Lanes all ones where a > b, zeros elsewhere (false for NaN). */
  f32x4Gt(): this { return this.simd('f32x4.gt', 0x44); }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this { return this.simd('f32x4.nearest', 0x6a); }
  i32x4TruncSatF32x4S(): this { return this.simd('i32x4.trunc_sat_f32x4_s', 0xf8); }
  i32x4Add(): this { return this.simd('i32x4.add', 0xae); }
  /** Lanes all ones where a < b as unsigned integers (so a negative a is never below). */
  i32x4LtU(): this { return this.simd('i32x4.lt_u', 0x3a); }
  /** Shift each lane left by an i32 count. */
  i32x4Shl(): this { return this.simd('i32x4.shl', 0xab); }
  /** Four copies of an i32. */
  i32x4Splat(): this { return this.simd('i32x4.splat', 0x11); }
  /** One int32 lane of a vector. */
  i32x4Lane(lane: number): this { return this.simd(`i32x4.extract_lane ${lane}`, 0x1b, lane); }
  v128And(): this { return this.simd('v128.and', 0x4e); }
  v128Or(): this { return this.simd('v128.or', 0x50); }
  /** bitselect(a, b, mask): a's bits where mask is 1, b's elsewhere. */
  v128Bitselect(): this { return this.simd('v128.bitselect', 0x52); }
  /** Four copies of the float32 nearest `v`. */
  f32x4Const(v: number): this {
    return this.v128Bytes(`f32x4.const ${Math.fround(v)} x4`, new Uint8Array(new Float32Array([v, v, v, v]).buffer));
  }
  /** The int32 lanes `v`. */
  i32x4Lanes(v: [number, number, number, number]): this {
    return this.v128Bytes(`i32x4.const ${v.join(' ')}`, new Uint8Array(new Int32Array(v).buffer));
  }
  /** Four copies of the int32 `v`. */
  i32x4Const(v: number): this {
    return this.v128Bytes(`i32x4.const ${v} x4`, new Uint8Array(new Int32Array([v, v, v, v]).buffer));
  }

  private nested(open: string, bytes: number[], body: () => void): this {
    this.ins(open, bytes);
    this.depth++;
    body();
    this.depth--;
    return this.ins('end', [0x0b]);
  }

  /** if (top of stack) { then } else { otherwise } */
  ifElse(then: () => void, otherwise?: () => void): this {
    return this.nested('if', [0x04, 0x40], () => {
      then();
      if (otherwise) {
        this.depth--;
        this.ins('else', [0x05]);
        this.depth++;
        otherwise();
      }
    });
  }

  /** `block` … `end`; br 0 inside leaves it. */
  block(body: () => void): this { return this.nested('block', [0x02, 0x40], body); }
  /** `loop` … `end`; br 0 inside starts it again. */
  loop(body: () => void): this { return this.nested('loop', [0x03, 0x40], body); }
  brIf(depth: number): this { return this.withIndex(`br_if ${depth}`, 0x0d, depth); }
  br(depth: number): this { return this.withIndex(`br ${depth}`, 0x0c, depth); }

  /** while (cond) { body } with cond leaving an i32 on the stack. */
  while(cond: () => void, body: () => void): this {
    return this.block(() =>
      this.loop(() => {
        cond();
        this.eqz();
        this.brIf(1);
        body();
        this.br(0);
      }),
    );
  }

  /** for (q = 0; q < end; q += step) { body }: a loop over 16-byte chunks (or `step`-byte ones), q and end locals (bytes). */
  chunks(q: Local<I32>, end: Local<I32>, body: () => void, step = 16): this {
    this.i32(0).set(q);
    return this.while(
      () => this.get(q).get(end).ltU(),
      () => {
        body();
        this.get(q).i32(step).add().set(q);
      },
    );
  }

  bytes(): number[] {
    const out: number[] = [];
    // Locals are declared one group per local: simple, and these functions have few.
    uleb(this.locals.length, out);
    for (const t of this.locals) out.push(1, t);
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return [...sized, ...out];
  }
}

export interface ExportedFunc {
  name: string;
  fn: FuncBuilder;
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

/** A module that imports its memory as env.memory (shared when `shared`) and exports `funcs`, none returning a value. */
export function moduleBytes(funcs: ExportedFunc[], memory: { initialPages: number; maximumPages: number; shared: boolean }): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(funcs.length, types);
  for (const f of funcs) {
    types.push(0x60);
    uleb(f.fn.params.length, types);
    types.push(...f.fn.params);
    types.push(0);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, memory.shared ? 0x03 : 0x01);
  uleb(memory.initialPages, imports);
  uleb(memory.maximumPages, imports);
  section(2, imports, out);
  const fsec: number[] = [];
  uleb(funcs.length, fsec);
  funcs.forEach((_, i) => uleb(i, fsec));
  section(3, fsec, out);
  const exps: number[] = [];
  uleb(funcs.length, exps);
  funcs.forEach((f, i) => {
    name(f.name, exps);
    exps.push(0x00);
    uleb(i, exps);
  });
  section(7, exps, out);
  const code: number[] = [];
  uleb(funcs.length, code);
  for (const f of funcs) code.push(...f.fn.bytes());
  section(10, code, out);
  return new Uint8Array(out);
}
