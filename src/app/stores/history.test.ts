// The verdict trail as the stores keep it: Inspect records every verdict with station, operator and
// hashes; verdicts are written in batches; a full disk keeps them in the tab, says what to do, and saves
// them once there is room; corrections append.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEngineClient, imageFile, installLocalStorage, modelRecord } from '../../../test/support/appStores';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient, failNext: 0, saves: 0 }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
vi.mock('../persistence/history', async (importOriginal) => {
  const real = await importOriginal<typeof import('../persistence/history')>();
  const { StorageFullError } = await import('../persistence/db');
  return {
    ...real,
    async recordVerdicts(records: Parameters<typeof real.recordVerdicts>[0]) {
      fake.saves++;
      if (fake.failNext > 0) {
        fake.failNext--;
        throw new StorageFullError('full');
      }
      return real.recordVerdicts(records);
    },
  };
});
installLocalStorage();
globalThis.indexedDB = new IDBFactory();

const { useHistory, recordVerdicts, recentVerdicts } = await import('./history');
const { useInspect } = await import('./inspect');
const { useModels } = await import('./models');
const { useNotices } = await import('./notices');
const { queryVerdicts } = await import('../persistence/history');
const { verdictRecord } = await import('../../core/inspection');

const record = modelRecord();

function rec(time: number) {
  return verdictRecord({ time, source: 'live', station: 's', operator: 'o', imageName: `frame-${time}`, imageHash: null, model: { id: 'm', name: 'm', version: 1, hash: null }, rawScore: 5, calibration: record.calibration });
}

beforeEach(async () => {
  await useHistory.getState().flush();
  fake.failNext = 0;
  fake.saves = 0;
  useNotices.setState({ notices: [] });
});

describe('history store', () => {
  it('records every Inspect verdict with the station, operator, image and model hashes', async () => {
    useHistory.getState().setIdentity('  Line 2 ', 'Ana');
    fake.engine = new FakeEngineClient().answer('analyze', async (args) => ({ score: Number(/(\d+)/.exec((args.image as File).name)![1]), map: new Float32Array(4), mapWidth: 2, mapHeight: 2, width: 8, height: 8, ms: 1 }));
    useModels.setState({ records: [record], activeId: record.id, loaded: { [record.id]: true } });
    useInspect.setState({ items: [], running: false, abort: null, selectedId: null });
    useInspect.getState().add([
      { file: imageFile('part-3.png'), path: 'lot 1/part-3.png' },
      { file: imageFile('part-12.png'), path: 'lot 1/part-12.png' },
    ]);
    await vi.waitFor(async () => expect(await queryVerdicts()).toHaveLength(2));
    const all = (await queryVerdicts()).sort((a, b) => a.seq! - b.seq!);
    expect(all.map((r) => [r.imageName, r.verdict, r.rawScore, r.rawThreshold])).toEqual([
      ['lot 1/part-3.png', 'OK', 3, 10],
      ['lot 1/part-12.png', 'DEFECT', 12, 10],
    ]);
    expect(all[0]).toMatchObject({ station: 'Line 2', operator: 'Ana', source: 'inspect', kind: 'verdict', model: { id: record.id, name: record.name, version: 1 } });
    expect(all[0].imageHash).toMatch(/^[0-9a-f]{64}$/);
    // The time is the one the Inspect row shows and exports.
    expect(useInspect.getState().items.map((i) => i.scoredAt)).toEqual(all.map((r) => r.time));
  });

  it('writes verdicts given close together in one transaction', async () => {
    recordVerdicts([rec(1)]);
    recordVerdicts([rec(2)]);
    recordVerdicts([rec(3), rec(4)]);
    expect(fake.saves).toBe(0);
    await useHistory.getState().flush();
    expect(fake.saves).toBe(1);
    expect((await queryVerdicts({ to: 10 })).map((r) => r.time)).toEqual([4, 3, 2, 1]);
  });

  it('keeps verdicts in the tab when storage is full, says what to do once, and saves them when there is room', async () => {
    fake.failNext = 2;
    recordVerdicts([rec(100)]);
    await useHistory.getState().flush();
    recordVerdicts([rec(101)]);
    await useHistory.getState().flush();
    expect(useHistory.getState().unsaved.map((r) => r.time)).toEqual([100, 101]);
    expect(useHistory.getState().full).toBe(true);
    const errors = useNotices.getState().notices.filter((n) => n.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/storage is full: 1 verdict could not be written .* export the records .* delete the older ones/);
    // Room again: the next write takes the kept verdicts along.
    recordVerdicts([rec(102)]);
    await useHistory.getState().flush();
    expect(useHistory.getState().unsaved).toEqual([]);
    expect((await queryVerdicts({ from: 100, to: 200 })).map((r) => r.time)).toEqual([102, 101, 100]);
  });

  it('appends a correction and shows it with the loaded records', async () => {
    recordVerdicts([rec(500)]);
    await useHistory.getState().flush();
    await useHistory.getState().load();
    const original = useHistory.getState().records.find((r) => r.time === 500)!;
    await useHistory.getState().correct(original, 'OK', 'dust');
    const fixes = useHistory.getState().records.filter((r) => r.correctionOf === original.seq);
    expect(fixes).toHaveLength(1);
    expect(fixes[0]).toMatchObject({ kind: 'correction', verdict: 'OK', note: 'dust' });
    expect((await queryVerdicts()).find((r) => r.seq === original.seq)).toEqual(original);
  });

  it('gives the drift check the recent verdicts of one model version at one threshold, with what a person said', async () => {
    const mk = (time: number, raw: number, version = 1, threshold = 10) =>
      verdictRecord({ time, source: 'inspect', station: '', operator: '', imageName: `p${time}`, imageHash: null, model: { id: 'drift-model', name: 'd', version, hash: null }, rawScore: raw, calibration: { ...record.calibration!, threshold } });
    recordVerdicts([mk(9000, 12), mk(9001, 3), mk(9002, 4, 2), mk(9003, 5, 1, 11)]);
    await useHistory.getState().flush();
    await useHistory.getState().load();
    const flagged = useHistory.getState().records.find((r) => r.time === 9000)!;
    await useHistory.getState().correct(flagged, 'OK');
    const recent = await recentVerdicts({ id: 'drift-model', version: 1 }, 10);
    // Newest first; version 2 and the other threshold are left out; the correction rides on its verdict.
    expect(recent).toEqual([
      { rawScore: 3, flagged: false, person: undefined },
      { rawScore: 12, flagged: true, person: 'OK' },
    ]);
  });
});
