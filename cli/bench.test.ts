import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../src/core';
import { modelCacheKey, risesWith, sectionsKept, shownArgs } from './bench';
import { mapSpeedSection, withMapSpeed, type MapSpeedRow } from './benchMaps';

describe('bench', () => {
  it('writes the command line without this machine\'s cache and output paths', () => {
    expect(shownArgs(['--cache', 'my-cache', '--study', '64x8', '--out=results/b.md', '--seeds', '2'])).toEqual(['--cache', 'DIR', '--study', '64x8', '--out=FILE', '--seeds', '2']);
  });

  it('caches one model per seed and per setting', () => {
    const seed1 = { ...DEFAULT_SETTINGS, train: { ...DEFAULT_SETTINGS.train, seed: 1 } };
    expect(modelCacheKey('h', seed1)).not.toBe(modelCacheKey('h', DEFAULT_SETTINGS));
    expect(modelCacheKey('h', structuredClone(DEFAULT_SETTINGS))).toBe(modelCacheKey('h', DEFAULT_SETTINGS));
    expect(modelCacheKey('other', DEFAULT_SETTINGS)).not.toBe(modelCacheKey('h', DEFAULT_SETTINGS));
  });

  it('keeps the hand-written and browser sections of the file it rewrites, and nothing else', () => {
    const md = '# Benchmarks\n\n## Default model\n\nnumbers\n\n## Calibration (written by hand, not by the script)\n\nprose\n\n## Browser against CLI (written by `npm run bench:browser`)\n\ntable\n';
    const kept = sectionsKept(md);
    expect(kept).toContain('prose');
    expect(kept).toContain('table');
    expect(kept).not.toContain('numbers');
    expect(sectionsKept('# Benchmarks\n\n## Default model\n')).toBe('');
  });

  it('says plainly whether the AUROC rises with T', () => {
    expect(risesWith([0.79, 0.793, 0.794, 0.80])).toBe('yes, at every step (+0.30, +0.10, +0.60 points)');
    expect(risesWith([0.81, 0.787, 0.77])).toBe('no, it falls or stays (-2.30, -1.70 points)');
    expect(risesWith([0.79, 0.80, 0.795])).toBe('not steadily (+1.00, -0.50 points)');
  });

  it('writes the map section before the browser section, replaces it on the next run, and a full run keeps it', () => {
    const row = (wall: number): MapSpeedRow => ({ label: 'SqueezeNet', transforms: 1, images: 5, score: { wall: 0.5, cpu: 0.2 }, hostMap: { wall, cpu: 0.4 }, tfMap: { wall: 4, cpu: 1.6 }, hostBytes: 2 ** 27 });
    const md = '# Benchmarks\n\n## Default model\n\nx\n\n## Browser against CLI (written by `npm run bench:browser`)\n\ny\n';
    const once = withMapSpeed(md, mapSpeedSection([row(1)], 'how'));
    expect(once.indexOf('map-speed:start')).toBeLessThan(once.indexOf('## Browser against CLI'));
    expect(once).toContain('| SqueezeNet | 1 | 0.500 s (CPU 0.200) | 1.000 s (CPU 0.400) | **2.00**; 2.00 | 4.000 s (CPU 1.600) | 8.00; 8.00 | 128 MB |');
    const twice = withMapSpeed(once, mapSpeedSection([row(1.5)], 'how'));
    expect(twice.match(/map-speed:start/g)).toHaveLength(1);
    expect(twice).toContain('**3.00**');
    expect(sectionsKept(twice)).toContain('map-speed:start');
  });
});
