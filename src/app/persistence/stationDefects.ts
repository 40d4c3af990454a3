// Defective frames a Live station saved by itself, kept in the browser until exported or cleared. Their own
// database, so the station's growth and clearing never touch the models' one or its migrations.
import type { IDBPDatabase } from 'idb';
import { connect } from './db';

export interface StationDefect {
  id: string;
  /** Wall-clock time the frame was taken (ms since the epoch). */
  takenAt: number;
  model: string;
  version: number;
  score: number;
  display: number | null;
  /** The scored region of the frame, as the engine saw it (PNG). */
  image: Blob;
  /** The newest defect map at that moment and the region of its own frame it belongs to, when the heatmap was on. */
  map?: { image: Blob; map: Float32Array; width: number; height: number; score: number };
}

/** Past this many the oldest go: a station left running over a weekend must not fill the disk. */
export const MAX_STATION_DEFECTS = 500;

let opening: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  if (!opening) {
    const p = connect('differnet-station', [(d) => void d.createObjectStore('defects', { keyPath: 'id' })], () => {
      if (opening === p) opening = null;
    });
    p.catch(() => {
      if (opening === p) opening = null;
    });
    opening = p;
  }
  return opening;
}

export async function saveStationDefect(d: StationDefect): Promise<number> {
  const conn = await db();
  const tx = conn.transaction('defects', 'readwrite');
  await tx.store.put(d);
  const keys = (await tx.store.getAllKeys()) as string[];
  // Ids start with the time, zero-padded, so key order is age order.
  for (const k of keys.slice(0, Math.max(0, keys.length - MAX_STATION_DEFECTS))) await tx.store.delete(k);
  await tx.done;
  return Math.min(keys.length, MAX_STATION_DEFECTS);
}

export async function listStationDefects(): Promise<StationDefect[]> {
  return (await (await db()).getAll('defects')) as StationDefect[];
}

export async function countStationDefects(): Promise<number> {
  return (await db()).count('defects');
}

export async function clearStationDefects(): Promise<void> {
  await (await db()).clear('defects');
}

export function stationDefectId(takenAt: number): string {
  return `${String(takenAt).padStart(15, '0')}-${Math.random().toString(36).slice(2, 8)}`;
}
