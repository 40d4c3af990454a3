// What a model learns from: its saved versions (each with its own file, so any can be made current again)
// and the defects a person filed for it. Their own database, so these stores never share a migration
// with the models' one; the current version's record and file stay in the models' database.
import type { IDBPDatabase } from 'idb';
import type { BackboneId, ModelSettings, TrainingRecord } from '../../core';
import { normaliseCalibration, type Calibration } from '../../core/inspection';
import { connect, translate, type Migration } from './db';

/** One trained version of a model, kept whole: rolling back copies it into the models' database. */
export interface ModelVersion {
  modelId: string;
  version: number;
  /** ISO time it was trained (or imported). */
  createdAt: string;
  /** What changed, in a sentence ("retrained on 12 good images, 2 of them marked good after a false alarm"). */
  change: string;
  backbone: BackboneId;
  settings: ModelSettings;
  /** The version's threshold as it is now (a recalibration updates it). */
  calibration: Calibration | null;
  training: TrainingRecord | null;
  weightsHash: string | null;
  fileBytes: number;
  /** Ids of the good images its flow trained on; null for a version saved before they were recorded. */
  trainedOn: string[] | null;
  /** Ids of the good images held out to set its threshold; null when unknown. */
  heldOut: string[] | null;
  /** Ids of good images a person confirmed that a recalibration added to its threshold's evidence. */
  calibratedWith: string[];
  file: ArrayBuffer;
}

export type VersionInfo = Omit<ModelVersion, 'file'>;

/** An image a person said shows a defect, kept as the model's labelled defect set. */
export interface FiledDefect {
  id: string;
  modelId: string;
  /** The image's path as it was inspected, or a Live frame's name. */
  name: string;
  blob: Blob;
  addedAt: number;
  /** SHA-256 of the bytes, for skipping the same picture filed twice; null where the browser cannot hash. */
  hash: string | null;
  /** Where it was marked: 'inspect', 'evaluate' or 'live'. */
  from: string;
}

const MIGRATIONS: readonly Migration[] = [
  (db) => {
    const versions = db.createObjectStore('versions', { keyPath: ['modelId', 'version'] });
    versions.createIndex('byModel', 'modelId');
    const defects = db.createObjectStore('defects', { keyPath: 'id' });
    defects.createIndex('byModel', 'modelId');
  },
];

let opening: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  if (!opening) {
    const p = connect('differnet-learning', MIGRATIONS, () => {
      if (opening === p) opening = null;
    });
    p.catch(() => {
      if (opening === p) opening = null;
    });
    opening = p;
  }
  return opening;
}

/** Runs a write; a refusal (quota, say) becomes the app's message naming what was not saved. */
async function write<T>(what: string, body: (conn: IDBPDatabase) => Promise<T>): Promise<T> {
  const conn = await db();
  try {
    return await body(conn);
  } catch (e) {
    throw translate(e as Error, what);
  }
}

function info(v: ModelVersion): VersionInfo {
  const { file: _file, ...rest } = v;
  return { ...rest, calibration: normaliseCalibration(rest.calibration) };
}

/** The model's versions, oldest first, without their files. */
export async function listVersions(modelId: string): Promise<VersionInfo[]> {
  const conn = await db();
  const out: VersionInfo[] = [];
  // A cursor, so each version's file is dropped as it is read rather than all held at once.
  let cur = await conn.transaction('versions').store.index('byModel').openCursor(IDBKeyRange.only(modelId));
  while (cur) {
    out.push(info(cur.value as ModelVersion));
    cur = await cur.continue();
  }
  return out.sort((a, b) => a.version - b.version);
}

export async function readVersion(modelId: string, version: number): Promise<ModelVersion | undefined> {
  const v = (await (await db()).get('versions', [modelId, version])) as ModelVersion | undefined;
  return v && { ...v, calibration: normaliseCalibration(v.calibration) };
}

export function saveVersion(v: ModelVersion): Promise<void> {
  return write(`version ${v.version} of the model`, async (conn) => {
    await conn.put('versions', v);
  });
}

/** Changes a saved version's details (never its file) in one transaction; false when it is not saved. */
export function updateVersion(modelId: string, version: number, patch: Partial<Pick<ModelVersion, 'calibration' | 'calibratedWith' | 'change'>>): Promise<boolean> {
  return write(`version ${version} of the model`, async (conn) => {
    const tx = conn.transaction('versions', 'readwrite');
    const v = (await tx.store.get([modelId, version])) as ModelVersion | undefined;
    if (v) await tx.store.put({ ...v, ...patch });
    await tx.done;
    return v !== undefined;
  });
}

export async function listDefects(modelId: string): Promise<FiledDefect[]> {
  const all = (await (await db()).getAllFromIndex('defects', 'byModel', IDBKeyRange.only(modelId))) as FiledDefect[];
  return all.sort((a, b) => a.addedAt - b.addedAt);
}

export function addDefect(d: FiledDefect): Promise<void> {
  return write(`the defect image ${d.name}`, async (conn) => {
    await conn.put('defects', d);
  });
}

export function removeDefect(id: string): Promise<void> {
  return write('the removal', async (conn) => {
    await conn.delete('defects', id);
  });
}

/** Everything kept here for a deleted model. */
export function forgetModel(modelId: string): Promise<void> {
  return write('the deletion', async (conn) => {
    const tx = conn.transaction(['versions', 'defects'], 'readwrite');
    for (const name of ['versions', 'defects'] as const) {
      let cur = await tx.objectStore(name).index('byModel').openKeyCursor(IDBKeyRange.only(modelId));
      while (cur) {
        await tx.objectStore(name).delete(cur.primaryKey);
        cur = await cur.continue();
      }
    }
    await tx.done;
  });
}
