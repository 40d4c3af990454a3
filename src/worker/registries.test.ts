import { beforeAll, describe, expect, it } from 'vitest';
import { isBackboneKey } from '../core/backbones';
import { Flow } from '../core/flow';
import type { Calibration } from '../core/inspection';
import { DifferNet } from '../core/model/differnet';
import { saveModel } from '../core/model/modelFile';
import { DEFAULT_SETTINGS, type ModelSettings } from '../core/model/settings';
import { decodeWeightsFile } from '../core/model/weightsFile';
import { readPth } from '../core/torch';
import { readShared } from '../../test/support/shared';
import { leakedTensors, setupTf, tf } from '../../test/support/tf';
import type { ExecutionPlan } from '../core/execution/executionPlan';
import { ModelRegistry } from './modelRegistry';
import { WeightsRegistry } from './weightsRegistry';

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

const squeezenet = () => readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey });
const settings: ModelSettings = { ...DEFAULT_SETTINGS, features: { size: 64, scales: 2 }, flow: { blocks: 2, hidden: 32, clamp: 3 } };
const calibration = (threshold: number) => ({ threshold }) as unknown as Calibration;

/** A model file on the registry's squeezenet, with a random flow. */
async function modelBytes(weights: WeightsRegistry, name = 'm'): Promise<Uint8Array> {
  const bb = weights.backbone('squeezenet1_1');
  const flow = Flow.random({ inputDim: bb.featureWidth * 2, blocks: 2, hidden: 32, clamp: 3 }, 1);
  const model = new DifferNet(plan.features, bb, flow, settings);
  const bytes = await saveModel(model, { name, includeBackbone: false });
  flow.dispose();
  return bytes;
}

describe('WeightsRegistry', () => {
  it('adopts weights, keeps only the backbone tensors, and rebuilds a released backbone', () => {
    const reg = new WeightsRegistry();
    expect(reg.has('squeezenet1_1')).toBe(false);
    expect(() => reg.backbone('squeezenet1_1')).toThrow(/no SqueezeNet 1.1 weights are loaded/);
    const info = reg.adopt(squeezenet(), undefined, 'sq.pth');
    expect(info).toMatchObject({ id: 'squeezenet1_1', source: 'sq.pth' });
    expect(info.params).toBeGreaterThan(700_000);
    expect(reg.info('squeezenet1_1')).toEqual(info);
    const bb = reg.backbone('squeezenet1_1');
    expect(reg.backbone('squeezenet1_1')).toBe(bb);
    const before = tf.memory().numTensors;
    reg.release();
    expect(tf.memory().numTensors).toBeLessThan(before);
    const again = reg.backbone('squeezenet1_1');
    expect(again).not.toBe(bb);
    expect(again.weightsHash).toBe(info.hash);
    reg.release();
  });

  it('writes a cache file that decodes to the same weights, and tells listeners of replaced ones', () => {
    const reg = new WeightsRegistry();
    const replaced: string[] = [];
    reg.onReplaced((id) => replaced.push(id));
    const info = reg.adopt(squeezenet(), 'squeezenet1_1', 'a.pth');
    const { manifest, stateDict } = decodeWeightsFile(reg.cacheFile('squeezenet1_1'));
    expect(manifest).toMatchObject({ id: 'squeezenet1_1', hash: info.hash, source: 'a.pth' });
    expect(stateDict.size).toBe(info.tensors);
    reg.adopt(squeezenet(), 'squeezenet1_1', 'b.pth');
    expect(replaced).toEqual(['squeezenet1_1', 'squeezenet1_1']);
    expect(reg.info('squeezenet1_1')!.source).toBe('b.pth');
    reg.release();
  });
});

describe('ModelRegistry', () => {
  it('holds model files, builds them lazily on the loaded backbone, and frees them', async () => {
    const weights = new WeightsRegistry();
    weights.adopt(squeezenet(), undefined, 'sq.pth');
    const models = new ModelRegistry(weights, () => plan);
    const bytes = await modelBytes(weights);
    const summary = models.put('a', bytes, null);
    expect(summary).toMatchObject({ backbone: 'squeezenet1_1', weightsHash: weights.info('squeezenet1_1')!.hash, calibration: null, fileBytes: bytes.length });
    expect(summary.flow).toMatchObject({ blocks: 2, hidden: 32 });
    expect(models.entry('a').built).toBeNull();
    const m = models.model('a');
    expect(models.model('a')).toBe(m);
    expect(m.backbone).toBe(weights.backbone('squeezenet1_1'));
    models.setCalibration('a', calibration(1.5));
    expect(m.calibration?.threshold).toBe(1.5);
    expect(models.entry('a').calibration?.threshold).toBe(1.5);

    // New weights of the same architecture: the model rebuilds on them, keeping its calibration.
    weights.adopt(squeezenet(), undefined, 'again.pth');
    expect(models.entry('a').built).toBeNull();
    expect(models.model('a').calibration?.threshold).toBe(1.5);

    const leaked = await leakedTensors(() => {
      models.release();
      weights.release();
      models.model('a');
      models.drop('a');
    });
    expect(leaked).toBeLessThanOrEqual(weights.info('squeezenet1_1')!.tensors); // the rebuilt backbone only
    expect(models.has('a')).toBe(false);
    expect(() => models.entry('a')).toThrow(/not loaded in the engine/);
    weights.release();
  });

  it('builds a model with its own backbone when the loaded weights differ', async () => {
    const weights = new WeightsRegistry();
    weights.adopt(squeezenet(), undefined, 'sq.pth');
    const models = new ModelRegistry(weights, () => plan);
    const withBackbone = await (async () => {
      const bb = weights.backbone('squeezenet1_1');
      const flow = Flow.random({ inputDim: bb.featureWidth * 2, blocks: 2, hidden: 32, clamp: 3 }, 2);
      const bytes = await saveModel(new DifferNet(plan.features, bb, flow, settings), { name: 'own', includeBackbone: true });
      flow.dispose();
      return bytes;
    })();
    const other = new WeightsRegistry();
    const sd = squeezenet();
    const first = sd.get([...sd.keys()][0])!;
    first.data[0] += 1; // different weights, different hash
    other.adopt(sd, undefined, 'other.pth');
    const models2 = new ModelRegistry(other, () => plan);
    models2.put('x', withBackbone, null);
    const m = models2.model('x');
    expect(m.backbone).not.toBe(other.backbone('squeezenet1_1'));
    expect(models2.entry('x').built!.ownsBackbone).toBe(true);
    models2.drop('x');
    other.release();
    models.release();
    weights.release();
  });
});
