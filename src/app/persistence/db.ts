// The app's IndexedDB database, opened through `idb`: versioned migrations, an open that is retried after
// a failure, upgrades that wait for other tabs, and a connection that steps aside for a newer tab. Every
// write that must be all-or-nothing (a model's metadata and file, say) goes through one transaction.
import { openDB, unwrap, type IDBPDatabase, type IDBPTransaction } from 'idb';

const DB_NAME = 'differnet-inspector';

export type StoreName = 'models' | 'modelFiles' | 'images' | 'weights' | 'inspectItems' | 'verdicts';

export type Migration = (db: IDBPDatabase, tx: IDBPTransaction<unknown, string[], 'versionchange'>) => void | Promise<void>;

/**
 * MIGRATIONS[i] takes the database from version i to version i + 1; the database's version is their count.
 * Only append: a released migration never changes, since browsers hold data at every version so far.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: the first schema.
  (db) => {
    db.createObjectStore('models', { keyPath: 'id' });
    db.createObjectStore('modelFiles');
    const images = db.createObjectStore('images', { keyPath: 'id' });
    images.createIndex('byModel', 'modelId');
    db.createObjectStore('weights', { keyPath: 'id' });
  },
  // 2: the Inspect screen's batch (images, scores, maps and the model that judged them), kept until cleared.
  (db) => {
    db.createObjectStore('inspectItems', { keyPath: 'id' });
  },
  // 3: the append-only trail of verdicts. The generated key orders records saved in the same millisecond
  // and is never reused, so a correction can name the record it corrects.
  (db) => {
    const verdicts = db.createObjectStore('verdicts', { keyPath: 'seq', autoIncrement: true });
    verdicts.createIndex('byTime', 'time');
  },
];

export const DB_VERSION = MIGRATIONS.length;

/** The browser refused to store more data. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

type NoticeListener = (message: string) => void;
const noticeListeners = new Set<NoticeListener>();

/** Messages for the user about the database (another tab holding it, say); logged when nobody listens. */
export function onDatabaseNotice(listener: NoticeListener): () => void {
  noticeListeners.add(listener);
  return () => noticeListeners.delete(listener);
}

function notice(message: string): void {
  if (noticeListeners.size) for (const l of noticeListeners) l(message);
  else console.warn(message);
}

let opening: Promise<IDBPDatabase> | null = null;

function forget(db: Promise<IDBPDatabase>): void {
  if (opening === db) opening = null;
}

/**
 * Opens `name` at version `migrations.length`, running the migrations above the stored version in the
 * upgrade transaction (all land or none). Exported for tests, which pass later migrations than today's.
 */
export async function connect(name: string, migrations: readonly Migration[], onClosed: () => void = () => undefined): Promise<IDBPDatabase> {
  let db: IDBPDatabase | null = null;
  let migrationError: Error | null = null;
  try {
    db = await openDB(name, migrations.length, {
      upgrade(upgrading, oldVersion, _newVersion, tx) {
        const run = async () => {
          for (let v = oldVersion; v < migrations.length; v++) {
            // Synchronous migrations run in the upgrade event itself; async ones chain their requests.
            const pending = migrations[v](upgrading, tx);
            if (pending) await pending;
          }
        };
        // openDB reports how the upgrade ends; this promise would only repeat it.
        tx.done.catch(() => undefined);
        run().catch((e: Error) => {
          // A failed migration rolls the whole upgrade back: the stored data stays at its old version.
          migrationError = e;
          tx.abort();
        });
      },
      // Another tab holds an older version open: the open waits until that tab closes or reloads.
      blocked() {
        notice('The app was updated: close or reload its other tabs to finish updating the saved models (this tab waits for them).');
      },
      // A newer version of the app wants to upgrade: step aside, and let the next use here reopen.
      blocking() {
        db?.close();
        onClosed();
        notice('The app was updated in another tab: reload this tab to keep using the saved models.');
      },
      // The browser closed the connection (storage cleared, say): the next use reopens.
      terminated() {
        onClosed();
      },
    });
    return db;
  } catch (e) {
    const err = (migrationError ?? e) as Error;
    if (err?.name === 'VersionError') {
      throw new Error("the browser's database was saved by a newer version of this app: reload the page to get it", { cause: e });
    }
    throw new Error(`the browser's database cannot be opened: ${err?.message ?? 'unknown error'} (private mode or storage disabled?)`, { cause: e });
  }
}

function openIdb(): Promise<IDBPDatabase> {
  if (opening) return opening;
  const p: Promise<IDBPDatabase> = connect(DB_NAME, MIGRATIONS, () => forget(p));
  opening = p;
  // A failed open is not kept: the next call tries again.
  p.catch(() => forget(p));
  return p;
}

/** The database connection (the raw IndexedDB object, for code that runs its own requests). */
export async function openDb(): Promise<IDBDatabase> {
  return unwrap(await openIdb());
}

/** A failed write as the user reads it: a full disk says what to do, anything else names what was not saved. */
export function translate(e: DOMException | Error | null, what: string): Error {
  if (e && (e.name === 'QuotaExceededError' || /quota/i.test(e.message))) {
    return new StorageFullError(`The browser's storage is full, so ${what} could not be saved. Delete models you no longer need (Models screen) or free disk space; nothing already saved was changed.`);
  }
  return new Error(`${what} could not be saved: ${e?.message ?? 'unknown database error'}`);
}

/** Runs `body` in one transaction; resolves when it commits, rejects (and rolls back) otherwise. */
export async function transact<T>(stores: StoreName[], mode: IDBTransactionMode, what: string, body: (tx: IDBTransaction) => T): Promise<T> {
  const db = await openDb();
  return new Promise<T>((resolve, reject) => {
    let tx: IDBTransaction;
    try {
      tx = db.transaction(stores, mode);
    } catch (e) {
      reject(translate(e as Error, what));
      return;
    }
    let result: T;
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(translate(tx.error, what));
    tx.onerror = (ev) => {
      ev.preventDefault();
    };
    try {
      result = body(tx);
    } catch (e) {
      tx.abort();
      reject(translate(e as Error, what));
    }
  });
}

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('database request failed'));
  });
}

export async function getAll<T>(store: StoreName): Promise<T[]> {
  return (await openIdb()).getAll(store) as Promise<T[]>;
}

export async function get<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
  return (await openIdb()).get(store, key) as Promise<T | undefined>;
}

/** Asks the browser not to evict our data under storage pressure; harmless when refused. */
export async function requestPersistence(): Promise<void> {
  try {
    await navigator.storage?.persist?.();
  } catch {
    // Optional: the data is still stored, only evictable.
  }
}
