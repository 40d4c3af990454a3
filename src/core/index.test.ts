// The public API end to end, as an app would use it, and its size: new exports are a decision, not drift.
import { beforeAll, describe, expect, it } from 'vitest';
import * as api from './index';
import { encodeWeightsFile } from './model/weightsFile';
import { syntheticPart } from '../../test/support/images';
import { readShared } from '../../test/support/shared';
import { leakedTensors, setupTf } from '../../test/support/tf';

beforeAll(setupTf);

const settings: api.ModelSettings = {
  ...api.DEFAULT_SETTINGS,
  features: { size: 64, scales: 2 },
  flow: { blocks: 2, hidden: 32, clamp: 3 },
  train: { ...api.DEFAULT_SETTINGS.train, epochs: 2, subEpochs: 2, batchSize: 4 },
};

describe('public engine API', () => {
  it('is small: backend, execution plan, backbone, train, load/save, errors, presets, heatmap colours and the inspection policy', async () => {
    const inspection = Object.keys(await import('./inspection'));
    const own = Object.keys(api).filter((k) => !inspection.includes(k)).sort();
    expect(own).toEqual(
      [
        'BACKBONE_IDS',
        'BackendError',
        'CancelledError',
        'DEFAULT_SETTINGS',
        'ModelFileError',
        'PAPER_SETTINGS',
        'PthError',
        'createExecutionPlan',
        'WeightsError',
        'currentBackend',
        'forBackbone',
        'heatColour',
        'heatPalette',
        'loadBackbone',
        'loadModel',
        'overlayHeatmap',
        'saveModel',
        'train',
        'useBackend',
        'withRotations',
      ].sort(),
    );
  });

  it('loads a backbone, trains, scores, maps defects, saves, loads and disposes without leaking', async () => {
    const pth = readShared('weights', 'squeezenet1_1-imagenet.pth');
    const leaked = await leakedTensors(async () => {
      const backbone = api.loadBackbone(pth);
      expect(backbone.id).toBe('squeezenet1_1');
      // Chosen once, as an app's worker would: from the backend it started, on this thread alone.
      const plan = api.createExecutionPlan({ backend: api.currentBackend(), featureThreads: { helpers: 0 } });
      expect(plan.features.name).toBe('wasm');
      const model = await api.train(backbone, Array.from({ length: 6 }, (_, i) => syntheticPart(64, i)), settings, { plan });
      expect(model.calibration!.threshold).toBeGreaterThan(0);
      const part = syntheticPart(64, 40);
      const score = await model.score(part);
      const map = await model.defectMap(part);
      expect(map.score).toBeCloseTo(score, 3);
      expect(map.map.length).toBe(map.width * map.height);
      const bytes = await api.saveModel(model, { name: 'tiny', includeBackbone: false });
      const loaded = api.loadModel(bytes, plan.features, backbone);
      expect(loaded.ownsBackbone).toBe(false);
      expect(await loaded.model.score(part)).toBeCloseTo(score, 5);
      loaded.model.dispose();
      model.dispose();
      // The engine's own weights file gives the same backbone.
      const again = api.loadBackbone(encodeWeightsFile(backbone.id, backbone.weightsHash, 'x', backbone.stateDict()));
      expect(again.weightsHash).toBe(backbone.weightsHash);
      again.dispose();
      backbone.dispose();
    });
    expect(leaked).toBe(0);
  });
});
