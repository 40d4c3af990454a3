import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS, KERNEL_NAMES, dumpKernel, gemmModule, instantiateGemm, type KernelName } from './gemmKernels';
import { F32, I32 } from './emit';
import { GemmRunner, HELPER_SOURCE } from './threads';
import { nodeThreadSpawner } from '../node/threads';

// The kernel table is the one description of each kernel: the module's exports, the helpers' dispatcher and
// the runner's checks follow from it. These tests hold each of them to the table, and the shape rules to
// their promise: a bad shape throws, naming the kernel, before any memory is written.

describe('the kernel table', () => {
  const { module, memory } = gemmModule(1 << 16, false);
  const exports = instantiateGemm(module, memory) as unknown as Record<string, (...a: number[]) => void>;

  it('the module exports every kernel, in table order, with its parameter count', () => {
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual(KERNEL_NAMES);
    for (const name of KERNEL_NAMES) expect([name, exports[name].length]).toEqual([name, KERNELS[name].params.length]);
  });

  it('the helpers call every split kernel with its ints from the control block and its floats after them', () => {
    for (const name of KERNEL_NAMES) {
      const k = KERNELS[name];
      const line = HELPER_SOURCE.split('\n').find((l) => l.includes(` k.${name}(`));
      if (!k.split) {
        expect(line, `${name} runs on one thread: no dispatch`).toBeUndefined();
        continue;
      }
      let [ints, floats] = [0, 0];
      const want = k.types.map((t) => (t === I32 ? `ctl[a + ${ints++}]` : `fl[${floats++}]`)).join(', ');
      expect(line).toContain(`k.${name}(${want});`);
    }
    // affineBack's two floats follow nine ints; nn's fourteen ints are the most.
    expect(KERNELS.affineBack.types.filter((t) => t === F32)).toHaveLength(2);
    expect(HELPER_SOURCE).toContain('ctl[a + 13]');
  });
});

describe('dumpKernel', () => {
  it('lists a kernel\'s parameters, named locals and instructions, blocks indented and closed', () => {
    const text = dumpKernel('reluMask');
    const lines = text.split('\n');
    expect(lines[0]).toBe('kernel reluMask (one thread)');
    expect(lines[1]).toBe('params h: i32, d: i32, n: i32');
    expect(lines[2]).toBe('locals q: i32, end: i32');
    expect(lines).toContain('  local.get n');
    expect(lines).toContain('  block');
    expect(lines).toContain('    loop');
    expect(text).toMatch(/\n {6}f32x4\.gt\n/);
    expect(text).toContain('v128.store');
    const opened = lines.filter((l) => /^\s+(block|loop|if)$/.test(l)).length;
    expect(lines.filter((l) => /^\s+end$/.test(l)).length).toBe(opened);
  });

  it('shows the flavour: fused multiply-adds only where asked', () => {
    expect(dumpKernel('nn', { fma: true })).toContain('f32x4.relaxed_madd');
    expect(dumpKernel('nn', { fma: false })).not.toContain('f32x4.relaxed_madd');
    expect(dumpKernel('adam')).toMatch(/params p: i32, .*invSqrtBc2: f32/);
  });

  it('names the kernels when asked for one that does not exist', () => {
    expect(() => dumpKernel('nope' as KernelName)).toThrow(/no kernel "nope"; the kernels are nn, nt, adam/);
  });
});

describe('the runner checks shapes before touching memory', () => {
  let run: GemmRunner;
  const sentinel = 3.25;
  beforeAll(async () => {
    run = await GemmRunner.create(1 << 20, 1, nodeThreadSpawner);
  });
  afterAll(() => run?.dispose());

  const cases: [string, () => void, RegExp][] = [
    ['nn over 12 columns', () => run.nn(0, 4, 1, 1024, 12, 4096, 12, 4, 12, 4), /kernel nn: j1 - j0 must be a non-negative multiple of 8/],
    ['nt with k = 6', () => run.nt(0, 6, 1024, 6, 4096, 4, 4, 4, 6), /kernel nt: k must be a multiple of 4/],
    ['Adam over 6 floats', () => run.adam(0, 64, 128, 192, 6, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, rate: 1e-3, invSqrtBc2: 1 }), /kernel adam: n must be a multiple of 4/],
    ['a max pool of 6 channels', () => run.maxPool(0, 5, 5, 6, 2, 2, 4096), /kernel maxPool: runs on whole groups of 4 channels; c = 6/],
    ['an im2col with a 0 x 0 kernel', () => run.im2col(0, 5, 5, 4, 0, 1, 0, 5, 5, 4096), /kernel im2col: k must be positive/],
    ['a pool backward with stride 2 and offset 1', () => run.kernels.maxPoolBack(0, 5, 4, 2, 1, 2, 1024, 4096), /kernel maxPoolBack: stride and offset must be 2 and 0, or 1 and 1/],
    ['a coupling over 6 floats a row', () => run.affine(0, 512, 1024, 1536, 2048, 6, 2, 3, 2), /kernel affine: l must be a multiple of 4/],
    ['a fractional row count', () => run.affine(0, 512, 1024, 1536, 2048, 8, 2.5, 3, 2), /kernel affine: r1 must be a non-negative 32-bit integer, not 2.5/],
    ['a negative pointer', () => run.kernels.addTo(-4, 0, 4), /kernel addTo: dst must be a non-negative 32-bit integer, not -4/],
    ['a reversed range', () => run.kernels.maxPoolSame(0, 4, 4, 4, 1024, 3, 1), /kernel maxPoolSame: r0 = 3 is past r1 = 1/],
  ];
  for (const [what, call, message] of cases) {
    it(`${what} throws, memory untouched`, () => {
      run.f32.fill(sentinel, 0, 2048);
      expect(call).toThrow(message);
      expect(run.f32.subarray(0, 2048).every((v) => v === sentinel)).toBe(true);
    });
  }

  it('the positional calls derived from the table compute what the raw exports do', () => {
    const { module, memory } = gemmModule(1 << 16, false);
    const raw = instantiateGemm(module, memory);
    const plain = new Float32Array(memory.buffer);
    for (const f32 of [run.f32, plain]) for (let i = 0; i < 64; i++) f32[i] = Math.sin(i) * 3;
    run.kernels.scaleCopy(0, 512, 32, 0.3);
    raw.scaleCopy(0, 512, 32, 0.3);
    run.kernels.reluMask(0, 512, 32);
    raw.reluMask(0, 512, 32);
    expect(Array.from(run.f32.subarray(128, 160))).toEqual(Array.from(plain.subarray(128, 160)));
  });
});
