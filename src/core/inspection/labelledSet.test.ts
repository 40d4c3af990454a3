import { describe, expect, it } from 'vitest';
import { CancelledError } from '../progress';
import { CALIBRATION_MAPS } from './heatScale';
import { evaluateLabelledSet, pixelTruth, type EvaluatedModel, type SetItem } from './labelledSet';

// The labelled-set run on a stand-in model whose "images" are 4x4 maps: its score is the map's maximum, its
// defect map the image itself, so what the run computes from them can be written out by hand.

class BadFile extends Error {}

type Img = Float32Array;
const SIDE = 4;

function model(): EvaluatedModel<Img> & { maps: number; scores: number } {
  const m = {
    maps: 0,
    scores: 0,
    score: async (img: Img) => (m.scores++, Math.max(...img)),
    // The map's own score is a different number: the run must report score()'s.
    defectMap: async (img: Img) => (m.maps++, { map: img, width: SIDE, height: SIDE }),
  };
  return m;
}

/** A good image (flat, low) or a defective one (one bright pixel at `at`), with or without its mask. */
function item(label: 0 | 1, opts: { at?: number; mask?: boolean; level?: number; broken?: boolean } = {}): SetItem<Img> {
  const img = new Float32Array(SIDE * SIDE).fill(opts.level ?? 0.1);
  if (label === 1) img[opts.at ?? 5] = 1;
  return {
    label,
    hasMask: !!opts.mask,
    image: async () => {
      if (opts.broken) throw new BadFile('x.png: not a readable image');
      return img;
    },
    mask: async (w, h) => {
      const m = new Uint8Array(w * h);
      if (label === 1) m[opts.at ?? 5] = 1;
      return m;
    },
  };
}

const itemError = (e: unknown) => (e instanceof BadFile ? e.message : null);

describe('pixelTruth (MVTec AD convention)', () => {
  it('counts masked images with their mask, good ones without a mask as all clear, leaves out the rest', () => {
    expect(pixelTruth({ label: 1, hasMask: true })).toBe('mask');
    expect(pixelTruth({ label: 0, hasMask: true })).toBe('mask');
    expect(pixelTruth({ label: 0, hasMask: false })).toBe('all-clear');
    expect(pixelTruth({ label: 1, hasMask: false })).toBeNull();
  });
});

describe('evaluateLabelledSet', () => {
  it('draws maps only for the images that count in the pixel AUROC, and scores every image with score()', async () => {
    const m = model();
    const items = [item(0), item(0, { level: 0.2 }), item(1, { mask: true, at: 3 }), item(1, { at: 9 }), item(1, { mask: true, at: 12 })];
    const r = await evaluateLabelledSet(m, items, { pixels: true, itemError });
    expect(r.scores).toEqual([0.1, 0.2, 1, 1, 1].map(Math.fround));
    // Two good (all clear) and two masked defects; the unmasked defect is scored, not mapped.
    expect([m.scores, m.maps]).toEqual([5, 4]);
    // Every defect pixel outranks every clear one.
    expect(r.pixelAuroc).toBe(1);
    expect(r.calibration).toBeNull();
  });

  it('draws no maps without masks or calibration, and has no pixel AUROC then', async () => {
    const m = model();
    const r = await evaluateLabelledSet(m, [item(0), item(1), item(1)], { pixels: true, itemError });
    expect(m.maps).toBe(0);
    expect(r.pixelAuroc).toBeNull();
    const off = model();
    expect((await evaluateLabelledSet(off, [item(0), item(1, { mask: true })], { pixels: false, itemError })).pixelAuroc).toBeNull();
    expect(off.maps).toBe(0);
  });

  it(`calibrates on the set with a colour scale from the first ${CALIBRATION_MAPS} good images' maps only`, async () => {
    const m = model();
    const goods = Array.from({ length: CALIBRATION_MAPS + 3 }, (_, i) => item(0, { level: 0.1 + i * 0.01 }));
    const r = await evaluateLabelledSet(m, [...goods, item(1), item(1, { at: 2 })], { pixels: true, calibrate: { kind: 'f1-max' }, itemError });
    expect(m.maps).toBe(CALIBRATION_MAPS);
    const cal = r.calibration!;
    expect(cal.source).toBe('labelled');
    // Best F1 separates the defects (1) from the good images (at most 0.18).
    expect(cal.threshold).toBeGreaterThan(0.18);
    expect(cal.threshold).toBeLessThanOrEqual(1);
    // The scale's low end is the 99th percentile of the pixels of the maps it saw: at most the sixth good
    // image's level (0.15); all nine would have put it at 0.18.
    expect(cal.mapLow).toBeGreaterThan(0.14);
    expect(cal.mapLow).toBeLessThanOrEqual(Math.fround(0.1 + (CALIBRATION_MAPS - 1) * 0.01));
  });

  it('reports an unreadable item on its own and goes on; any other error fails the run', async () => {
    const progress: number[] = [];
    const r = await evaluateLabelledSet(model(), [item(0), item(1, { broken: true }), item(1)], { pixels: false, itemError, progress: (d) => progress.push(d) });
    expect(r.scores[1]).toBeNaN();
    expect(r.errors).toEqual([null, 'x.png: not a readable image', null]);
    expect(progress).toEqual([1, 2, 3]);
    const failing = { ...model(), score: async () => Promise.reject(new Error('engine lost')) };
    await expect(evaluateLabelledSet(failing, [item(0)], { pixels: false, itemError })).rejects.toThrow('engine lost');
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    const run = evaluateLabelledSet(model(), [item(0), item(0), item(0)], { pixels: false, itemError, signal: ac.signal, progress: () => ac.abort() });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
  });
});
