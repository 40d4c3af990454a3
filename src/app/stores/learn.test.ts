// Learning from corrections, through the app's stores over a fake engine client and fake-indexeddb: a part marked
// good is stored and its correction recorded, recalibration applies training's rule, every training is a
// kept version, versions are compared and rolled back, and a full disk loses nothing.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { calibrate, conformalThreshold, verdictRecord, type Calibration } from '../../core/inspection';
import type { ModelSummary } from '../../worker/protocol';
import { FakeEngineClient, installLocalStorage, modelRecord } from '../../../test/support/appStores';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
installLocalStorage();

const { useModels } = await import('./models');
const { useLearn } = await import('./learn');
const { useNotices } = await import('./notices');
const { listImages, addImages } = await import('../persistence/images');
const { listVersions, listDefects } = await import('../persistence/learning');
const { queryVerdicts, recordVerdicts } = await import('../persistence/history');
const { saveModelRecord } = await import('../persistence/models');

const heldOut = Array.from({ length: 39 }, (_, i) => i + 1);
const calV1 = calibrate({ goodScores: heldOut, source: 'held-out', mapScale: { mapLow: 1, mapHigh: 2 } }, { kind: 'false-alarm-rate', rate: 0.05 });
const calV2: Calibration = { ...calV1, threshold: 50 };

function summary(cal: Calibration, images: number): ModelSummary {
  return { backbone: 'squeezenet1_1', weightsHash: 'w', settings: modelRecord().settings, calibration: cal, training: { images, heldOut: 1, losses: [], finishedAt: new Date().toISOString() }, fileBytes: 3 } as unknown as ModelSummary;
}

const png = (n: number) => new Blob([new Uint8Array([137, 80, n])], { type: 'image/png' });
let modelId = '';

beforeEach(async () => {
  fake.engine = new FakeEngineClient().answer('loadModel', () => summary(calV1, 1)).answer('unloadModel', () => undefined).answer('setCalibration', () => undefined);
  useNotices.setState({ notices: [] });
});

