import * as conv from './convKernels';
import * as coupling from './couplingKernels';
import * as glue from './glueKernels';
import * as pool from './poolKernels';
import * as products from './productKernels';
import { FuncBuilder, V128, moduleBytes } from './emit';
import type { ExportOf, Kernel, KernelFlavour } from './kernelSpec';

export type { KernelFlavour };

/*
 * The kernel table: every WebAssembly kernel of the engine, by name. The module exports them in this
 * order; a kernel's position is also its opcode for the helper threads (threads.ts), whose dispatcher and
 * control block, like the exports type below and the runner's checked calls, follow from the entries.
 * Adding a kernel = an entry here + its entry and body next to its kind (productKernels.ts: the matrix
 * products and Adam; couplingKernels.ts; convKernels.ts and poolKernels.ts: the backbone's steps;
 * glueKernels.ts: the flow step's glue).
 */
export const KERNELS = {
  nn: products.nn,
  nt: products.nt,
  adam: products.adam,
  affine: coupling.affine,
  affineBack: coupling.affineBack,
  reluMask: coupling.reluMask,
  im2col: conv.im2col,
  maxPool: conv.maxPool,
  maxPoolBack: conv.maxPoolBack,
  lrn: pool.lrn,
  maxPoolSame: pool.maxPoolSame,
  col2imAdd: conv.col2imAdd,
  gather: glue.gather,
  scatter: glue.scatter,
  clipCopy: glue.clipCopy,
  maskCopy: glue.maskCopy,
  addTo: glue.addTo,
  rowSums: glue.rowSums,
  scaleCopy: glue.scaleCopy,
};

export type KernelName = keyof typeof KERNELS;
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** The instance's exports: each kernel with its arguments in parameter order. */
export type GemmExports = { [N in KernelName]: ExportOf<(typeof KERNELS)[N]['params']> };

const PAGE = 65536;

export function gemmModuleBytes(memory: { initialPages: number; maximumPages: number; shared: boolean }, fl: KernelFlavour = { fma: false }): Uint8Array {
  return moduleBytes(
    KERNEL_NAMES.map((name) => ({ name, fn: KERNELS[name].build(fl) })),
    memory,
  );
}

/** Kernel `name` as text (parameters, locals, one instruction a line), for debugging. */
export function dumpKernel(name: KernelName, fl: KernelFlavour = { fma: false }): string {
  const k = KERNELS[name] as Kernel | undefined;
  if (!k) throw new Error(`no kernel "${String(name)}"; the kernels are ${KERNEL_NAMES.join(', ')}`);
  return `kernel ${name}${k.split ? '' : ' (one thread)'}\n${k.build(fl).listing()}`;
}

/** The kernels compiled against a memory of `bytes` bytes (shared, so threads can run them on it, when asked). */
export function gemmModule(bytes: number, shared: boolean, fl: KernelFlavour = bestFlavour()): { module: WebAssembly.Module; memory: WebAssembly.Memory } {
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
  const module = new WebAssembly.Module(gemmModuleBytes({ initialPages: pages, maximumPages: pages, shared }, fl) as BufferSource);
  return { module, memory };
}

export function instantiateGemm(module: WebAssembly.Module, memory: WebAssembly.Memory): GemmExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
}

/** Whether this engine runs relaxed SIMD (V8 11.4+: Chromium 114+, Node 21+; Node 20 with V8's flag, see node/wasmFeatures.ts). Elsewhere the kernels multiply, then add. */
export function relaxedSimdSupported(): boolean {
  const f = new FuncBuilder([V128, V128, V128]);
  f.get(f.param(0)).get(f.param(1)).get(f.param(2)).f32x4RelaxedMadd().drop();
  try {
    return WebAssembly.validate(moduleBytes([{ name: 'madd', fn: f }], { initialPages: 1, maximumPages: 1, shared: false }) as BufferSource);
  } catch {
    return false;
  }
}

export function bestFlavour(): KernelFlavour {
  return { fma: relaxedSimdSupported() };
}

/** Whether this engine runs WebAssembly SIMD (every current browser and Node >= 16 do). */
export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(gemmModuleBytes({ initialPages: 1, maximumPages: 1, shared: false }) as BufferSource);
  } catch {
    return false;
  }
}
