import type { BackboneId, ModelSettings, TrainingRecord } from '../../core';
import { normaliseCalibration, type Calibration } from '../../core/inspection';
import { getAll, get, request, transact } from './db';

/** An inspection model as the app keeps it; the model file itself lives in `modelFiles` under the same id. */
export interface ModelRecord {
  id: string;
  name: string;
  backbone: BackboneId;
  settings: ModelSettings;
  createdAt: string;
  updatedAt: string;
  /** The current version (the one this record and its file are); 0 while the model has never been trained. */
  version: number;
  /** The highest version ever saved (above `version` after a roll-back); absent in older records: `version`. */
  latestVersion?: number;
  /** Authoritative calibration (the model file holds the one from training time). */
  calibration: Calibration | null;
  training: TrainingRecord | null;
  weightsHash: string | null;
  fileBytes: number;
  /** Where it came from when not trained here (imported file or DifferNet checkpoint). */
  origin?: string;
}

/** Records saved before held-out calibration hold a calibration without its evidence: normalised here. */
export async function listModels(): Promise<ModelRecord[]> {
  const records = await getAll<ModelRecord>('models');
  return records.map((r) => ({ ...r, calibration: normaliseCalibration(r.calibration) }));
}

export async function readModelFile(id: string): Promise<ArrayBuffer | undefined> {
  return get<ArrayBuffer>('modelFiles', id);
}

/** Saves metadata and, when given, a new model file in one transaction: both land or neither does. */
export function saveModelRecord(record: ModelRecord, file?: ArrayBuffer): Promise<void> {
  return transact(['models', 'modelFiles'], 'readwrite', `model "${record.name}"`, (tx) => {
    tx.objectStore('models').put(record);
    if (file) tx.objectStore('modelFiles').put(file, record.id);
  });
}

export function deleteModelRecord(id: string): Promise<void> {
  return transact(['models', 'modelFiles', 'images'], 'readwrite', 'the deletion', (tx) => {
    tx.objectStore('models').delete(id);
    tx.objectStore('modelFiles').delete(id);
    const idx = tx.objectStore('images').index('byModel');
    const req = idx.openKeyCursor(IDBKeyRange.only(id));
    req.onsuccess = () => {
      const cur = req.result;
      if (!cur) return;
      tx.objectStore('images').delete(cur.primaryKey);
      cur.continue();
    };
  });
}

export { request };
