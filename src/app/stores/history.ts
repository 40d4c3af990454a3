import { create } from 'zustand';
import {
  correctionRecord,
  latestCorrections,
  type RecentVerdict,
  dayRange,
  historyFullMessage,
  verdictRecord,
  type Calibration,
  type HistorySource,
  type HistoryVerdictFilter,
  type VerdictRecord,
} from '../../core/inspection';
import { StorageFullError } from '../persistence/db';
import { deleteVerdictsBefore, newestOfModel, queryVerdicts, recordVerdicts as saveVerdicts } from '../persistence/history';
import { readModelFile } from '../persistence/models';
import { reportError, useNotices } from './notices';
import { contentHash } from './teach';

const STATION_KEY = 'differnet.station';
const OPERATOR_KEY = 'differnet.operator';

/**
 * Verdicts wait this long to be written together: Live gives about five a second, and one transaction a
 * flush keeps that cheap; a reload within it can lose at most this much, and `pagehide` flushes first.
 */
export const FLUSH_MS = 400;

export interface HistoryFilters {
  /** Date fields, "YYYY-MM-DD" or empty. */
  fromDay: string;
  toDay: string;
  /** A model id, or '' for every model. */
  modelId: string;
  verdict: HistoryVerdictFilter;
}

interface HistoryState {
  station: string;
  operator: string;
  filters: HistoryFilters;
  /** The saved records of the filters' date range, newest first (model and verdict are filtered on screen). */
  records: VerdictRecord[];
  loading: boolean;
  loaded: boolean;
  /** Verdicts the browser refused to store: kept here, shown, exported, and saved again when there is room. */
  unsaved: VerdictRecord[];
  /** The last save failed because storage is full. */
  full: boolean;
  /** Counts successful writes: views that read the database themselves (the drift check) refresh on it. */
  writes: number;
  setIdentity(station: string, operator: string): void;
  setFilters(patch: Partial<HistoryFilters>): void;
  load(): Promise<void>;
  /** Saves what is waiting (the queue and the verdicts kept after a failure) now. */
  flush(): Promise<void>;
  /** Appends a correction of a saved verdict; the verdict itself stays as it was. */
  correct(original: VerdictRecord, verdict: 'OK' | 'DEFECT', note?: string): Promise<void>;
  /** Deletes every saved record before the start of `day` ("YYYY-MM-DD"); returns how many went. */
  deleteBefore(day: string): Promise<number>;
}

