// The app's IndexedDB database over its life: data saved by the first schema survives later versions,
// a failed open is retried, an upgrade waits for other tabs instead of failing, and this tab lets a newer
// one upgrade.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type DbModule = typeof import('./db');

const NAME = 'differnet-inspector';

/** A fresh browser profile: a new factory, and the modules loaded anew (no connection memoised). */
async function freshApp(): Promise<{ db: DbModule; models: typeof import('./models'); images: typeof import('./images'); weights: typeof import('./weights') }> {
  vi.resetModules();
  return { db: await import('./db'), models: await import('./models'), images: await import('./images'), weights: await import('./weights') };
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The database exactly as version 1 of the app created it (its onupgradeneeded), with a record in every store. */
async function createVersion1WithData(): Promise<void> {
  const open = indexedDB.open(NAME, 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore('models', { keyPath: 'id' });
    db.createObjectStore('modelFiles');
    const images = db.createObjectStore('images', { keyPath: 'id' });
    images.createIndex('byModel', 'modelId');
    db.createObjectStore('weights', { keyPath: 'id' });
  };
  const db = await req(open);
  const tx = db.transaction(['models', 'modelFiles', 'images', 'weights'], 'readwrite');
  tx.objectStore('models').put({ id: 'm1', name: 'screws', version: 3, calibration: { threshold: 1.5 } });
  tx.objectStore('modelFiles').put(new Uint8Array([1, 2, 3, 4]).buffer, 'm1');
  tx.objectStore('images').put({ id: 'i2', modelId: 'm1', name: 'b.png', addedAt: 2 });
  tx.objectStore('images').put({ id: 'i1', modelId: 'm1', name: 'a.png', addedAt: 1 });
  tx.objectStore('images').put({ id: 'i3', modelId: 'other', name: 'c.png', addedAt: 3 });
  tx.objectStore('weights').put({ id: 'alexnet', hash: 'h', source: 'alexnet.pth', bytes: new Uint8Array([9]).buffer, savedAt: 'then' });
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  db.close();
}

/** Settles with the promise, or with 'still waiting' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), ms)))]).finally(() => clearTimeout(timer));
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('persistence/db', () => {
  it('reads and extends what version 1 of the app saved', async () => {
    await createVersion1WithData();
    const { models, images, weights } = await freshApp();
    // Version-1 calibrations come back with the fields held-out calibration added, filled as "from training".
    expect(await models.listModels()).toEqual([{ id: 'm1', name: 'screws', version: 3, calibration: expect.objectContaining({ threshold: 1.5, source: 'training', goodScores: [], guarantee: null }) }]);
    expect(new Uint8Array((await models.readModelFile('m1'))!)).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect((await images.listImages('m1')).map((i) => i.name)).toEqual(['a.png', 'b.png']);
    expect((await weights.listWeights()).map((w) => w.id)).toEqual(['alexnet']);
    await models.deleteModelRecord('m1');
    expect(await models.listModels()).toEqual([]);
    expect((await images.listImages('other')).map((i) => i.id)).toEqual(['i3']);
    expect(await images.listImages('m1')).toEqual([]);
  });

  it('runs the migrations above the stored version on the data already there, and only those', async () => {
    await createVersion1WithData();
    const { db } = await freshApp();
    const seen: number[] = [];
    const v1 = vi.fn(db.MIGRATIONS[0]);
    const migrations: DbModule['MIGRATIONS'] = [
      ...db.MIGRATIONS.map((m, i) => (i === 0 ? v1 : m)),
      // A schema bump as a later release would write it: an index, and every stored model rewritten.
      async (_db, tx) => {
        seen.push(2);
        tx.objectStore('images').createIndex('byName', 'name');
        let cursor = await tx.objectStore('models').openCursor();
        while (cursor) {
          await cursor.update({ ...(cursor.value as object), migrated: true });
          cursor = await cursor.continue();
        }
      },
    ];
    const conn = await db.connect(NAME, migrations);
    expect(v1).not.toHaveBeenCalled();
    expect(seen).toEqual([2]);
    expect(conn.version).toBe(db.MIGRATIONS.length + 1);
    expect(await conn.getAll('models')).toEqual([{ id: 'm1', name: 'screws', version: 3, calibration: { threshold: 1.5 }, migrated: true }]);
    expect((await conn.getAllFromIndex('images', 'byName', 'b.png')).map((i) => i.id)).toEqual(['i2']);
    expect((await conn.getAllFromIndex('images', 'byModel', 'm1')).length).toBe(2);
    expect(new Uint8Array(await conn.get('modelFiles', 'm1'))).toEqual(new Uint8Array([1, 2, 3, 4]));
    conn.close();
  });

  it('creates every store on a first visit', async () => {
    const { db, models } = await freshApp();
    expect(await models.listModels()).toEqual([]);
    const raw = await db.openDb();
    expect(raw.version).toBe(db.DB_VERSION);
    expect([...raw.objectStoreNames].sort()).toEqual(['images', 'inspectItems', 'modelFiles', 'models', 'verdicts', 'weights']);
  });

  it('tries again after a failed open instead of keeping the failure', async () => {
    const { db, models } = await freshApp();
    const factory = globalThis.indexedDB;
    const open = vi.spyOn(factory, 'open').mockImplementationOnce(() => {
      throw new DOMException('storage is disabled', 'SecurityError');
    });
    await expect(models.listModels()).rejects.toThrow(/storage is disabled/);
    expect(await models.listModels()).toEqual([]);
    expect(open).toHaveBeenCalledTimes(2);
    expect((await db.openDb()).version).toBe(db.DB_VERSION);
  });

  it('closes its connection when a newer version of the app upgrades the database in another tab', async () => {
    const { models } = await freshApp();
    await models.saveModelRecord({ id: 'm1', name: 'kept' } as never);
    // The other tab: a later release opening one version up.
    const other = indexedDB.open(NAME, 100);
    let blocked = false;
    other.onblocked = () => (blocked = true);
    const upgraded = await within(req(other), 5000);
    expect(upgraded, 'the upgrade in the other tab was left waiting on this one').not.toBe('still waiting');
    expect(blocked).toBe(false);
    const conn = upgraded as IDBDatabase;
    const records = await req(conn.transaction('models').objectStore('models').getAll());
    expect(records).toEqual([{ id: 'm1', name: 'kept' }]);
    conn.close();
  });

  it('waits for an old tab to let go during an upgrade, and says so, instead of failing', async () => {
    await createVersion1WithData();
    const { db } = await freshApp();
    // The old tab: version 1 of the app, which ignores versionchange.
    const old = await req(indexedDB.open(NAME, 1));
    const notices: string[] = [];
    const off = db.onDatabaseNotice((m) => notices.push(m));
    const migrations: DbModule['MIGRATIONS'] = [...db.MIGRATIONS, (_db, tx) => void tx.objectStore('images').createIndex('byName', 'name')];
    let settled = false;
    const opening = db.connect(NAME, migrations);
    opening.then(
      () => (settled = true),
      () => (settled = true),
    );
    await expect.poll(() => notices.join('\n')).toMatch(/other tabs/);
    expect(settled, 'the upgrade gave up while the old tab held the database').toBe(false);
    old.close();
    const conn = await opening;
    expect(conn.version).toBe(db.MIGRATIONS.length + 1);
    expect((await conn.getAll('models')).map((m) => (m as { id: string }).id)).toEqual(['m1']);
    conn.close();
    off();
  });

  it('rolls an upgrade back when a migration fails, and keeps the data at its version', async () => {
    await createVersion1WithData();
    const { db } = await freshApp();
    const migrations: DbModule['MIGRATIONS'] = [
      ...db.MIGRATIONS,
      (_db, tx) => {
        // The request fails with the upgrade it belongs to.
        tx.objectStore('models').clear().catch(() => undefined);
        throw new Error('migration 2 broke');
      },
    ];
    await expect(db.connect(NAME, migrations)).rejects.toThrow(/migration 2 broke/);
    // Still at version 1 (the failed upgrade left nothing behind): the current migrations then apply from there.
    const conn = await db.connect(NAME, db.MIGRATIONS.slice(0, 1));
    expect(conn.version).toBe(1);
    expect((await conn.getAll('models')).length).toBe(1);
    conn.close();
  });
});
