import { describe, expect, it } from 'vitest';
import { BACKBONE_EVIDENCE, DEFAULT_SETTINGS, forBackbone } from '../../core/model/settings';
import { activePreset, quickPreset } from '../components/SettingsForm';
import { defaultBackbone, evidenceSentence, missingBackbone, tapsLabel } from './backbones';

describe('tapsLabel', () => {
  it('names the shared prefix once', () => {
    expect(tapsLabel(['inception_3b', 'inception_4a', 'inception_4c', 'inception_4e'])).toBe('inception_3b + 4a + 4c + 4e');
    expect(tapsLabel(['features.7', 'features.12'])).toBe('features.7 + features.12');
    expect(tapsLabel(['conv2_3x3', 'inception_4e'])).toBe('conv2_3x3 + inception_4e');
  });
});

describe('defaultBackbone', () => {
  it('picks GoogLeNet whenever its weights are loaded, else the loaded one, else GoogLeNet to download', () => {
    expect(defaultBackbone({ googlenet: 1, alexnet: 1, squeezenet1_1: 1 })).toBe('googlenet');
    expect(defaultBackbone({ googlenet: 1, squeezenet1_1: 1 })).toBe('googlenet');
    expect(defaultBackbone({ alexnet: 1, squeezenet1_1: 1 })).toBe('alexnet');
    expect(defaultBackbone({ squeezenet1_1: 1 })).toBe('squeezenet1_1');
    expect(defaultBackbone({})).toBe('googlenet');
  });
});

describe('missingBackbone', () => {
  it('offers the best backbone that is not loaded, and none when all are', () => {
    expect(missingBackbone({})).toBe('googlenet');
    expect(missingBackbone({ googlenet: 1 })).toBe('alexnet');
    expect(missingBackbone({ googlenet: 1, alexnet: 1 })).toBe('squeezenet1_1');
    expect(missingBackbone({ googlenet: 1, alexnet: 1, squeezenet1_1: 1 })).toBeUndefined();
  });
});

describe('evidenceSentence', () => {
  it('gives both measured AUROCs with one decimal and names the source', () => {
    const e = { ...BACKBONE_EVIDENCE, auroc: { googlenet: 96.234, squeezenet1_1: 87.9 } };
    expect(evidenceSentence(e)).toBe(
      "GoogLeNet's mid-level features find the most defects: on Magnetic Tile Defects its default model scores image AUROC 96.2 against 87.9 for SqueezeNet (BENCHMARKS.md).",
    );
  });

  it('leaves the numbers out, never prints a placeholder, until both are entered', () => {
    for (const auroc of [{ googlenet: null, squeezenet1_1: null }, { googlenet: 96.2, squeezenet1_1: null }, { googlenet: NaN, squeezenet1_1: 80 }]) {
      const s = evidenceSentence({ ...BACKBONE_EVIDENCE, auroc });
      expect(s).toMatch(/^GoogLeNet's mid-level features find the most defects: .*\(BENCHMARKS\.md\)\.$/);
      expect(s).not.toMatch(/\d|null|NaN|undefined/);
    }
  });
});

describe('settings per backbone', () => {
  const presets = { default: DEFAULT_SETTINGS, paper: DEFAULT_SETTINGS };
  it("GoogLeNet's balanced preset is its own one 224 px pass, and the quick demo keeps it", () => {
    const g = forBackbone(DEFAULT_SETTINGS, 'googlenet');
    expect(g.features).toEqual({ size: 224, scales: 1 });
    expect(activePreset(g, { ...presets, default: g })).toBe('default');
    expect(quickPreset(g).features).toEqual({ size: 224, scales: 1 });
    // The 448 px backbones' demo still shrinks to 224 px at three scales.
    expect(quickPreset(DEFAULT_SETTINGS).features).toEqual({ size: 224, scales: 3 });
    expect(quickPreset(DEFAULT_SETTINGS, 'squeezenet1_1').features).toEqual({ size: 224, scales: 3 });
    // AlexNet's smallest image is 63 px: 224 px allows it two scales (56 px would leave its last pool empty).
    const a = quickPreset(forBackbone(DEFAULT_SETTINGS, 'alexnet'), 'alexnet');
    expect(a.features).toEqual({ size: 224, scales: 2 });
    expect(activePreset(a, { ...presets, default: forBackbone(DEFAULT_SETTINGS, 'alexnet') }, 'alexnet')).toBe('quick');
  });
});