function readKey(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

let queue: VerdictRecord[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;
let flushing: Promise<void> | null = null;

export const useHistory = create<HistoryState>((set, get) => ({
  station: readKey(STATION_KEY),
  operator: readKey(OPERATOR_KEY),
  filters: { fromDay: '', toDay: '', modelId: '', verdict: 'all' },
  records: [],
  loading: false,
  loaded: false,
  unsaved: [],
  full: false,
  writes: 0,

  setIdentity(station, operator) {
    const s = station.trim().slice(0, 80);
    const o = operator.trim().slice(0, 80);
    try {
      localStorage.setItem(STATION_KEY, s);
      localStorage.setItem(OPERATOR_KEY, o);
    } catch {
      // Storage refused (private mode): the names still go on this tab's verdicts, and a message says they will not be remembered.
      useNotices.getState().push('warning', 'The station and operator apply to this tab only: the browser refused to remember them.');
    }
    set({ station: s, operator: o });
  },

  setFilters(patch) {
    const before = get().filters;
    set({ filters: { ...before, ...patch } });
    // Only the date range is read from the database; model and verdict filter what is loaded.
    if (patch.fromDay !== undefined || patch.toDay !== undefined) void get().load();
  },

  async load() {
    const { fromDay, toDay } = get().filters;
    set({ loading: true });
    try {
      const records = await queryVerdicts(dayRange(fromDay, toDay));
      // A later change of the range wins over this answer.
      if (get().filters.fromDay === fromDay && get().filters.toDay === toDay) set({ records, loaded: true });
    } catch (e) {
      reportError(e, 'The history could not be read');
    } finally {
      set({ loading: false });
    }
  },

  async flush() {
    if (timer) clearTimeout(timer);
    timer = null;
    // One write at a time, in order; a flush asked for meanwhile runs after it.
    while (flushing) await flushing;
    const batch = [...get().unsaved, ...queue];
    queue = [];
    if (batch.length === 0) return;
    flushing = (async () => {
      try {
        const saved = await saveVerdicts(batch);
        const { from, to } = dayRange(get().filters.fromDay, get().filters.toDay);
        const shown = saved.filter((r) => (from === undefined || r.time >= from) && (to === undefined || r.time <= to)).reverse();
        const wasFailing = get().unsaved.length > 0;
        set((s) => ({ unsaved: [], full: false, writes: s.writes + 1, records: s.loaded ? [...shown, ...s.records] : s.records }));
        if (wasFailing) useNotices.getState().push('info', `${batch.length} verdict${batch.length === 1 ? '' : 's'} kept in this tab ${batch.length === 1 ? 'was' : 'were'} saved to the history.`);
      } catch (e) {
        const full = e instanceof StorageFullError;
        const first = get().unsaved.length === 0;
        set({ unsaved: batch, full });
        // Said once when saving starts failing (Live would repeat it every second); the History screen keeps the count.
        if (first) useNotices.getState().push('error', full ? historyFullMessage(batch.length) : `${batch.length} verdict${batch.length === 1 ? '' : 's'} could not be written to the history and ${batch.length === 1 ? 'is' : 'are'} kept in this tab only: ${(e as Error).message}`);
      }
    })();
    try {
      await flushing;
    } finally {
      flushing = null;
    }
  },

  async correct(original, verdict, note) {
    const { station, operator } = get();
    queue.push(correctionRecord(original, verdict, { time: Date.now(), station, operator, note }));
    await get().flush();
  },

  async deleteBefore(day) {
    const { from } = dayRange(day, '');
    if (from === undefined) throw new Error('pick a day first');
    const n = await deleteVerdictsBefore(from);
    set((s) => ({ records: s.records.filter((r) => r.time >= from) }));
    // Room was made: what was kept in this tab goes in now.
    if (get().unsaved.length) await get().flush();
    return n;
  },
}));

/**
 * Records verdicts in the history. Batched: the records wait up to FLUSH_MS and are written in one
 * transaction, so callers (Live, at several verdicts a second) may call this for every verdict.
 */
export function recordVerdicts(records: readonly VerdictRecord[]): void {
  if (records.length === 0) return;
  queue.push(...records);
  timer ??= setTimeout(() => void useHistory.getState().flush(), FLUSH_MS);
}

if (typeof window !== 'undefined') window.addEventListener('pagehide', () => void useHistory.getState().flush());

const modelHashes = new Map<string, Promise<string | null>>();
/** SHA-256 of a model version's file, read once per version (the file changes only with a new version). */
export function modelFileHash(id: string, version: number): Promise<string | null> {
  const key = `${id}@${version}`;
  let h = modelHashes.get(key);
  if (!h) {
    h = (async () => {
      const bytes = await readModelFile(id);
      if (!bytes || !globalThis.crypto?.subtle) return null;
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
    })().catch(() => null);
    modelHashes.set(key, h);
  }
  return h;
}

export interface VerdictGiven {
  source: HistorySource;
  /** The image's path as dropped, or a frame's name. */
  imageName: string;
  /** The image's file or an encoded frame, hashed for the record; null where there is none (a raw video frame). */
  image: Blob | null;
  model: { id: string; name: string; version: number };
  calibration: Pick<Calibration, 'threshold' | 'good' | 'revision'> | null;
  rawScore: number;
  /** When it was scored (ms since 1970); now if not given. */
  time?: number;
}

/** Builds the record of one verdict (hashing the image and the model file) and queues it for the history. */
export async function recordVerdict(v: VerdictGiven): Promise<void> {
  const time = v.time ?? Date.now();
  try {
    const [imageHash, modelHash] = await Promise.all([v.image ? contentHash(v.image) : null, modelFileHash(v.model.id, v.model.version)]);
    const { station, operator } = useHistory.getState();
    recordVerdicts([
      verdictRecord({ time, source: v.source, station, operator, imageName: v.imageName, imageHash, model: { ...v.model, ...(v.calibration?.revision ? { revision: v.calibration.revision } : {}), hash: modelHash }, rawScore: v.rawScore, calibration: v.calibration }),
    ]);
  } catch (e) {
    reportError(e, `The verdict on ${v.imageName} could not be recorded in the history`);
  }
}

/**
 * The latest `limit` verdicts of one model version at one threshold, with what a person said of each
 * (its latest correction): what the drift check compares with that calibration.
 */
export async function recentVerdicts(model: { id: string; version: number }, rawThreshold: number, limit = 200): Promise<RecentVerdict[]> {
  // Read backwards from the newest: a day of Live verdicts must not be loaded whole for every check.
  const all = await newestOfModel(model.id, limit);
  const fixes = latestCorrections(all);
  return all
    .filter((r) => r.kind === 'verdict' && r.model.version === model.version && r.rawThreshold === rawThreshold)
    .slice(0, limit)
    .map((r) => {
      const fix = r.seq !== undefined ? fixes.get(r.seq) : undefined;
      return { rawScore: r.rawScore, flagged: r.verdict === 'DEFECT', person: fix && fix.verdict !== 'UNCALIBRATED' ? fix.verdict : undefined };
    });
}
