import type { Calibration } from '../../core/inspection';
import { getAll, transact } from './db';

/** The model version and threshold an item was scored with: its verdict never follows a later model. */
export interface JudgedBy {
  modelId: string;
  name: string;
  version: number;
  calibration: Calibration | null;
}

/** One row of the Inspect batch as kept in IndexedDB: what a reload needs to show it again. */
export interface StoredInspectItem {
  id: string;
  /** Position in the batch (the order the files were added in). */
  order: number;
  name: string;
  blob: Blob;
  status: 'queued' | 'done' | 'error';
  score?: number;
  map?: Float32Array;
  mapWidth?: number;
  mapHeight?: number;
  ms?: number;
  /** When it was scored (ms since 1970): the time column of the exports. */
  scoredAt?: number;
  error?: string;
  judgedBy?: JudgedBy;
}

export async function listInspectItems(): Promise<StoredInspectItem[]> {
  const all = await getAll<StoredInspectItem>('inspectItems');
  return all.sort((a, b) => a.order - b.order);
}

export function putInspectItems(items: StoredInspectItem[]): Promise<void> {
  return transact(['inspectItems'], 'readwrite', 'the inspection session', (tx) => {
    for (const it of items) tx.objectStore('inspectItems').put(it);
  });
}

export function deleteInspectItems(ids: string[] | 'all'): Promise<void> {
  return transact(['inspectItems'], 'readwrite', 'the clearing of the inspection session', (tx) => {
    if (ids === 'all') tx.objectStore('inspectItems').clear();
    else for (const id of ids) tx.objectStore('inspectItems').delete(id);
  });
}
