import { describe, expect, it } from 'vitest';
import { settingsFromFlags, UsageError } from './options';

describe('settings from flags', () => {
  it('the default has no rotations; --rotate turns on the paper augmentation and later flags still apply', () => {
    expect(settingsFromFlags({}).train.rotate).toBe(false);
    const r = settingsFromFlags({ rotate: true, 'test-transforms': '64' });
    expect(r.train).toMatchObject({ rotate: true, copies: 32, transforms: 4 });
    expect(r.testTransforms).toBe(64);
  });

  it('the paper preset rotates unless told not to', () => {
    expect(settingsFromFlags({ preset: 'paper' }).train.rotate).toBe(true);
    const p = settingsFromFlags({ preset: 'paper', 'no-rotate': true });
    expect(p.train).toMatchObject({ rotate: false, copies: 1 });
    expect(p.flow.hidden).toBe(2048);
  });

  it('contradictions and bad values are usage errors', () => {
    expect(() => settingsFromFlags({ rotate: true, 'no-rotate': true })).toThrow(UsageError);
    expect(() => settingsFromFlags({ width: '0' })).toThrow(/--width/);
  });
});

describe('formatSeconds', () => {
  it('rounds to whole seconds before splitting minutes, so no time reads "2m60s"', async () => {
    const { formatSeconds } = await import('./progressBar');
    expect(formatSeconds(179.6)).toBe('3m00s');
    expect(formatSeconds(59.7)).toBe('1m00s');
    expect(formatSeconds(42.2)).toBe('42s');
    expect(formatSeconds(3725)).toBe('1h02m');
  });
});
