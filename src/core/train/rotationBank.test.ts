import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackbone, isBackboneKey } from '../backbones';
import { Flow } from '../flow/flow';
import { DifferNet } from '../model/differnet';
import { loadModel, saveModel } from '../model/modelFile';
import { DEFAULT_SETTINGS, PAPER_SETTINGS, ROTATION_BANK_COPIES, bankCopies, withRotations, type ModelSettings } from '../model/settings';
import { seededRandom } from '../random';
import { syntheticPart } from '../../../test/support/images';
import { readShared } from '../../../test/support/shared';
import { leakedTensors, setupTf } from '../../../test/support/tf';
import type { ExecutionPlan } from '../execution/executionPlan';
import { readPth } from '../torch';
import { PAPER_ADAM } from './adam';
import { featureBankCost } from './bankCost';
import { arraySource, extractFeatureBank, measureCopyRate, type FeatureBank } from './featureBank';
import { rowSchedule, trainFlow } from './trainFlow';

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

const sched = { epochs: 3, subEpochs: 4, batchSize: 4, transforms: 4, seed: 3 };

/** A random bank and a tiny flow trained on it; the losses of each pass. */
async function tinyRun(copies: number, transforms: number, seed = 5): Promise<number[]> {
  const r = seededRandom(11);
  const dim = 12;
  const count = 6;
  const data = Float32Array.from({ length: count * copies * dim }, () => r() * 2 - 1);
  const flow = Flow.random({ inputDim: dim, blocks: 2, hidden: 8, clamp: 3 }, 2);
  const rep = await trainFlow(flow, { dim, count, copies, data }, { epochs: 2, subEpochs: 2, batchSize: 4, transforms, adam: { ...PAPER_ADAM, lr: 1e-2 }, seed });
  flow.dispose();
  return rep.losses;
}