describe('versions', () => {
  beforeEach(async () => {
    const r = await useModels.getState().create(`Part ${Math.random()}`, 'squeezenet1_1');
    modelId = r.id;
  });

  it('keeps every training as a version, rolls back without deleting, and numbers past every version ever saved', async () => {
    const models = useModels.getState();
    expect(await models.saveTrained(modelId, new Uint8Array([1]).buffer, summary(calV1, 4), { change: 'first training on 5 good images', trainedOn: ['a', 'b', 'c', 'd'], heldOut: ['e'] })).toBe(1);
    expect(await models.saveTrained(modelId, new Uint8Array([2]).buffer, summary(calV2, 5), { change: 'retrained', trainedOn: ['a', 'b', 'c', 'e', 'f'], heldOut: ['d'] })).toBe(2);
    expect((await listVersions(modelId)).map((v) => [v.version, v.change, v.calibration?.threshold])).toEqual([
      [1, 'first training on 5 good images', calV1.threshold],
      [2, 'retrained', 50],
    ]);
    await useLearn.getState().rollBack(modelId, 1);
    const back = useModels.getState().records.find((r) => r.id === modelId)!;
    expect(back).toMatchObject({ version: 1, latestVersion: 2, calibration: { threshold: calV1.threshold } });
    // The engine now holds v1's file.
    const loaded = fake.engine.callsOf('loadModel').at(-1) as { modelId: string; bytes: ArrayBuffer };
    expect(loaded.modelId).toBe(modelId);
    expect([...new Uint8Array(loaded.bytes)]).toEqual([1]);
    expect((await listVersions(modelId)).map((v) => v.version)).toEqual([1, 2]);
    // Training after a roll-back makes v3, not a second v2.
    expect(await useModels.getState().saveTrained(modelId, new Uint8Array([3]).buffer, summary(calV1, 5))).toBe(3);
    expect((await listVersions(modelId)).map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it('a full disk while saving a new version changes nothing and says what to do', async () => {
    await useModels.getState().saveTrained(modelId, new Uint8Array([1]).buffer, summary(calV1, 4));
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      await expect(useModels.getState().saveTrained(modelId, new Uint8Array([2]).buffer, summary(calV2, 5))).rejects.toThrow(/storage is full.*Delete models you no longer need/);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(useModels.getState().records.find((r) => r.id === modelId)).toMatchObject({ version: 1, calibration: { threshold: calV1.threshold } });
    expect((await listVersions(modelId)).map((v) => v.version)).toEqual([1]);
  });

  it('a model trained before versions were kept keeps its current file as a version when it is retrained', async () => {
    const old = modelRecord({ id: `legacy-${Math.random()}`, version: 3, calibration: calV1 });
    await saveModelRecord(old, new Uint8Array([9]).buffer);
    useModels.setState((s) => ({ records: [old, ...s.records] }));
    expect(await useModels.getState().saveTrained(old.id, new Uint8Array([10]).buffer, summary(calV2, 5))).toBe(4);
    const versions = await listVersions(old.id);
    expect(versions.map((v) => [v.version, v.change, v.trainedOn])).toEqual([
      [3, 'trained before versions were kept', null],
      [4, 'trained', null],
    ]);
  });
});

describe('marking verdicts wrong', () => {
  beforeEach(async () => {
    modelId = (await useModels.getState().create(`Tiles ${Math.random()}`, 'squeezenet1_1')).id;
    await useModels.getState().saveTrained(modelId, new Uint8Array([1]).buffer, summary(calV1, 4), { change: 'first training', trainedOn: ['t1'], heldOut: ['h1'] });
    useLearn.setState({ offer: null, job: null, comparison: null });
  });

  it('"This part is good" stores the image, records the correction in the trail, and recalibration applies the training rule', async () => {
    const rec = useModels.getState().records.find((r) => r.id === modelId)!;
    const at = Date.now() - 5000;
    const [saved] = await recordVerdicts([
      verdictRecord({ time: at, source: 'inspect', station: '', operator: '', imageName: 'lot/a.png', imageHash: null, model: { id: modelId, name: rec.name, version: 1, hash: null }, rawScore: 100, calibration: calV1 }),
    ]);
    await useLearn.getState().markGood({ modelId, blob: png(1), name: 'lot/a.png', from: 'inspect', verdictAt: at });
    const images = await listImages(modelId);
    expect(images.map((i) => [i.name, i.origin])).toEqual([['lot/a.png', 'correction']]);
    const trail = await queryVerdicts({ modelId });
    const fix = trail.find((r) => r.kind === 'correction')!;
    expect(fix).toMatchObject({ verdict: 'OK', correctionOf: saved.seq, imageName: 'lot/a.png' });
    expect(useLearn.getState().offer).toEqual({ modelId, name: 'lot/a.png' });
    expect(useLearn.getState().pending[modelId].map((i) => i.name)).toEqual(['lot/a.png']);

    // The same picture again is not stored twice.
    await useLearn.getState().markGood({ modelId, blob: png(1), name: 'again.png', from: 'evaluate' });
    expect(await listImages(modelId)).toHaveLength(1);

    fake.engine.answer('analyze', () => ({ score: 100, mapWidth: 0, mapHeight: 0, width: 1, height: 1, ms: 1 }));
    await useLearn.getState().recalibrate(modelId);
    const now = useModels.getState().records.find((r) => r.id === modelId)!;
    expect(now.calibration!.threshold).toBe(conformalThreshold([...heldOut, 100], 0.05).threshold);
    expect(now.calibration!.threshold).toBeGreaterThan(calV1.threshold);
    // The new threshold is part of the version's name wherever verdicts are shown: v1.1.
    expect(now.calibration!.revision).toBe(1);
    expect(useNotices.getState().notices.map((n) => n.message).join('\n')).toMatch(/recalibrated with 1 image marked good, now v1\.1: raw threshold/);
    expect(fake.engine.callsOf('setCalibration')).toHaveLength(1);
    const v1 = (await listVersions(modelId)).find((v) => v.version === 1)!;
    expect(v1.calibratedWith).toEqual([images[0].id]);
    expect(v1.calibration!.threshold).toBe(now.calibration!.threshold);
    expect(v1.change).toBe('first training; recalibrated with 1 image marked good');
    // Once in the threshold, nothing is waiting any more.
    expect(useLearn.getState().pending[modelId]).toEqual([]);
  });

  it('a part is good or a defect, never both: repeat marks record nothing, the other mark moves it', async () => {
    const rec = useModels.getState().records.find((r) => r.id === modelId)!;
    const at = Date.now() - 4000;
    await recordVerdicts([
      verdictRecord({ time: at, source: 'inspect', station: '', operator: '', imageName: 'lot/c.png', imageHash: null, model: { id: modelId, name: rec.name, version: 1, hash: null }, rawScore: 100, calibration: calV1 }),
    ]);
    const target = { modelId, blob: png(4), name: 'lot/c.png', from: 'inspect' as const, verdictAt: at };
    const corrections = async () => (await queryVerdicts({ modelId })).filter((r) => r.kind === 'correction').map((r) => r.verdict);
    const messages = () => useNotices.getState().notices.map((n) => n.message);

    await useLearn.getState().markGood(target);
    await useLearn.getState().markGood(target);
    expect(await listImages(modelId)).toHaveLength(1);
    expect(await corrections()).toEqual(['OK']);
    expect(messages().at(-1)).toMatch(/lot\/c\.png is already marked good .*nothing new recorded/);
    expect(useLearn.getState().marks[`${modelId}:lot/c.png`]).toBe('good');

    // Now a defect: out of the good images and of what Recalibrate would count, in the defect set once.
    await useLearn.getState().markDefect(target);
    expect(await listImages(modelId)).toEqual([]);
    expect((await listDefects(modelId)).map((d) => d.name)).toEqual(['lot/c.png']);
    expect(useLearn.getState().pending[modelId]).toEqual([]);
    expect(useLearn.getState().marks[`${modelId}:lot/c.png`]).toBe('defect');
    // v1 never saw it, so nothing in the current threshold needs a retraining.
    expect(messages().at(-1)).not.toMatch(/retrain to leave it out/);
    // The verdict said DEFECT: the earlier correction is withdrawn, not a "DEFECT corrected to DEFECT".
    expect(await corrections()).toEqual(['DEFECT', 'OK']);
    expect(messages().at(-1)).toMatch(/taken out of its good images.*the earlier correction is withdrawn in History \(the DEFECT verdict stands\)/);
    await useLearn.getState().markDefect(target);
    expect(await listDefects(modelId)).toHaveLength(1);
    expect(await corrections()).toHaveLength(2);
    expect(messages().at(-1)).toMatch(/already filed as a defect .*nothing new recorded/);

    // And back to good: out of the defect set, waiting for the threshold again.
    await useLearn.getState().markGood(target);
    expect(await listDefects(modelId)).toEqual([]);
    expect(useLearn.getState().pending[modelId].map((i) => i.name)).toEqual(['lot/c.png']);
    expect(await corrections()).toEqual(['OK', 'DEFECT', 'OK']);
  });

  it('a trained-on good image marked a defect leaves the good images and says the current version still includes it', async () => {
    // v1 trained on 't1' (beforeEach): its picture, marked a defect in Live, where the versions list is not loaded.
    await addImages([{ id: 't1', modelId, name: 't1.png', blob: png(30), addedAt: 1 }]);
    useLearn.setState({ versions: {} });
    await useLearn.getState().markDefect({ modelId, blob: png(30), name: 'live frame 1', from: 'live' });
    expect(await listImages(modelId)).toEqual([]);
    expect(useNotices.getState().notices.at(-1)!.message).toMatch(/taken out of its good images \(t1\.png\); the current version still includes it: retrain to leave it out/);
  });

  it('a mark that agrees with the verdict files the part and records no correction', async () => {
    const rec = useModels.getState().records.find((r) => r.id === modelId)!;
    const at = Date.now() - 4000;
    // Raw 100 is far above v1's threshold: the verdict is DEFECT.
    await recordVerdicts([
      verdictRecord({ time: at, source: 'inspect', station: '', operator: '', imageName: 'lot/d.png', imageHash: null, model: { id: modelId, name: rec.name, version: 1, hash: null }, rawScore: 100, calibration: calV1 }),
    ]);
    await useLearn.getState().markDefect({ modelId, blob: png(5), name: 'lot/d.png', from: 'inspect', verdictAt: at });
    expect((await listDefects(modelId)).map((d) => d.name)).toEqual(['lot/d.png']);
    expect((await queryVerdicts({ modelId })).filter((r) => r.kind === 'correction')).toEqual([]);
    expect(useNotices.getState().notices.at(-1)!.message).toMatch(/filed as a defect .*the DEFECT verdict stands \(a confirmation, nothing to correct\)/);
  });

  it('a full disk when marking a part good stores nothing, records no correction, and says what to do', async () => {
    const at = Date.now() - 3000;
    await recordVerdicts([verdictRecord({ time: at, source: 'inspect', station: '', operator: '', imageName: 'full.png', imageHash: null, model: { id: modelId, name: 'x', version: 1, hash: null }, rawScore: 100, calibration: calV1 })]);
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      expect(await useLearn.getState().markGood({ modelId, blob: png(7), name: 'full.png', from: 'inspect', verdictAt: at })).toBe(false);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(await listImages(modelId)).toEqual([]);
    expect((await queryVerdicts({ modelId })).filter((r) => r.kind === 'correction')).toEqual([]);
    expect(useNotices.getState().notices.map((n) => n.message).join('\n')).toMatch(/full\.png could not be marked good: The browser's storage is full/);
  });

  it('a cancelled recalibration leaves the threshold as it was', async () => {
    await addImages([{ id: 'm1', modelId, name: 'm.png', blob: png(2), addedAt: Date.now(), origin: 'correction' }]);
    await useLearn.getState().refresh(modelId);
    fake.engine.answer('analyze', (_a, opts) => new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(Object.assign(new Error('cancelled'), { name: 'CancelledError' })))));
    const run = useLearn.getState().recalibrate(modelId);
    await vi.waitFor(() => expect(useLearn.getState().job).not.toBeNull());
    useLearn.getState().cancel();
    await run;
    expect(useModels.getState().records.find((r) => r.id === modelId)!.calibration!.threshold).toBe(calV1.threshold);
    expect(useNotices.getState().notices.map((n) => n.message)).toContain('Recalibration cancelled; the threshold is unchanged.');
  });

  it('"This is a defect" files the image once in the model\'s labelled set', async () => {
    await useLearn.getState().markDefect({ modelId, blob: png(3), name: 'lot/b.png', from: 'inspect' });
    await useLearn.getState().markDefect({ modelId, blob: png(3), name: 'lot/b-copy.png', from: 'live' });
    expect((await listDefects(modelId)).map((d) => [d.name, d.from])).toEqual([['lot/b.png', 'inspect']]);
  });

  it('compares two versions on the filed defects and the good images neither trained on, each at its own threshold', async () => {
    await useModels.getState().saveTrained(modelId, new Uint8Array([2]).buffer, summary(calV2, 4), { change: 'retrained', trainedOn: ['t1', 'h1'], heldOut: ['g-new'] });
    await addImages([
      { id: 't1', modelId, name: 't1.png', blob: png(10), addedAt: 1 },
      { id: 'h1', modelId, name: 'h1.png', blob: png(11), addedAt: 2 },
      { id: 'g-new', modelId, name: 'g.png', blob: png(12), addedAt: Date.now() },
    ]);
    await useLearn.getState().markDefect({ modelId, blob: png(20), name: 'd.png', from: 'inspect' });
    // v1 (loaded beside the current one) scores the defect below its threshold; v2 above its own.
    fake.engine.answer('analyze', async ({ modelId: id, image }) => {
      const b = new Uint8Array(await (image as Blob).arrayBuffer())[2];
      const defect = b === 20;
      const score = id.endsWith('#v1') ? (defect ? 30 : 5) : defect ? 80 : 5;
      return { score, mapWidth: 0, mapHeight: 0, width: 1, height: 1, ms: 1 };
    });
    await useLearn.getState().compare(modelId, 1, 2);
    const c = useLearn.getState().comparison!;
    // h1 was v1's held-out image but v2 trained on it; t1 both trained on: only g.png is fair to both.
    expect([c.good, c.defects]).toEqual([1, 1]);
    expect(c.results.map((r) => [r.version, r.report.imageAuroc, r.report.atThreshold?.recall, r.report.atThreshold?.falseAlarmRate])).toEqual([
      [1, 1, 0, 0],
      [2, 1, 1, 0],
    ]);
    // The other version was loaded for the comparison only.
    expect(fake.engine.callsOf('unloadModel')).toContainEqual({ modelId: `${modelId}#v1` });
  });
});
