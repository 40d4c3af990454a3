import { describe, expect, it } from 'vitest';
import { calibrate } from './calibration';
import { centreCrop, checkFraming, defaultRegion, DEFAULT_FRAMING, fitToAspect, formatAspect, framingFromSizes, framingOf, regionAspect, validRegion } from './framing';
import { heldOutCount } from './holdout';
import { countVerdict, debounce, DEFAULT_DEBOUNCE, EMPTY_DEBOUNCE, failRate, framesNeeded, heldOutNeeded, promisedRate, rateSupportedBy, validDebounce, ZERO_COUNTS, type DebounceState } from './station';
import type { Verdict } from './verdict';

const run = (vs: Verdict[], d = DEFAULT_DEBOUNCE) => vs.reduce<DebounceState[]>((acc, v) => [...acc, debounce(acc.at(-1) ?? EMPTY_DEBOUNCE, v, d)], []).map((s) => s.stable);

describe('framing: a frame is mapped to the model input as the training images were', () => {
  it('records the median aspect of the training images and their range', () => {
    const f = framingFromSizes([
      { width: 100, height: 100 },
      { width: 300, height: 100 },
      { width: 50, height: 100 },
    ]);
    expect(f.aspect).toBe(1);
    expect(f.aspectRange).toEqual([0.5, 3]);
    // An even count takes the geometric middle, so 1:2 and 2:1 average to square.
    expect(framingFromSizes([{ width: 1, height: 2 }, { width: 2, height: 1 }]).aspect).toBeCloseTo(1, 12);
    expect(framingFromSizes([], { region: { x: 0, y: 0, width: 1, height: 1 } })).toEqual({ aspect: 1, region: { x: 0, y: 0, width: 1, height: 1 } });
  });

  it('crops a 4:3 frame to the centred square for a square-trained model, and a tall frame top and bottom', () => {
    const r = centreCrop(640, 480, 1);
    expect(r).toEqual({ x: 0.125, y: 0, width: 0.75, height: 1 });
    expect(regionAspect(r, 640, 480)).toBeCloseTo(1, 12);
    const t = centreCrop(480, 640, 1);
    expect(t).toEqual({ x: 0, y: 0.125, width: 1, height: 0.75 });
    // Wider training images than the frame: full width, cut top and bottom.
    const w = centreCrop(640, 480, 16 / 9);
    expect(w.width).toBe(1);
    expect(regionAspect(w, 640, 480)).toBeCloseTo(16 / 9, 12);
    expect(w.y).toBeCloseTo((1 - w.height) / 2, 12);
  });

  it('defaults old models (no framing recorded) to a square crop, and ignores a damaged record', () => {
    expect(framingOf({})).toBe(DEFAULT_FRAMING);
    expect(framingOf(null)).toBe(DEFAULT_FRAMING);
    expect(framingOf({ framing: { aspect: NaN } })).toBe(DEFAULT_FRAMING);
    expect(framingOf({ framing: { aspect: 1.5 } }).aspect).toBe(1.5);
  });

  it('uses a camera-taught model its own region on a camera of the same shape, else the centred crop', () => {
    const region = { x: 0.1, y: 0.2, width: 0.3, height: 0.4 };
    const f = { aspect: (0.3 * 640) / (0.4 * 480), region, frame: { width: 640, height: 480 } };
    expect(defaultRegion(f, 1280, 960)).toBe(region);
    const other = defaultRegion(f, 1280, 720);
    expect(regionAspect(other, 1280, 720)).toBeCloseTo(f.aspect, 12);
  });

  it('flags a region framed differently from training, beyond the tolerance only', () => {
    const f = { aspect: 1 };
    expect(checkFraming(f, { x: 0, y: 0, width: 1, height: 1 }, 640, 480).ok).toBe(false);
    expect(checkFraming(f, centreCrop(640, 480, 1), 640, 480).ok).toBe(true);
    // The old "Centre region" (half the width and height of a 4:3 frame) is 4:3 too: flagged.
    const old = checkFraming(f, { x: 0.25, y: 0.25, width: 0.5, height: 0.5 }, 640, 480);
    expect(old.ok).toBe(false);
    expect(old.aspect).toBeCloseTo(4 / 3, 12);
    expect(checkFraming(f, { x: 0, y: 0, width: 0.78, height: 1 }, 640, 480).ok).toBe(true);
  });

  it('fits a drawn region to the training aspect around its centre, inside the frame', () => {
    const r = fitToAspect({ x: 0.6, y: 0, width: 0.4, height: 1 }, 640, 480, 1);
    expect(regionAspect(r, 640, 480)).toBeCloseTo(1, 9);
    expect(r.x + r.width).toBeLessThanOrEqual(1 + 1e-12);
    expect(r.y).toBeGreaterThanOrEqual(0);
    expect(validRegion(r)).toBe(true);
    // Too big to fit: shrinks to the largest that does.
    const big = fitToAspect({ x: 0, y: 0, width: 1, height: 1 }, 640, 480, 2);
    expect(big.width).toBeCloseTo(1, 12);
    expect(regionAspect(big, 640, 480)).toBeCloseTo(2, 9);
  });

  it('reads aspects as people write them and rejects garbage regions from storage', () => {
    expect(formatAspect(4 / 3)).toBe('4:3');
    expect(formatAspect(1)).toBe('1:1');
    expect(formatAspect(1.27)).toBe('1.27:1');
    expect(formatAspect(0.5)).toBe('1:2.00');
    expect(validRegion({ x: 0, y: 0, width: 1, height: 1 })).toBe(true);
    expect(validRegion({ x: 0.5, y: 0, width: 0.6, height: 1 })).toBe(false);
    expect(validRegion({ x: 0, y: 0, width: '1', height: 1 })).toBe(false);
    expect(validRegion(null)).toBe(false);
  });
});