describe('rotation bank: fresh angles each step', () => {
  it('rotating settings compute a bank of 32 angles per image and draw 4 of them per step', () => {
    for (const s of [withRotations(DEFAULT_SETTINGS, true), PAPER_SETTINGS]) {
      expect(s.train).toMatchObject({ rotate: true, copies: ROTATION_BANK_COPIES, transforms: 4 });
      expect(bankCopies(s)).toBe(32);
    }
  });

  it('with copies > transforms, each step draws a fresh subset of an image\'s rows, covering most of them', () => {
    const count = 10;
    const copies = 32;
    const seen = new Map<number, string[]>();
    for (const s of rowSchedule(count, copies, sched)) {
      for (let k = 0; k < s.rows.length; k += 4) {
        const rows = s.rows.slice(k, k + 4);
        const img = Math.floor(rows[0] / copies);
        // The 4 rows of an image are distinct and its own.
        expect(new Set(rows).size).toBe(4);
        for (const r of rows) expect(Math.floor(r / copies)).toBe(img);
        seen.set(img, [...(seen.get(img) ?? []), [...rows].sort((a, b) => a - b).join(',')]);
      }
    }
    for (const [img, draws] of seen) {
      expect(draws.length).toBe(12); // one per pass
      expect(new Set(draws).size, `image ${img}`).toBeGreaterThan(10);
      // 48 draws of 32 rows touch about 26 distinct ones (the old bank: 4).
      expect(new Set(draws.join(',').split(',')).size).toBeGreaterThan(16);
    }
  });

  it('the schedule and the training follow the seed', async () => {
    const rows = (seed: number) => [...rowSchedule(10, 32, { ...sched, seed })].map((s) => s.rows.join(',')).join(';');
    expect(rows(3)).toBe(rows(3));
    expect(rows(4)).not.toBe(rows(3));
    expect(await tinyRun(8, 2, 5)).toEqual(await tinyRun(8, 2, 5));
    expect(await tinyRun(8, 2, 6)).not.toEqual(await tinyRun(8, 2, 5));
  });

  it('with copies = transforms (models trained before the bank grew), every step reads all rows of its images, as before', async () => {
    for (const s of rowSchedule(10, 4, sched)) {
      for (let k = 0; k < s.rows.length; k += 4) expect(s.rows.slice(k, k + 4).map((r) => r % 4)).toEqual([0, 1, 2, 3]);
    }
    // Losses of the code before this change (commit 8a5ab7b) on the same bank and seed.
    const before44 = [0.20383098721504211, 0.15707983821630478, 0.11732631176710129, 0.05256057437509298];
    const before82 = [0.20472034066915512, 0.1592075601220131, 0.11459105461835861, 0.09823284670710564];
    (await tinyRun(4, 4)).forEach((l, i) => expect(l).toBeCloseTo(before44[i], 6));
    (await tinyRun(8, 2)).forEach((l, i) => expect(l).toBeCloseTo(before82[i], 6));
  });

  it('training with copies > transforms leaks no tensors', async () => {
    await tinyRun(8, 2);
    expect(await leakedTensors(() => tinyRun(8, 2))).toBe(0);
  });

  it('a model saved with copies = transforms = 4 loads with its settings and retrains identically', async () => {
    const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
    const old: ModelSettings = {
      ...DEFAULT_SETTINGS,
      features: { size: 64, scales: 2 },
      flow: { blocks: 2, hidden: 16, clamp: 3 },
      train: { ...DEFAULT_SETTINGS.train, rotate: true, copies: 4, transforms: 4, epochs: 1, subEpochs: 2, batchSize: 2 },
      testTransforms: 4,
    };
    const bank: FeatureBank = await extractFeatureBank(plan.features, bb, old.features, arraySource([0, 1, 2].map((i) => syntheticPart(64, i))), { copies: bankCopies(old), rotate: true, jitter: 0, seed: 0 });
    expect(bank.copies).toBe(4);
    const m1 = await DifferNet.trainOnBank(bb, bank, old, { plan });
    const { model: m2 } = loadModel(await saveModel(m1, { name: 'old', includeBackbone: false }), plan.features, bb);
    expect(m2.settings).toEqual(old);
    expect(bankCopies(m2.settings)).toBe(4);
    const m3 = await DifferNet.trainOnBank(bb, bank, m2.settings, { plan });
    expect(m3.training!.losses).toEqual(m1.training!.losses);
    const [w1, w3] = [await m1.flow.toStateDict(), await m3.flow.toStateDict()];
    for (const [k, v] of w1) expect(Array.from(w3.get(k)!.data), k).toEqual(Array.from(v.data));
    for (const m of [m1, m2, m3]) m.dispose();
    bb.dispose();
  });
});

describe('feature bank cost', () => {
  it('memory is images x copies x dim x 4 bytes; time is rows / measured copies per second', () => {
    const rot = withRotations(DEFAULT_SETTINGS, true);
    // Magnetic Tile Defects: 761 training images; AlexNet at 3 scales is 768 features.
    expect(featureBankCost(rot, 761, 'alexnet')).toEqual({ rows: 761 * 32, bytes: 761 * 32 * 768 * 4, seconds: null });
    expect(featureBankCost(rot, 761, 'squeezenet1_1', 8).bytes).toBe(761 * 32 * 1536 * 4);
    expect(featureBankCost(rot, 761, 'squeezenet1_1', 8).seconds).toBeCloseTo((761 * 32) / 8, 9);
    expect(featureBankCost(DEFAULT_SETTINGS, 761, 256, 8)).toEqual({ rows: 761, bytes: 761 * 768 * 4, seconds: 761 / 8 });
  });

  it('measureCopyRate is the copies over the time they took, and leaks no tensors', async () => {
    const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
    const cfg = { size: 64, scales: 2 };
    const img = syntheticPart(64, 1);
    let rate = 0;
    // A clock that advances 0.25 s per reading: the two readings around the timed copies are 0.25 s apart.
    let t = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (t += 250));
    expect(await leakedTensors(async () => (rate = await measureCopyRate(plan.features, bb, cfg, img, 2)))).toBe(0);
    now.mockRestore();
    expect(rate).toBe(2 / 0.25);
    bb.dispose();
  });
});
