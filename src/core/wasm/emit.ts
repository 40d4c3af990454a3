// A minimal WebAssembly binary writer: enough to emit the flow's kernels (products, couplings, Adam) at run
// time, so the engine needs no compiler toolchain at build time and no generated binary in the repository.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

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

/** The body of one function: its locals after its parameters, and the instructions that use them. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly params: ValType[]) {}

  /** A new local's index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41);
    sleb(v, this.code);
    return this;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  private simd(opcode: number, ...imm: number[]): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    this.code.push(...imm);
    return this;
  }
  /** memarg: alignment hint 0 (any address), offset in bytes. */
  private memarg(offset: number): number[] {
    const m: number[] = [0];
    uleb(offset, m);
    return m;
  }

  add(): this { return this.op(0x6a); }
  mul(): this { return this.op(0x6c); }
  shl(): this { return this.op(0x74); }
  ltU(): this { return this.op(0x49); }
  geU(): this { return this.op(0x4f); }
  f32Load(offset = 0): this { return this.op(0x2a, ...this.memarg(offset)); }
  f32Store(offset = 0): this { return this.op(0x38, ...this.memarg(offset)); }
  f32Add(): this { return this.op(0x92); }
  f32Min(): this { return this.op(0x96); }
  f32Max(): this { return this.op(0x97); }
  f32Ge(): this { return this.op(0x60); }
  f32Le(): this { return this.op(0x5f); }
  f32Neg(): this { return this.op(0x8c); }
  f32DemoteF64(): this { return this.op(0xb6); }
  f64PromoteF32(): this { return this.op(0xbb); }
  f64Add(): this { return this.op(0xa0); }
  f64Mul(): this { return this.op(0xa2); }
  f64Load(offset = 0): this { return this.op(0x2b, ...this.memarg(offset)); }
  f64Store(offset = 0): this { return this.op(0x39, ...this.memarg(offset)); }
  i32Load(offset = 0): this { return this.op(0x28, ...this.memarg(offset)); }
  and(): this { return this.op(0x71); }
  /** select(a, b, cond): a where cond is non-zero, else b. */
  select(): this { return this.op(0x1b); }
  f32Const(v: number): this {
    return this.op(0x43, ...new Uint8Array(new Float32Array([v]).buffer));
  }
  f64Const(v: number): this {
    return this.op(0x44, ...new Uint8Array(new Float64Array([v]).buffer));
  }
  v128Load(offset = 0): this { return this.simd(0x00, ...this.memarg(offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, ...this.memarg(offset)); }
  /** A float32 from memory in all four lanes (one broadcast load). */
  v128Load32Splat(offset = 0): this { return this.simd(0x09, ...this.memarg(offset)); }
  /** relaxed_madd(a, b, c) = a b + c, fused or not as the hardware does it (relaxed SIMD). */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  v128Zero(): this { return this.simd(0x0c, ...new Array<number>(16).fill(0)); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4Lane(lane: number): this { return this.simd(0x1f, lane); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Sqrt(): this { return this.simd(0xe3); }
  /** pmax(a, b) = a < b ? b : a, so pmax(0, NaN) is 0 like JS's x > 0 ? x : 0. */
  f32x4Pmax(): this { return this.simd(0xeb); }
  f32x4Abs(): this { return this.simd(0xe0); }
  /** Lanes all ones where a > b, zeros elsewhere (false for NaN). */
  f32x4Gt(): this { return this.simd(0x44); }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this { return this.simd(0x6a); }
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }
  i32x4Add(): this { return this.simd(0xae); }
  /** Lanes all ones where a < b as unsigned integers (so a negative a is never below). */
  i32x4LtU(): this { return this.simd(0x3a); }
  /** Shift each lane left by an i32 count. */
  i32x4Shl(): this { return this.simd(0xab); }
  /** Four copies of an i32. */
  i32x4Splat(): this { return this.simd(0x11); }
  /** One int32 lane of a vector. */
  i32x4Lane(lane: number): this { return this.simd(0x1b, lane); }
  v128And(): this { return this.simd(0x4e); }
  v128Or(): this { return this.simd(0x50); }
  /** bitselect(a, b, mask): a's bits where mask is 1, b's elsewhere. */
  v128Bitselect(): this { return this.simd(0x52); }
  /** Four copies of the float32 nearest `v`. */
  f32x4Const(v: number): this {
    const lanes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    return this.simd(0x0c, ...lanes);
  }
  /** The int32 lanes `v`. */
  i32x4Lanes(v: [number, number, number, number]): this {
    return this.simd(0x0c, ...new Uint8Array(new Int32Array(v).buffer));
  }
  /** Four copies of the int32 `v`. */
  i32x4Const(v: number): this {
    const lanes = new Uint8Array(new Int32Array([v, v, v, v]).buffer);
    return this.simd(0x0c, ...lanes);
  }

  /** if (top of stack) { then } else { otherwise } */
  ifElse(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
    return this;
  }

  /** `block` … `end`; br 0 inside leaves it. */
  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  /** `loop` … `end`; br 0 inside starts it again. */
  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }

  /** while (cond) { body } with cond leaving an i32 on the stack. */
  while(cond: () => void, body: () => void): this {
    return this.block(() =>
      this.loop(() => {
        cond();
        this.op(0x45); // i32.eqz
        this.brIf(1);
        body();
        this.br(0);
      }),
    );
  }

  /** for (q = 0; q < end; q += step) { body }: a loop over 16-byte chunks (or `step`-byte ones), q and end locals (bytes). */
  chunks(q: number, end: number, body: () => void, step = 16): this {
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
