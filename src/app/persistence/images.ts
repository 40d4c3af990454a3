import { openDb, request, transact } from './db';

/** A good image of a model's training set, kept so the model can be retrained after a reload. */
export interface StoredImage {
  id: string;
  modelId: string;
  name: string;
  blob: Blob;
  addedAt: number;
  /** 'correction': a person marked it good after the model flagged it (absent: taught as good). */
  origin?: 'correction';
}

export async function listImages(modelId: string): Promise<StoredImage[]> {
  const db = await openDb();
  const idx = db.transaction('images', 'readonly').objectStore('images').index('byModel');
  const all = await request(idx.getAll(IDBKeyRange.only(modelId)) as IDBRequest<StoredImage[]>);
  return all.sort((a, b) => a.addedAt - b.addedAt);
}

export function addImages(images: StoredImage[]): Promise<void> {
  return transact(['images'], 'readwrite', `${images.length} image${images.length === 1 ? '' : 's'}`, (tx) => {
    for (const img of images) tx.objectStore('images').put(img);
  });
}

export function removeImages(ids: string[]): Promise<void> {
  return transact(['images'], 'readwrite', 'the removal', (tx) => {
    for (const id of ids) tx.objectStore('images').delete(id);
  });
}
