import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../core/model/settings';
import { FULL_FRAME, rateOf, useLive } from '../../stores/live';
import { sameRegion, scoredRegion } from './region';
import { wrapText } from './snapshot';

// A fixed-width font: 10 px a character.
const measure = (s: string) => 10 * s.length;

describe('snapshot caption', () => {
  it('wraps at spaces so no line is wider than the frame, and cuts a word too long for a line', () => {
    const lines = wrapText(measure, 'DEFECT · score 0.912 (threshold 0.5)', 120);
    expect(lines.every((l) => measure(l) <= 120)).toBe(true);
    expect(lines.join(' ')).toBe('DEFECT · score 0.912 (threshold 0.5)');
    const long = wrapText(measure, 'Model “averyveryverylongmodelname” v3', 100);
    expect(long.every((l) => measure(l) <= 100)).toBe(true);
    expect(long.join('').replace(/ /g, '')).toBe('Model“averyveryverylongmodelname”v3');
  });
});

describe('the region Live scores', () => {
  it('is the centred crop to the training framing by default, and the chosen region when there is one', () => {
    const square = scoredRegion(null, { ...DEFAULT_SETTINGS, framing: { aspect: 1 } }, 640, 480);
    expect(square).toEqual({ x: 0.125, y: 0, width: 0.75, height: 1, relative: true });
    // A model saved before framing was recorded: square too.
    expect(scoredRegion(null, DEFAULT_SETTINGS, 640, 480)).toEqual(square);
    const mine = { x: 0.1, y: 0.1, width: 0.2, height: 0.3, relative: true };
    expect(scoredRegion(mine, DEFAULT_SETTINGS, 640, 480)).toBe(mine);
    expect(sameRegion(square, { ...square })).toBe(true);
    expect(sameRegion(square, FULL_FRAME)).toBe(false);
  });
});

describe('station counts in the live store', () => {
  it('counts frames by the 2-of-3 verdict, and reports when it turns DEFECT', () => {
    const live = useLive.getState();
    live.resetCounts();
    live.set({ debounced: { window: [], stable: null } });
    const r = { score: 1, mapWidth: 0, mapHeight: 0, roi: FULL_FRAME, at: 0 };
    const turns = (['ok', 'ok', 'defect', 'ok', 'defect', 'defect'] as const).map((v, i) => useLive.getState().record({ ...r, at: i * 100 }, v));
    // The first frame decides nothing (1 of 3 is neither 2 defects nor 2 good), so it is not counted.
    expect(useLive.getState().counts).toEqual({ pass: 3, fail: 2 });
    // ok ok defect ok stays OK (one defect in each window of three); the second defect in three turns it.
    expect(turns.map((t) => t.after)).toEqual([null, 'ok', 'ok', 'ok', 'defect', 'defect']);
    expect(turns.filter((t) => t.after === 'defect' && t.before !== 'defect')).toHaveLength(1);
    useLive.getState().resetCounts();
    expect(useLive.getState().counts).toEqual({ pass: 0, fail: 0 });
  });
});

describe('verdicts from two lanes in the live store', () => {
  it('counts a map\'s older verdict but keeps showing the newest frame', () => {
    const live = useLive.getState();
    live.resetCounts();
    live.set({ debounced: { window: [], stable: null }, result: null, frames: 0, frameTimes: [] });
    const r = { score: 1, mapWidth: 0, mapHeight: 0, roi: FULL_FRAME };
    useLive.getState().record({ ...r, at: 1000, takenAt: 5000, score: 0.1 }, 'ok');
    // The map lane's frame was taken before the score's frame, and its result comes after.
    useLive.getState().record({ ...r, at: 1100, takenAt: 4200, score: 0.9 }, 'defect');
    const s = useLive.getState();
    expect(s.frames).toBe(2);
    expect(s.result?.score).toBe(0.1);
    expect(s.debounced.window).toEqual(['ok', 'defect']);
    useLive.getState().record({ ...r, at: 1200, takenAt: 5300, score: 0.3 }, 'ok');
    expect(useLive.getState().result?.score).toBe(0.3);
  });

  it('reads a rate over the window\'s span, not as the mean of 1 / interval', () => {
    // Four intervals of 50 and 300 ms, alternating: 4 events in 0.7 s.
    expect(rateOf([0, 50, 350, 400, 700])).toBeCloseTo(4 / 0.7, 9);
    expect(rateOf([100])).toBe(0);
    expect(rateOf([])).toBe(0);
  });
});
