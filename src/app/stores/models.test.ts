import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FEATURE_POWER, DEFAULT_SETTINGS, DEFAULT_WHITENING_SHRINKAGE, WHITENED_PASSES } from '../../core/model/settings';
import { FakeEngineClient, installLocalStorage } from '../../../test/support/appStores';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
installLocalStorage();

const { useModels } = await import('./models');

describe('models store: settings follow the backbone', () => {
  beforeEach(() => {
    fake.engine = new FakeEngineClient();
    useModels.setState({ records: [], activeId: null, loaded: {} });
  });

  it("a new GoogLeNet model trains on GoogLeNet's default features with a whitened flow on their square roots, a SqueezeNet one on the paper's three scales and flow", async () => {
    const g = await useModels.getState().create('g', 'googlenet');
    expect(g.settings.features).toEqual({ size: 224, scales: 1 });
    expect(g.settings.flow).toEqual({ ...DEFAULT_SETTINGS.flow, whitening: DEFAULT_WHITENING_SHRINKAGE, power: DEFAULT_FEATURE_POWER });
    expect(g.settings.train.epochs * g.settings.train.subEpochs).toBe(WHITENED_PASSES.epochs * WHITENED_PASSES.subEpochs);
    const s = await useModels.getState().create('s', 'squeezenet1_1');
    expect(s.settings.features).toEqual({ size: 448, scales: 3 });
    expect(s.settings.flow).toEqual(DEFAULT_SETTINGS.flow);
  });

  it('choosing another backbone replaces the features (taps included) and keeps the rest of the settings', async () => {
    const r = await useModels.getState().create('m', 'squeezenet1_1');
    const custom = { ...r.settings, features: { size: 320, scales: 2, taps: ['fire9'] }, train: { ...r.settings.train, epochs: 9 } };
    await useModels.getState().update(r.id, { settings: custom });
    await useModels.getState().update(r.id, { backbone: 'googlenet' });
    const g = useModels.getState().records.find((x) => x.id === r.id)!;
    expect(g.backbone).toBe('googlenet');
    expect(g.settings.features).toEqual({ size: 224, scales: 1 });
    expect(g.settings.train.epochs).toBe(9);
    // Renaming leaves the features alone; settings given with the change win.
    await useModels.getState().update(r.id, { name: 'renamed' });
    expect(useModels.getState().records.find((x) => x.id === r.id)!.settings.features).toEqual({ size: 224, scales: 1 });
    await useModels.getState().update(r.id, { backbone: 'alexnet', settings: custom });
    expect(useModels.getState().records.find((x) => x.id === r.id)!.settings.features).toEqual(custom.features);
  });
});
