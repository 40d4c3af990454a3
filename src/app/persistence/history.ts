// The trail of verdicts in IndexedDB: records are only ever added (`add`, never `put`), each batch in one
// transaction, so a batch lands whole or not at all; only the user's explicit clean-up deletes.
import type { HistoryQuery, VerdictRecord } from '../../core/inspection';
import { matchesQuery, newestFirst } from '../../core/inspection';
import { openDb, request, transact } from './db';

/** Saves the records in one transaction and returns them with the seq each was given. */
export function recordVerdicts(records: readonly VerdictRecord[]): Promise<VerdictRecord[]> {
  if (records.length === 0) return Promise.resolve([]);
  const n = records.length;
  return transact(['verdicts'], 'readwrite', `${n} verdict${n === 1 ? '' : 's'} of the history`, (tx) => {
    const store = tx.objectStore('verdicts');
    const saved: VerdictRecord[] = [];
    records.forEach((r, i) => {
      // A seq held by the caller is not ours to reuse: the store gives every record a new one.
      const { seq: _seq, ...value } = r;
      const req = store.add(value);
      req.onsuccess = () => (saved[i] = { ...value, seq: req.result as number });
    });
    return saved;
  });
}

/** The records matching `q`, newest first; the time range is read through the index, the rest filtered. */
export async function queryVerdicts(q: HistoryQuery = {}): Promise<VerdictRecord[]> {
  const db = await openDb();
  const index = db.transaction('verdicts', 'readonly').objectStore('verdicts').index('byTime');
  const range =
    q.from !== undefined && q.to !== undefined ? IDBKeyRange.bound(q.from, q.to) : q.from !== undefined ? IDBKeyRange.lowerBound(q.from) : q.to !== undefined ? IDBKeyRange.upperBound(q.to) : undefined;
  const all = await request(index.getAll(range) as IDBRequest<VerdictRecord[]>);
  return all.filter((r) => matchesQuery(r, q)).sort(newestFirst);
}

export async function countVerdicts(): Promise<number> {
  const db = await openDb();
  return request(db.transaction('verdicts', 'readonly').objectStore('verdicts').count());
}

/** Deletes every record older than `time` (ms since 1970) and returns how many went. */
export function deleteVerdictsBefore(time: number): Promise<number> {
  return transact(['verdicts'], 'readwrite', 'the clean-up of the history', (tx) => {
    const out = { n: 0 };
    const req = tx.objectStore('verdicts').index('byTime').openKeyCursor(IDBKeyRange.upperBound(time, true));
    req.onsuccess = () => {
      const cur = req.result;
      if (!cur) return;
      tx.objectStore('verdicts').delete(cur.primaryKey);
      out.n++;
      cur.continue();
    };
    return out;
  }).then((o) => o.n);
}

/**
 * The newest records of one model, newest first, read backwards through the time index until `verdicts`
 * of its verdicts are found (with the corrections met on the way, which are newer than what they
 * correct) or `maxScan` records were read: cheap however long the trail grows.
 */
export async function newestOfModel(modelId: string, verdicts: number, maxScan = 50 * verdicts): Promise<VerdictRecord[]> {
  const db = await openDb();
  const index = db.transaction('verdicts', 'readonly').objectStore('verdicts').index('byTime');
  return new Promise((resolve, reject) => {
    const out: VerdictRecord[] = [];
    let found = 0;
    let read = 0;
    const req = index.openCursor(null, 'prev');
    req.onerror = () => reject(req.error ?? new Error('the history could not be read'));
    req.onsuccess = () => {
      const cur = req.result;
      if (!cur || found >= verdicts || read >= maxScan) {
        resolve(out.sort(newestFirst));
        return;
      }
      read++;
      const r = cur.value as VerdictRecord;
      if (r.model.id === modelId) {
        out.push(r);
        if (r.kind === 'verdict') found++;
      }
      cur.continue();
    };
  });
}
