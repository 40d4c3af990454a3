import { F32, F64, FuncBuilder, I32, type Local, type ValType } from './emit';

/*
 * A kernel described as data: its named, typed parameters, how helper threads share a call, and the shape
 * rules its body relies on, next to the body itself. gemmKernels.ts gathers the entries into one table, from
 * which the module's function signatures, the exports type, the helper threads' dispatcher and the runner's
 * checked calls (threads.ts) all follow.
 *
 * Parameters are written 'name' for an i32 (pointers are byte offsets, sizes count floats), 'name:f32' or
 * 'name:f64' for floats.
 */

export type ParamSpec = string;
type NameOf<S extends ParamSpec> = S extends `${infer N}:${string}` ? N : S;
type KindOf<S extends ParamSpec> = S extends `${string}:f32` ? typeof F32 : S extends `${string}:f64` ? typeof F64 : typeof I32;

/** A call's arguments by parameter name. */
export type ArgsOf<P extends readonly ParamSpec[]> = { [S in P[number] as NameOf<S>]: number };
/** The parameters as typed locals of the body being built. */
export type ParamsOf<P extends readonly ParamSpec[]> = { [S in P[number] as NameOf<S>]: Local<KindOf<S>> };
/** The exported function: its arguments in parameter order. */
export type ExportOf<P extends readonly ParamSpec[]> = (...args: { [I in keyof P]: number }) => void;

/**
 * How the products multiply and add: fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd, one FMA
 * instruction on CPUs that have one: x86 with FMA3, 64-bit ARM) where the engine has relaxed SIMD, else a
 * multiply then an add. On this machine's flow shapes the fused kernels ran 1.5-1.8x faster.
 * relaxed_madd may round once or twice depending on the hardware, so floats can differ between machines
 * in the last bit; one machine is deterministic, and the parity tests hold with either.
 */
export interface KernelFlavour {
  fma: boolean;
}

/**
 * How helper threads share one call: `extent` units of work (rows, columns, floats), cut in parts that are
 * multiples of `unit`; `part` gives the arguments that compute [lo, hi) of them. Where `whole` says so
 * for a call's arguments, one thread runs it (e.g. copies that would spill into another part's bytes).
 */
export interface Split<A> {
  unit: number;
  extent(a: A): number;
  part(a: A, lo: number, hi: number): A;
  whole?(a: A): boolean;
}

/** A shape rule: the message when `a` breaks it, else undefined. */
export type Rule<A> = (a: A) => string | undefined;

export interface KernelDef<P extends readonly ParamSpec[]> {
  params: P;
  /** Absent: the call runs on the calling thread only (overlapping writes, or shorter than a hand-off). */
  split?: Split<ArgsOf<P>>;
  rules?: readonly Rule<ArgsOf<P>>[];
  /** Writes the body; `fl` matters only to the products. */
  emit(f: FuncBuilder, p: ParamsOf<P>, fl: KernelFlavour): void;
}

/** A table entry, with its parameters parsed once. */
export interface Kernel<P extends readonly ParamSpec[] = readonly ParamSpec[]> extends KernelDef<P> {
  names: readonly string[];
  types: readonly ValType[];
  /** The body, built for one flavour. */
  build(fl: KernelFlavour): FuncBuilder;
}

export function kernel<const P extends readonly ParamSpec[]>(def: KernelDef<P>): Kernel<P> {
  const parsed = def.params.map((s) => {
    const [name, kind = 'i32'] = s.split(':');
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new Error(`kernel parameter "${s}": the name must be an identifier`);
    const type = ({ i32: I32, f32: F32, f64: F64 } as Record<string, ValType | undefined>)[kind];
    if (type === undefined) throw new Error(`kernel parameter "${s}": the type must be i32, f32 or f64`);
    return { name, type };
  });
  const names = parsed.map((p) => p.name);
  if (new Set(names).size !== names.length) throw new Error(`kernel parameters ${names.join(', ')}: a name appears twice`);
  const types = parsed.map((p) => p.type);
  return {
    ...def,
    names,
    types,
    build(fl) {
      const f = new FuncBuilder([...types], names);
      const locals = Object.fromEntries(names.map((n, i) => [n, f.param(i)])) as ParamsOf<P>;
      def.emit(f, locals, fl);
      return f;
    },
  };
}

/** Splits by the range [lo, hi) that two parameters give (rows r0..r1, columns j0..j1), in multiples of `unit`. */
export function rangeSplit<L extends string, H extends string>(lo: L, hi: H, unit = 1) {
  return {
    unit,
    extent: (a: Record<L | H, number>) => a[hi] - a[lo],
    part: <A extends Record<L | H, number>>(a: A, from: number, to: number): A => ({ ...a, [lo]: a[lo] + from, [hi]: a[lo] + to }),
  };
}

/** The rule that `param` is a multiple of `n`, saying what the kernel needs it for. */
export function multipleOf<A extends Record<string, number>>(param: keyof A & string, n: number, why: string): Rule<A> {
  return (a) => (a[param] % n === 0 ? undefined : `${param} must be a multiple of ${n} (${why}), not ${a[param]}`);
}

/** The rule that `param` counts whole groups of 4 channels (the kernel moves 16 bytes at a time). */
export function channelGroups<A extends Record<string, number>>(param: keyof A & string): Rule<A> {
  return (a) => (a[param] % 4 === 0 ? undefined : `runs on whole groups of 4 channels; ${param} = ${a[param]} is not a multiple of 4`);
}

export function positive<A extends Record<string, number>>(param: keyof A & string): Rule<A> {
  return (a) => (a[param] > 0 ? undefined : `${param} must be positive, not ${a[param]}`);
}

/** The rule that the range [lo, hi) is not reversed. */
export function ordered<A extends Record<string, number>>(lo: keyof A & string, hi: keyof A & string): Rule<A> {
  return (a) => (a[lo] <= a[hi] ? undefined : `${lo} = ${a[lo]} is past ${hi} = ${a[hi]}`);
}
