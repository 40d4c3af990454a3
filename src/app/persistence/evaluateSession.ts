// The last evaluation (its labelled images, their scores and the pixel AUROC), kept until Clear so that a
// reload finds it. Its own database, like the station's defects: the models' database and its migrations
// stay untouched.
import type { IDBPDatabase } from 'idb';
import { connect } from './db';

export interface StoredEvalItem {
  id: string;
  name: string;
  blob: Blob;
  label: 0 | 1;
  category: string;
  mask?: Blob;
  score?: number;
  error?: string;
}

export interface StoredEvalSession {
  items: StoredEvalItem[];
  pixelAuroc: number | null;
  /** Whether the images were scored (metrics shown) when saved. */
  scored: boolean;
  /** The model version that scored them. */
  model: { id: string; version: number; revision?: number } | null;
  savedAt: number;
}

const KEY = 'current';
let opening: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  if (!opening) {
    const p = connect('differnet-evaluate', [(d) => void d.createObjectStore('session')], () => {
      if (opening === p) opening = null;
    });
    p.catch(() => {
      if (opening === p) opening = null;
    });
    opening = p;
  }
  return opening;
}

export async function saveEvalSession(s: StoredEvalSession): Promise<void> {
  await (await db()).put('session', s, KEY);
}

export async function loadEvalSession(): Promise<StoredEvalSession | null> {
  return ((await (await db()).get('session', KEY)) as StoredEvalSession | undefined) ?? null;
}

export async function clearEvalSession(): Promise<void> {
  await (await db()).delete('session', KEY);
}