describe('k-of-n debounce', () => {
  it('defaults to 2 of 3: one noisy frame flips nothing, two in three do', () => {
    expect(DEFAULT_DEBOUNCE).toEqual({ k: 2, n: 3 });
    expect(run(['ok', 'ok', 'defect', 'ok', 'ok'])).toEqual([null, 'ok', 'ok', 'ok', 'ok']);
    expect(run(['ok', 'ok', 'defect', 'defect', 'ok', 'ok'])).toEqual([null, 'ok', 'ok', 'defect', 'defect', 'ok']);
    // 2 of 3 is a majority of the last three: once three frames are in, one of the two always holds.
    expect(run(['defect', 'ok', 'defect', 'ok', 'ok'])).toEqual([null, null, 'defect', 'ok', 'ok']);
  });

  it('is the frame verdict at 1 of 1, and needs all frames at n of n', () => {
    expect(run(['ok', 'defect', 'ok'], { k: 1, n: 1 })).toEqual(['ok', 'defect', 'ok']);
    expect(run(['defect', 'defect', 'ok', 'defect', 'defect', 'defect'], { k: 3, n: 3 })).toEqual([null, null, 'ok', 'ok', 'ok', 'defect']);
  });

  it('accepts only k within 1..n', () => {
    expect(validDebounce({ k: 2, n: 3 })).toBe(true);
    expect(validDebounce({ k: 4, n: 3 })).toBe(false);
    expect(validDebounce({ k: 0, n: 3 })).toBe(false);
    expect(validDebounce({ k: 1.5, n: 3 })).toBe(false);
  });

  it('counts passes and failures and gives the failure rate', () => {
    let c = ZERO_COUNTS;
    expect(failRate(c)).toBeNull();
    for (const v of ['ok', 'ok', null, 'defect', 'ok'] as const) c = countVerdict(c, v);
    expect(c).toEqual({ pass: 3, fail: 1 });
    expect(failRate(c)).toBe(0.25);
  });
});

describe('how many camera frames a quick teach needs', () => {
  it('follows the calibration rule: rate >= 1 / (n + 1) held-out frames, a fifth of them held out', () => {
    expect(heldOutNeeded(0.05)).toBe(19);
    expect(heldOutNeeded(0.1)).toBe(9);
    const n = framesNeeded(0.05)!;
    expect(heldOutCount(n)).toBeGreaterThanOrEqual(19);
    expect(heldOutCount(n - 1)).toBeLessThan(19);
    expect(n).toBe(93);
    // 1 % needs 99 held out, about 500 frames; 0.1 % is past the largest hold-out.
    expect(framesNeeded(0.01)).toBe(493);
    expect(framesNeeded(0.001)).toBeNull();
  });

  it('says which rate a number of frames supports: 20 frames hold out 4, which promise 20 %', () => {
    expect(rateSupportedBy(20)).toBe(0.2);
    expect(rateSupportedBy(93)).toBe(0.05);
    expect(rateSupportedBy(3)).toBe(1);
  });

  it('reports the rate held-out frames support, not the one asked for', () => {
    const scale = { mapLow: 0, mapHigh: 1 };
    const four = calibrate({ goodScores: [1, 2, 3, 4], source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.01 });
    expect(promisedRate(four)).toBe(0.2);
    const many = calibrate({ goodScores: Array.from({ length: 99 }, (_, i) => i), source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    expect(promisedRate(many)).toBe(0.05);
    expect(promisedRate(calibrate({ goodScores: [1, 2], source: 'training', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 }))).toBeNull();
    expect(promisedRate(null)).toBeNull();
  });
});
