import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Flow } from './flow';
import { HostFlow, hostFlowSupported } from './hostFlow';
import { readReference, readShared } from '../../../test/support/shared';
import { fidelityFixtures, type FidelityManifest } from '../../../test/support/fixtures';
import { leakedTensors, setupTf, tf } from '../../../test/support/tf';
import { readPth, type StateDict } from '../torch';
import { PAPER_ADAM } from '../train/adamConfig';
import { trainFlow, type FlowTrainOptions } from '../train/trainFlow';
import type { FeatureBank } from '../train/featureBank';
import { GemmRunner, type ThreadSpawner } from '../wasm/threads';
import { nodeThreadSpawner } from '../node/threads';

beforeAll(setupTf);

const ref = readReference().flow;

/** Worst difference over the largest magnitude, per tensor of a state dict. */
function worstRel(a: StateDict, b: StateDict): number {
  let worst = 0;
  for (const [key, t] of a) {
    const u = b.get(key)!.data;
    let d = 0;
    let s = 0;
    for (let i = 0; i < t.data.length; i++) {
      d = Math.max(d, Math.abs(t.data[i] - u[i]));
      s = Math.max(s, Math.abs(u[i]));
    }
    worst = Math.max(worst, d / Math.max(s, 1e-30));
  }
  return worst;
}

async function tfjsGradients(flow: Flow, x: Float32Array, rows: number): Promise<{ loss: number; grads: StateDict }> {
  const vars = flow.trainableVariables();
  const xt = tf.tensor2d(x, [rows, flow.config.inputDim]);
  const { value, grads } = tf.variableGrads(() => flow.loss(xt), vars);
  // Same naming as toStateDict: put each gradient in its variable's place, then read the flow out.
  const saved = vars.map((v) => tf.clone(v));
  vars.forEach((v) => v.assign(grads[v.name]));
  const sd = await flow.toStateDict();
  vars.forEach((v, i) => v.assign(saved[i]));
  const loss = (await value.data())[0];
  tf.dispose([xt, value, ...Object.values(grads), ...saved]);
  return { loss, grads: sd };
}

describe('HostFlow: the training step on the WebAssembly kernels', () => {
  let host: HostFlow;
  afterAll(() => host?.dispose());

  it("loss of the official code's flow on the reference input within 1e-6 relative of PyTorch's", async () => {
    const sd = readPth(readShared('reference', 'differnet-reference-small.pth'));
    host = await HostFlow.create({ inputDim: 768, blocks: 8, hidden: 64, clamp: ref.clamp }, ref.input.length);
    host.load(sd);
    host.inputRows(ref.input.length).set(ref.input.flat());
    const loss = host.loss(ref.input.length);
    expect(Math.abs(loss - ref.loss_differnet) / Math.abs(ref.loss_differnet)).toBeLessThan(1e-6);
  });

  // The kernels of engines without relaxed SIMD (Safari, older Node): a multiply, then an add.
  for (const flavour of [undefined, { fma: false }])
  it(`gradients of every weight within 1e-5 of the TF.js graph's (relative to each tensor's largest), ${flavour ? 'multiply-then-add' : 'fused'} kernels`, async () => {
    const cfg = { inputDim: 48, blocks: 3, hidden: 16, clamp: 3 };
    const flow = Flow.random(cfg, 11);
    const rows = 7;
    const x = Float32Array.from({ length: rows * 48 }, (_, i) => 2 * Math.sin(i * 1.3));
    const want = await tfjsGradients(flow, x, rows);
    const h = await HostFlow.create(cfg, 8, { helpers: 0 }, flavour);
    h.load(await flow.toStateDict());
    h.inputRows(rows).set(x);
    const loss = h.gradient(rows);
    expect(Math.abs(loss - want.loss) / Math.abs(want.loss)).toBeLessThan(1e-6);
    expect(worstRel(h.gradientStateDict(), want.grads)).toBeLessThan(1e-5);
    h.dispose();
    flow.dispose();
  });

  it('round-trips a state dict exactly', async () => {
    const cfg = { inputDim: 16, blocks: 2, hidden: 8, clamp: 3 };
    const flow = Flow.random(cfg, 2);
    const sd = await flow.toStateDict();
    const h = await HostFlow.create(cfg, 4);
    h.load(sd);
    expect(worstRel(h.toStateDict(), sd)).toBe(0);
    h.dispose();
    flow.dispose();
  });

  it('supports the widths its kernels tile and no others', () => {
    expect(hostFlowSupported({ inputDim: 1536, blocks: 8, hidden: 192, clamp: 3 })).toBe(true);
    expect(hostFlowSupported({ inputDim: 768, blocks: 8, hidden: 64, clamp: 3 })).toBe(true);
    expect(hostFlowSupported({ inputDim: 33, blocks: 4, hidden: 16, clamp: 3 })).toBe(false);
    expect(hostFlowSupported({ inputDim: 48, blocks: 4, hidden: 12, clamp: 3 })).toBe(false);
    // The paper's width (210M parameters) stays on TF.js, whose moments may live on the host.
    expect(hostFlowSupported({ inputDim: 1536, blocks: 8, hidden: 2048, clamp: 3 })).toBe(false);
  });
});

