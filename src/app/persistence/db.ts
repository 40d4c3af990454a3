// A small promise layer over IndexedDB. Every write that must be all-or-nothing (a model's metadata and
// file, say) goes through one transaction.

const DB_NAME = 'differnet-inspector';
const DB_VERSION = 1;

export type StoreName = 'models' | 'modelFiles' | 'images' | 'weights';

/** The browser refused to store more data. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

let opening: Promise<IDBDatabase> | null = null;

export function openDb(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('models', { keyPath: 'id' });
      db.createObjectStore('modelFiles');
      const images = db.createObjectStore('images', { keyPath: 'id' });
      images.createIndex('byModel', 'modelId');
      db.createObjectStore('weights', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`the browser's database cannot be opened: ${req.error?.message ?? 'unknown error'} (private mode or storage disabled?)`));
    req.onblocked = () => reject(new Error('the database is in use by an older version of this app in another tab; close it and reload'));
  });
  return opening;
}

function translate(e: DOMException | Error | null, what: string): Error {
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
  const db = await openDb();
  return request(db.transaction(store, 'readonly').objectStore(store).getAll() as IDBRequest<T[]>);
}

export async function get<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
  const db = await openDb();
  return request(db.transaction(store, 'readonly').objectStore(store).get(key) as IDBRequest<T | undefined>);
}

/** Asks the browser not to evict our data under storage pressure; harmless when refused. */
export async function requestPersistence(): Promise<void> {
  try {
    await navigator.storage?.persist?.();
  } catch {
    // Optional: the data is still stored, only evictable.
  }
}
