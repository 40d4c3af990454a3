import type { BackboneId } from '../../core';
import { getAll, transact } from './db';

/** Features-only backbone weights (src/core/model/weightsFile.ts format), so a reload does not ask for the file again. */
export interface StoredWeights {
  id: BackboneId;
  hash: string;
  source: string;
  bytes: ArrayBuffer;
  savedAt: string;
}

export function listWeights(): Promise<StoredWeights[]> {
  return getAll<StoredWeights>('weights');
}

export function saveWeights(w: StoredWeights): Promise<void> {
  return transact(['weights'], 'readwrite', `the ${w.id} weights`, (tx) => {
    tx.objectStore('weights').put(w);
  });
}

export function deleteWeights(id: BackboneId): Promise<void> {
  return transact(['weights'], 'readwrite', 'the removal', (tx) => {
    tx.objectStore('weights').delete(id);
  });
}