const fx = fidelityFixtures();

describe.skipIf(!fx)('the WebAssembly Adam against torch.optim.Adam', () => {
  const adamRef = fx?.manifest.adam as FidelityManifest['adam'];

  // Same bound and references as the TF.js Adam's parity test (adam.test.ts): torch's float32 steps and
  // the same steps in float64.
  it("three steps equal torch's updates, float32 and float64, within 1e-4 relative", async () => {
    const sizes = adamRef.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    // Each tensor padded to whole groups of 4 floats, as the kernel runs on them.
    const padded = sizes.map((n) => Math.ceil(n / 4) * 4);
    const total = padded.reduce((a, b) => a + b, 0);
    const run = await GemmRunner.create(16 * total + 64, 0);
    const [p, g, m, v] = [0, 1, 2, 3].map((k) => k * total * 4);
    let at = 0;
    const starts = padded.map((n) => ((at += n), at - n));
    adamRef.initial.forEach((t, i) => run.f32.set(t, p / 4 + starts[i]));
    let prev = { params: adamRef.initial, params_float64: adamRef.initial };
    for (const [s, step] of adamRef.steps.entries()) {
      step.grads.forEach((t, i) => run.f32.set(t, g / 4 + starts[i]));
      const t = s + 1;
      run.adam(p, g, m, v, total, { ...PAPER_ADAM, rate: PAPER_ADAM.lr / (1 - PAPER_ADAM.beta1 ** t), invSqrtBc2: 1 / Math.sqrt(1 - PAPER_ADAM.beta2 ** t) });
      for (const key of ['params', 'params_float64'] as const) {
        sizes.forEach((n, i) => {
          let worst = 0;
          for (let k = 0; k < n; k++) {
            const want = step[key][i][k] - prev[key][i][k];
            const got = run.f32[p / 4 + starts[i] + k] - prev[key][i][k];
            worst = Math.max(worst, Math.abs(got - want) / Math.max(Math.abs(want), 1e-6));
          }
          expect(worst, `step ${t}, tensor ${i}, ${key}`).toBeLessThan(1e-4);
        });
      }
      prev = step;
    }
    run.dispose();
  });
});

describe('trainFlow on the host kernels', () => {
  const cfg = { inputDim: 32, blocks: 2, hidden: 16, clamp: 3 };
  const bank: FeatureBank = { dim: 32, count: 10, copies: 2, data: Float32Array.from({ length: 10 * 2 * 32 }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.11)) };
  const opts: FlowTrainOptions = { epochs: 2, subEpochs: 2, batchSize: 4, transforms: 2, adam: { ...PAPER_ADAM, lr: 1e-3 }, seed: 5 };

  async function trained(engine: 'host' | 'tfjs', threads = 0): Promise<{ sd: StateDict; losses: number[] }> {
    const flow = Flow.random(cfg, 4);
    const r = await trainFlow(flow, bank, { ...opts, engine, threads: threads ? { helpers: threads, spawn: nodeThreadSpawner } : undefined });
    const sd = await flow.toStateDict();
    flow.dispose();
    return { sd, losses: r.losses };
  }

  // 12 Adam steps at lr 1e-3 move weights by ~1e-2; the engines differ by float rounding (float64 vs
  // float32 elementwise, summation order): measured 1.2e-7 on the weights and 7e-8 on the losses.
  it('gives the TF.js engine’s losses within 1e-5 and weights within 1e-4 relative', async () => {
    const a = await trained('host');
    const b = await trained('tfjs');
    a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i]) / Math.abs(b.losses[i])).toBeLessThan(1e-5));
    expect(worstRel(a.sd, b.sd)).toBeLessThan(1e-4);
  });

  it('with a helper thread gives exactly the floats of one thread', async () => {
    const a = await trained('host');
    const b = await trained('host', 1);
    expect(b.losses).toEqual(a.losses);
    expect(worstRel(b.sd, a.sd)).toBe(0);
  });

  it('trains on this thread alone when its helper threads cannot start', async () => {
    const a = await trained('host');
    const flow = Flow.random(cfg, 4);
    const refused: ThreadSpawner = () => Promise.reject(new Error('no workers here'));
    const r = await trainFlow(flow, bank, { ...opts, threads: { helpers: 1, spawn: refused } });
    expect(r.losses).toEqual(a.losses);
    expect(worstRel(await flow.toStateDict(), a.sd)).toBe(0);
    flow.dispose();
  });

  it('leaks no tensors, and refuses widths it cannot tile when asked for explicitly', async () => {
    expect(await leakedTensors(() => trained('host'))).toBe(0);
    const odd = Flow.random({ inputDim: 30, blocks: 2, hidden: 16, clamp: 3 }, 1);
    await expect(trainFlow(odd, { ...bank, dim: 30, data: bank.data.subarray(0, 10 * 2 * 30) }, { ...opts, engine: 'host' })).rejects.toThrow(/cannot train a flow of 30 features/);
    odd.dispose();
  });
});
