// The trail of verdicts in IndexedDB: append-only, corrections as new records, search by date and model,
// kept across an upgrade from the version before it, and a full disk reported without losing the batch.
import 'fake-indexeddb/auto';
import { IDBFactory, IDBObjectStore as FakeStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { correctionRecord, verdictRecord, type VerdictRecord } from '../../core/inspection';

const NAME = 'differnet-inspector';
const cal = { threshold: 8, good: { n: 9, mean: 2, std: 1, min: 1, max: 7, median: 2 } };

function rec(time: number, rawScore: number, modelId = 'model-a'): VerdictRecord {
  return verdictRecord({ time, source: 'inspect', station: 'Line 2', operator: 'Ana', imageName: `lot/${time}.png`, imageHash: null, model: { id: modelId, name: modelId, version: 1, hash: null }, rawScore, calibration: cal });
}

async function fresh() {
  vi.resetModules();
  return { history: await import('./history'), db: await import('./db'), session: await import('./inspectSession') };
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('persistence/history', () => {
  it('appends batches, numbers every record, and reads them back newest first', async () => {
    const { history } = await fresh();
    const saved = await history.recordVerdicts([rec(1000, 12), rec(2000, 2)]);
    expect(saved.map((r) => r.seq)).toEqual([1, 2]);
    // A record that still carries a seq (say, a copy of a saved one) is added as a new record, never over it.
    const again = await history.recordVerdicts([saved[0]]);
    expect(again[0].seq).toBe(3);
    const all = await history.queryVerdicts();
    // Newest first; the copy has the first one's time, and the later seq among equal times comes first.
    expect(all.map((r) => r.seq)).toEqual([2, 3, 1]);
    expect(all.find((r) => r.seq === 1)).toEqual(saved[0]);
    expect(await history.countVerdicts()).toBe(3);
  });

  it('keeps a correction as its own record, the original unchanged', async () => {
    const { history } = await fresh();
    const [orig] = await history.recordVerdicts([rec(1000, 12)]);
    const [fix] = await history.recordVerdicts([correctionRecord(orig, 'OK', { time: 5000, station: 'Line 2', operator: 'Ben' })]);
    const all = await history.queryVerdicts();
    expect(all).toHaveLength(2);
    expect(all.find((r) => r.seq === orig.seq)).toEqual(orig);
    expect(all.find((r) => r.seq === fix.seq)).toMatchObject({ kind: 'correction', correctionOf: orig.seq, verdict: 'OK', operator: 'Ben' });
  });

  it('searches by date range, model and verdict', async () => {
    const { history } = await fresh();
    await history.recordVerdicts([rec(1000, 12), rec(2000, 2), rec(3000, 12, 'model-b'), rec(4000, 2, 'model-b')]);
    const seqs = (rs: VerdictRecord[]) => rs.map((r) => r.time);
    expect(seqs(await history.queryVerdicts({ from: 2000, to: 3000 }))).toEqual([3000, 2000]);
    expect(seqs(await history.queryVerdicts({ from: 2500 }))).toEqual([4000, 3000]);
    expect(seqs(await history.queryVerdicts({ to: 1000 }))).toEqual([1000]);
    expect(seqs(await history.queryVerdicts({ modelId: 'model-b' }))).toEqual([4000, 3000]);
    expect(seqs(await history.queryVerdicts({ verdict: 'DEFECT' }))).toEqual([3000, 1000]);
    expect(seqs(await history.queryVerdicts({ modelId: 'model-a', verdict: 'OK', from: 0, to: 9999 }))).toEqual([2000]);
  });

  it('deletes only records older than the day the user picks', async () => {
    const { history } = await fresh();
    await history.recordVerdicts([rec(1000, 12), rec(2000, 2), rec(3000, 12)]);
    expect(await history.deleteVerdictsBefore(2000)).toBe(1);
    expect((await history.queryVerdicts()).map((r) => r.time)).toEqual([3000, 2000]);
  });

  it('adds the history to a database saved by the version before, keeping its inspection batch', async () => {
    {
      const { db, session } = await fresh();
      // The database as the previous release left it: migrations 1 and 2, and a saved Inspect row.
      const conn = await db.connect(NAME, db.MIGRATIONS.slice(0, 2));
      await conn.put('inspectItems', { id: 'insp-1', order: 0, name: 'a.png', blob: new Blob(['x']), status: 'done', score: 3 });
      conn.close();
      void session;
    }
    const { history, session, db } = await fresh();
    expect((await db.openDb()).version).toBe(db.DB_VERSION);
    expect((await session.listInspectItems()).map((i) => i.id)).toEqual(['insp-1']);
    await history.recordVerdicts([rec(1000, 12)]);
    expect(await history.countVerdicts()).toBe(1);
  });

  it('reports a full disk as StorageFullError and saves none of the batch', async () => {
    const { history, db } = await fresh();
    await history.recordVerdicts([rec(1000, 12)]);
    let calls = 0;
    const add = FakeStore.prototype.add;
    vi.spyOn(FakeStore.prototype, 'add').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
      // The second record of the batch finds the disk full.
      if (++calls === 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return add.apply(this, args);
    });
    const err = await history.recordVerdicts([rec(2000, 2), rec(3000, 12)]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(db.StorageFullError);
    vi.restoreAllMocks();
    expect((await history.queryVerdicts()).map((r) => r.time)).toEqual([1000]);
  });

  it('reads the newest verdicts of one model backwards, with the corrections met on the way, and stops there', async () => {
    const { history } = await fresh();
    const saved = await history.recordVerdicts([rec(1000, 12), rec(2000, 2), rec(2500, 5, 'model-b'), rec(3000, 12)]);
    await history.recordVerdicts([correctionRecord(saved[3], 'OK', { time: 4000, station: '', operator: '' })]);
    const newest = await history.newestOfModel('model-a', 2);
    expect(newest.map((r) => [r.kind, r.time])).toEqual([
      ['correction', 4000],
      ['verdict', 3000],
      ['verdict', 2000],
    ]);
    // At most maxScan records are read, whatever matches.
    expect((await history.newestOfModel('model-a', 10, 2)).map((r) => r.time)).toEqual([4000, 3000]);
  });
});
