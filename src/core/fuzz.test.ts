// Mutation fuzzing of the two file formats a user can drop: PyTorch weights and model files. Every case
// must end in success or a clean, typed error (a case that hangs runs into the test's timeout).
import { describe, expect, it } from 'vitest';
import { DifferNet } from './model/differnet';
import { loadModel, ModelFileError, saveModel } from './model/modelFile';
import { DEFAULT_SETTINGS } from './model/settings';
import { Flow } from './flow/flow';
import { createBackbone, isBackboneKey, WeightsError } from './backbones';
import { seededRandom } from './random';
import { readShared } from '../../test/support/shared';
import { setupTf, tf } from '../../test/support/tf';
import type { ExecutionPlan } from './execution/executionPlan';
import { PthError, readPth } from './torch';
import { f32, legacyPth, stateDictPickle, zipPth, type TensorSpec } from '../../test/support/torchBuilders';
import { beforeAll } from 'vitest';
import { mutate } from '../../test/support/mutate';

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

/**
 * A parsed state_dict must be consistent with itself and with the file: each tensor holds exactly the
 * elements its shape says, and no more than the file could carry (deflate expands at most 1032:1), so
 * no size was taken from a header on trust.
 */
function checkStateDict(sd: ReturnType<typeof readPth>, input: Uint8Array, what: string): void {
  for (const [name, t] of sd) {
    expect(t.data.length, `${what}: ${name}`).toBe(t.shape.reduce((a, d) => a * d, 1));
    expect(t.data.byteLength, `${what}: ${name}`).toBeLessThanOrEqual(1032 * input.length);
  }
}

describe('fuzzing', () => {
  it('mutated .pth files (zip and legacy) give a consistent state_dict or a PthError', () => {
    const specs: TensorSpec[] = [
      { name: 'features.0.weight', storage: '0', numel: 12, shape: [2, 2, 3] },
      { name: 'features.0.bias', storage: '1', numel: 2, shape: [2] },
    ];
    const data = [f32(Array.from({ length: 12 }, (_, i) => i / 3)), f32([1, -1])];
    const seeds = [zipPth(stateDictPickle(specs), { '0': data[0], '1': data[1] }), legacyPth(stateDictPickle(specs, { legacy: true }), [['0', 12, data[0]], ['1', 2, data[1]]])];
    const rand = seededRandom(20261129);
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const input = mutate(seeds[i % 2], rand);
      let sd: ReturnType<typeof readPth>;
      try {
        sd = readPth(input);
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(PthError);
        refused++;
        continue;
      }
      checkStateDict(sd, input, `case ${i}`);
      ok++;
    }
    expect(ok + refused).toBe(4000);
    expect(refused).toBeGreaterThan(1000);
    // Some mutations leave a readable file (a flipped bit in a float, say): the parser is not just refusing everything.
    expect(ok).toBeGreaterThan(0);
  });

  it('mutated real weights give a backbone or a clean error', () => {
    const real = readShared('weights', 'squeezenet1_1-imagenet.pth');
    const rand = seededRandom(7);
    for (let i = 0; i < 150; i++) {
      const input = mutate(real, rand);
      try {
        createBackbone(readPth(input, { include: isBackboneKey })).dispose();
      } catch (e) {
        expect([PthError, WeightsError].some((c) => e instanceof c), `case ${i}: ${(e as Error).message}`).toBe(true);
      }
    }
  });

  it('mutated model files load or give a ModelFileError, without leaking tensors', async () => {
    const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
    const settings = { ...DEFAULT_SETTINGS, features: { size: 64, scales: 1 }, flow: { blocks: 2, hidden: 8, clamp: 3 } };
    const model = new DifferNet(plan.features, bb, Flow.random({ inputDim: 512, ...settings.flow }, 1), settings);
    const file = await saveModel(model, { name: 'fuzz', includeBackbone: false });
    const before = tf.memory().numTensors;
    const rand = seededRandom(99);
    let loaded = 0;
    for (let i = 0; i < 1500; i++) {
      const input = mutate(file, rand);
      try {
        const { model: m } = loadModel(input, plan.features, bb);
        m.dispose();
        loaded++;
      } catch (e) {
        expect(e, `case ${i}: ${(e as Error).message}`).toBeInstanceOf(ModelFileError);
      }
    }
    expect(loaded).toBeLessThan(1500);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    bb.dispose();
  });
});
