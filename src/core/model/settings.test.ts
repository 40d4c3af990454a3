import { describe, expect, it } from 'vitest';
import { alexnetPlan } from '../backbones/alexnet';
import { GOOGLENET_DEFAULT_TAPS, googlenetPlan } from '../backbones/googlenet';
import { planShapes, type BackbonePlan } from '../backbones/plan';
import { squeezenetPlan } from '../backbones/squeezenet';
import { readBackboneWeights } from '../backbones';
import { readPth } from '../torch';
import { readShared } from '../../../test/support/shared';
import { BACKBONE_MIN_SIDE, BACKBONE_TAPS, DEFAULT_SETTINGS, scalesThatFit, PAPER_SETTINGS, bankCopies, forBackbone, withRotations, WHITENED_PASSES } from './settings';

describe('settings', () => {
  it('the default trains and scores one unrotated copy per image', () => {
    expect(DEFAULT_SETTINGS.train.rotate).toBe(false);
    expect(bankCopies(DEFAULT_SETTINGS)).toBe(1);
    expect(DEFAULT_SETTINGS.testTransforms).toBe(1);
  });

  it('withRotations switches the paper augmentation on and off without touching the rest', () => {
    const on = withRotations(DEFAULT_SETTINGS, true);
    expect(on.train).toMatchObject({ rotate: true, copies: 32, transforms: 4 });
    expect(on.testTransforms).toBe(16);
    expect(on.flow).toEqual(DEFAULT_SETTINGS.flow);
    expect(on.train.adam).toEqual(DEFAULT_SETTINGS.train.adam);
    const off = withRotations(PAPER_SETTINGS, false);
    expect(off.train).toMatchObject({ rotate: false, copies: 1, transforms: 1 });
    expect(off.flow.hidden).toBe(2048);
    expect(DEFAULT_SETTINGS.train.rotate).toBe(false);
  });

  it('whitens the flow input (square roots first) for GoogLeNet only, and drops both again when the backbone changes', () => {
    const g = forBackbone(DEFAULT_SETTINGS, 'googlenet');
    expect(g.flow.whitening).toBeGreaterThan(0);
    expect(g.flow.power).toBe(0.5);
    expect(g.features).toEqual({ size: 224, scales: 1 });
    expect([g.train.epochs, g.train.subEpochs]).toEqual([WHITENED_PASSES.epochs, WHITENED_PASSES.subEpochs]);
    const s = forBackbone(g, 'squeezenet1_1');
    expect('whitening' in s.flow).toBe(false);
    expect('power' in s.flow).toBe(false);
    expect(s.flow).toEqual(DEFAULT_SETTINGS.flow);
    expect(s.train).toEqual(DEFAULT_SETTINGS.train);
    expect(forBackbone(PAPER_SETTINGS, 'alexnet').flow).toEqual(PAPER_SETTINGS.flow);
    // Passes a user chose stay as they are, both ways.
    const mine = { ...DEFAULT_SETTINGS, train: { ...DEFAULT_SETTINGS.train, epochs: 3 } };
    expect(forBackbone(mine, 'googlenet').train.epochs).toBe(3);
    expect(forBackbone(PAPER_SETTINGS, 'googlenet').train).toEqual(PAPER_SETTINGS.train);
  });

  it("BACKBONE_TAPS mirrors the plans' default taps", () => {
    expect(BACKBONE_TAPS.googlenet).toEqual(GOOGLENET_DEFAULT_TAPS);
    expect(BACKBONE_TAPS.squeezenet1_1).toEqual(squeezenetPlan(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'))).defaultTaps);
  });

  it("BACKBONE_MIN_SIDE is each plan's smallest image, and scalesThatFit keeps every scale above it", () => {
    const runs = (plan: BackbonePlan, side: number) => {
      try {
        planShapes(plan, side);
        return true;
      } catch {
        return false;
      }
    };
    const plans: [keyof typeof BACKBONE_MIN_SIDE, BackbonePlan][] = [
      ['alexnet', alexnetPlan(readPth(readShared('reference', 'differnet-reference-small.pth')))],
      ['squeezenet1_1', squeezenetPlan(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth')))],
      ['googlenet', googlenetPlan(readBackboneWeights(readShared('weights', 'bvlc_googlenet.caffemodel')))],
    ];
    for (const [id, plan] of plans) {
      expect([runs(plan, BACKBONE_MIN_SIDE[id] - 1), runs(plan, BACKBONE_MIN_SIDE[id])], id).toEqual([false, true]);
    }
    expect(scalesThatFit('alexnet', 224, 3)).toBe(2);
    expect(scalesThatFit('alexnet', 448, 3)).toBe(3);
    expect(scalesThatFit('squeezenet1_1', 224, 3)).toBe(3);
    expect(scalesThatFit('alexnet', 64, 3)).toBe(1);
  });
});
