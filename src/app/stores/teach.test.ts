import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FALSE_ALARM_RATE } from '../../core/inspection';
import { calibrationAt, FakeEngineClient, installLocalStorage, modelRecord, untilAborted } from '../../../test/support/appStores';
import type { ModelSummary } from '../../worker/protocol';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
installLocalStorage();

const { trainingFalseAlarmRate, useTeach } = await import('./teach');
const { useModels } = await import('./models');
const { useEngine } = await import('./engine');
const { useNotices } = await import('./notices');

describe('trainingFalseAlarmRate', () => {
  it('is the override, else the rate the model was calibrated for, else the default', () => {
    expect(trainingFalseAlarmRate(calibrationAt(1, { kind: 'false-alarm-rate', rate: 0.01 }), 0.002)).toBe(0.002);
    expect(trainingFalseAlarmRate(calibrationAt(1, { kind: 'false-alarm-rate', rate: 0.01 }))).toBe(0.01);
    // A threshold set by best F1 or by hand is no rate: a retrained flow scores differently.
    expect(trainingFalseAlarmRate(calibrationAt(1, { kind: 'f1-max' }))).toBe(DEFAULT_FALSE_ALARM_RATE);
    expect(trainingFalseAlarmRate(calibrationAt(1, { kind: 'manual', threshold: 1 }))).toBe(DEFAULT_FALSE_ALARM_RATE);
    expect(trainingFalseAlarmRate(null)).toBe(DEFAULT_FALSE_ALARM_RATE);
  });
});

describe('teach store', () => {
  const rec = modelRecord({ calibration: calibrationAt(3, { kind: 'false-alarm-rate', rate: 0.02 }) });
  const images = [1, 2].map((i) => ({ id: `img${i}`, name: `g${i}.png`, blob: new Blob([new Uint8Array([i])]), url: '', addedAt: i }));

  beforeEach(() => {
    fake.engine = new FakeEngineClient();
    useModels.setState({ records: [rec], activeId: rec.id, loaded: {} });
    useEngine.setState({ weights: { squeezenet1_1: { id: 'squeezenet1_1', hash: 'h', tensors: 1, params: 1, source: 's' } } });
    useTeach.setState({ modelId: rec.id, images, job: null, trainAbort: null });
    useNotices.setState({ notices: [] });
  });

  it('trains at the model\'s false-alarm rate, follows progress, and saves the new version', async () => {
    const summary = { backbone: 'squeezenet1_1', weightsHash: 'h', settings: rec.settings, calibration: calibrationAt(4), training: { images: 2, heldOut: 0 }, fileBytes: 3 } as unknown as ModelSummary;
    const seenJobs: unknown[] = [];
    fake.engine.answer('train', async (_args, opts) => {
      expect(useTeach.getState().trainAbort).toBeInstanceOf(AbortController);
      opts.onProgress!({ phase: 'flow', done: 1, total: 4, loss: 2.5 });
      seenJobs.push(useTeach.getState().job);
      return { bytes: new Uint8Array([1, 2, 3]).buffer, summary };
    });
    expect(await useTeach.getState().train()).toBe(true);
    expect(fake.engine.callsOf('train')[0]).toMatchObject({ modelId: rec.id, falseAlarmRate: 0.02, names: ['g1.png', 'g2.png'] });
    expect(seenJobs[0]).toMatchObject({ phase: 'flow', done: 1, total: 4, losses: [{ step: 1, loss: 2.5 }] });
    expect(useModels.getState().records[0]).toMatchObject({ version: 2, calibration: summary.calibration });
    expect(useTeach.getState()).toMatchObject({ job: null, trainAbort: null });
  });

  it('a stricter override wins, and cancel leaves the model as it was', async () => {
    fake.engine.answer('train', (_args, opts) => untilAborted(opts.signal));
    const run = useTeach.getState().train(0.001);
    await vi.waitFor(() => expect(useTeach.getState().trainAbort).not.toBeNull());
    expect(fake.engine.callsOf('train')[0]).toMatchObject({ falseAlarmRate: 0.001 });
    useTeach.getState().cancel();
    expect(await run).toBe(false);
    expect(useModels.getState().records[0].version).toBe(1);
    expect(useNotices.getState().notices.map((n) => n.message)).toContain('Training cancelled; the previous version of the model is unchanged.');
    expect(useTeach.getState().trainAbort).toBeNull();
  });

  it('refuses to train without weights or images, saying why', async () => {
    useEngine.setState({ weights: {} });
    expect(await useTeach.getState().train()).toBe(false);
    useEngine.setState({ weights: { squeezenet1_1: { id: 'squeezenet1_1', hash: 'h', tensors: 1, params: 1, source: 's' } } });
    useTeach.setState({ images: [] });
    expect(await useTeach.getState().train()).toBe(false);
    expect(useNotices.getState().notices.map((n) => n.message)).toEqual(['Load the SqueezeNet 1.1 weights before training.', 'Add some images of good parts first.']);
    expect(fake.engine.calls).toEqual([]);
  });
});
