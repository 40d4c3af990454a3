import { beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, isBackboneKey } from '../backbones';
import { Flow } from '../flow/flow';
import { localFeatureWork, trainInspectionModel, trainModel, type FeatureWork } from './pipeline';
import { DEFAULT_SETTINGS, type ModelSettings } from '../model/settings';
import { CancelledError } from '../progress';
import { readShared } from '../../../test/support/shared';
import { syntheticPart } from '../../../test/support/images';
import { leakedTensors, setupTf, tf } from '../../../test/support/tf';
import type { ExecutionPlan } from '../execution/executionPlan';
import { readPth } from '../torch';
import { Adam, PAPER_ADAM } from './adam';
import { arraySource } from './featureBank';

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

const settings: ModelSettings = {
  ...DEFAULT_SETTINGS,
  features: { size: 64, scales: 2 },
  flow: { blocks: 4, hidden: 64, clamp: 3 },
  train: { ...DEFAULT_SETTINGS.train, epochs: 3, subEpochs: 4, batchSize: 4, transforms: 2, copies: 4, adam: { ...PAPER_ADAM, lr: 1e-3 } },
  testTransforms: 4,
};

function backbone() {
  return createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
}

describe('training', () => {
  it('the loss falls and good parts score lower than defective or foreign ones', async () => {
    const bb = backbone();
    const good = Array.from({ length: 12 }, (_, i) => syntheticPart(64, i));
    const events: string[] = [];
    const m = await trainModel(bb, arraySource(good), settings, { plan, onProgress: (e) => events.push(e.phase) });
    const losses = m.training!.losses;
    expect(losses.length).toBe(12);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(events).toContain('features');
    expect(events).toContain('flow');
    // Square synthetic parts: the model records that it was taught on square images.
    expect(m.settings.framing).toEqual({ aspect: 1, aspectRange: [1, 1] });

    const goodScores = await Promise.all([100, 101, 102].map((s) => m.score(syntheticPart(64, s))));
    const bad = await Promise.all([100, 101, 102].map((s) => m.score(syntheticPart(64, s, true))));
    const noise = syntheticPart(64, 5);
    for (let i = 0; i < noise.data.length; i += 4) noise.data[i] = noise.data[i + 1] = noise.data[i + 2] = (i * 7919) % 256;
    const foreign = await m.score(noise);
    expect(Math.max(...goodScores)).toBeLessThan(Math.min(...bad));
    expect(Math.max(...goodScores)).toBeLessThan(foreign);
    m.dispose();
    bb.dispose();
  });

  it('can be cancelled', async () => {
    const bb = backbone();
    const ctl = new AbortController();
    const good = Array.from({ length: 4 }, (_, i) => syntheticPart(64, i));
    const run = trainModel(bb, arraySource(good), settings, {
      plan,
      signal: ctl.signal,
      onProgress: (e) => e.phase === 'flow' && ctl.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    bb.dispose();
  });

  it('with rows off this thread, a failed calibration map stops the rows and leaves nothing running on the disposed model', async () => {
    const bb = backbone();
    const good = Array.from({ length: 10 }, (_, i) => syntheticPart(64, i));
    const small = { ...settings, train: { ...settings.train, epochs: 1, subEpochs: 1 } };
    const local = localFeatureWork(plan.features, bb, small, arraySource(good));
    let pass = 0;
    let rowsSawAbort = false;
    let rowsRunning = false;
    const work: FeatureWork = {
      rowsOffThread: true,
      async rows(indices, specsFor, onImage, signal) {
        if (pass++ === 0) return local.rows(indices, specsFor, onImage, signal);
        rowsRunning = true;
        // The held-out rows: slow, until told to stop.
        while (!signal?.aborted) await new Promise((r) => setTimeout(r, 5));
        rowsSawAbort = true;
        rowsRunning = false;
        throw new Error('rows stopped');
      },
      maps: async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('map failed');
      },
    };
    const before = tf.memory().numTensors;
    await expect(trainInspectionModel(bb, good.length, small, work, { plan })).rejects.toThrow('map failed');
    expect(rowsSawAbort).toBe(true);
    expect(rowsRunning).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    bb.dispose();
  });

  it('a whole training run leaks no tensors beyond the model it returns', async () => {
    const bb = backbone();
    const good = Array.from({ length: 3 }, (_, i) => syntheticPart(64, i));
    const small = { ...settings, train: { ...settings.train, epochs: 1, subEpochs: 1 } };
    const before = tf.memory().numTensors;
    const m = await trainModel(bb, arraySource(good), small, { plan });
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    bb.dispose();
  });

  it('a training step leaks no tensors', async () => {
    const flow = Flow.random({ inputDim: 20, blocks: 2, hidden: 8, clamp: 3 }, 1);
    const vars = flow.trainableVariables();
    const adam = new Adam(vars, PAPER_ADAM);
    const x = tf.randomNormal([6, 20]) as tf.Tensor2D;
    const step = () => {
      const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
      adam.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    expect(await leakedTensors(step)).toBe(0);
    tf.dispose(x);
    adam.dispose();
    flow.dispose();
  });
});

describe('Adam with its moments in JavaScript arrays', () => {
  it('takes the same steps as with its moments in TF.js tensors', async () => {
    const run = (inJs: boolean) => {
      const flow = Flow.random({ inputDim: 12, blocks: 2, hidden: 16, clamp: 3 }, 3);
      const vars = flow.trainableVariables();
      const adam = new Adam(vars, { ...PAPER_ADAM, lr: 1e-2 }, inJs);
      expect(adam.keepsMomentsInJs).toBe(inJs);
      const x = tf.tidy(() => tf.randomNormal([8, 12], 0, 1, 'float32', 5)) as tf.Tensor2D;
      for (let s = 0; s < 5; s++) {
        const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
        adam.step(grads);
        tf.dispose([value, ...Object.values(grads)]);
      }
      const out = vars.map((v) => Array.from(v.dataSync()));
      tf.dispose(x);
      adam.dispose();
      flow.dispose();
      return out.flat();
    };
    const device = run(false);
    const js = run(true);
    const start = Flow.random({ inputDim: 12, blocks: 2, hidden: 16, clamp: 3 }, 3);
    const initial = start.trainableVariables().flatMap((v) => Array.from(v.dataSync()));
    start.dispose();
    // The steps moved the parameters, and both paths moved them to the same place.
    expect(Math.max(...device.map((d, i) => Math.abs(d - initial[i])))).toBeGreaterThan(1e-3);
    expect(Math.max(...device.map((d, i) => Math.abs(d - js[i])))).toBeLessThan(1e-5);
  });
});
