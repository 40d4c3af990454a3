import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bestF1Threshold, evaluationReport, recalibrate, type EvaluationReport } from '../../core/inspection';
import { calibrationAt, FakeEngineClient, imageFile, installLocalStorage, modelRecord, untilAborted } from '../../../test/support/appStores';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
installLocalStorage();

const { bestF1, calibratedAlternative, reportOf, useEvaluate } = await import('./evaluate');
const { useModels } = await import('./models');
type EvalItem = import('./evaluate').EvalItem;

const item = (name: string, label: 0 | 1, score?: number, category = label === 0 ? 'good' : 'crack'): EvalItem => ({ id: name, name, blob: imageFile(name), url: `blob:${name}`, label, category, score });

describe('reportOf and bestF1', () => {
  const items = [item('g1', 0, 1), item('g2', 0, 2), item('g3', 0, 4), item('d1', 1, 3), item('d2', 1, 5, 'hole'), item('unscored', 1)];

  it('reportOf reports the scored items at the threshold, per defect type', () => {
    const r = reportOf(items, 3);
    const expected: EvaluationReport = evaluationReport(
      items.filter((i) => i.score !== undefined).map((i) => ({ score: i.score!, label: i.label, defect: i.category })),
      3,
    );
    expect(r).toEqual(expected);
    expect(Object.keys(r.perDefect).sort()).toEqual(['crack', 'hole']);
    expect(r.atThreshold).toMatchObject({ tp: 2, fp: 1, tn: 2, fn: 0 });
  });

  it("bestF1 is the core's best-F1 cut over the scored items (unscored ones left out)", () => {
    expect(bestF1(items)).toBe(bestF1Threshold(items.slice(0, 5).map((i) => ({ score: i.score!, label: i.label, defect: i.category }))));
    expect(bestF1(items.filter((i) => i.label === 0))).toBeNull();
  });
});

describe('evaluate store', () => {
  beforeEach(() => {
    fake.engine = new FakeEngineClient();
    useEvaluate.setState({ items: [], running: false, abort: null, threshold: null, metrics: null, progress: null });
  });

  it('runs the set, and calibrates (best F1) a model that has no threshold', async () => {
    const rec = modelRecord({ calibration: null });
    useModels.setState({ records: [rec], activeId: rec.id, loaded: { [rec.id]: true } });
    const cal = calibrationAt(2.5, { kind: 'f1-max' });
    fake.engine
      .answer('evaluate', async (args) => ({ scores: args.items.map((_, i) => i), errors: args.items.map(() => null), pixelAuroc: 0.9, calibration: cal }))
      .answer('setCalibration', async () => undefined);
    useEvaluate.getState().addTagged([{ file: imageFile('g.png'), path: 'g.png' }, { file: imageFile('h.png'), path: 'h.png' }], 0);
    useEvaluate.getState().addTagged([{ file: imageFile('d.png'), path: 'd.png' }], 1);
    await useEvaluate.getState().run();
    expect(fake.engine.callsOf('evaluate')[0]).toMatchObject({ modelId: rec.id, maps: true, calibrate: { kind: 'f1-max' } });
    expect(useEvaluate.getState().items.map((i) => i.score)).toEqual([0, 1, 2]);
    expect(useEvaluate.getState().metrics).toEqual({ pixelAuroc: 0.9 });
    expect(useModels.getState().records[0].calibration).toEqual(cal);
    expect(useEvaluate.getState().abort).toBeNull();
  });

  it('a model with a threshold is not recalibrated; cancel clears the controller', async () => {
    const rec = modelRecord();
    useModels.setState({ records: [rec], activeId: rec.id, loaded: { [rec.id]: true } });
    fake.engine.answer('evaluate', (_args, opts) => untilAborted(opts.signal));
    useEvaluate.getState().addTagged([{ file: imageFile('g.png'), path: 'g.png' }], 0);
    const run = useEvaluate.getState().run();
    await vi.waitFor(() => expect(useEvaluate.getState().abort).toBeInstanceOf(AbortController));
    expect(fake.engine.callsOf('evaluate')[0]).toMatchObject({ calibrate: undefined });
    useEvaluate.getState().cancel();
    await run;
    expect(useEvaluate.getState()).toMatchObject({ running: false, abort: null, progress: null });
  });

  it('keeps the calibrated threshold one click away after adopting the best-F1 cut', async () => {
    const held = recalibrate(calibrationAt(10), { kind: 'false-alarm-rate', rate: 0.05 });
    const rec = modelRecord({ id: 'model-f1', calibration: held });
    useModels.setState({ records: [rec], activeId: rec.id, loaded: { [rec.id]: true } });
    fake.engine.answer('setCalibration', async () => undefined);
    // Nothing to go back to while the model is on its calibrated threshold.
    expect(calibratedAlternative(held, rec.id)).toBeNull();
    useEvaluate.setState({ items: [item('g1', 0, 1), item('g2', 0, 2), item('d1', 1, 3)] });
    await useEvaluate.getState().adopt('f1');
    const f1 = useModels.getState().records[0].calibration!;
    expect(f1.method.kind).toBe('manual');
    expect(f1.threshold).not.toBe(held.threshold);
    expect(calibratedAlternative(f1, rec.id)).toEqual(held);
    await useEvaluate.getState().restoreCalibrated();
    expect(useModels.getState().records[0].calibration).toEqual(held);
    // After a reload (nothing remembered) the held-out scores the model still carries give it back at the default rate.
    expect(calibratedAlternative(f1, 'another-model')).toMatchObject({ method: { kind: 'false-alarm-rate', rate: 0.05 }, goodScores: held.goodScores });
  });
});
