import { create } from 'zustand';
import { countVerdict, debounce, DEFAULT_DEBOUNCE, EMPTY_DEBOUNCE, validDebounce, ZERO_COUNTS, type Debounce, type DebounceState, type StationCounts, type Verdict } from '../../core/inspection';
import type { Roi } from '../../worker/protocol';

export interface LiveResult {
  score: number;
  map?: Float32Array;
  mapWidth: number;
  mapHeight: number;
  /** The region the result belongs to, relative to the frame. */
  roi: Roi;
  at: number;
  /** Engine time for this frame (score, or score and map). */
  ms?: number;
  /** The whole camera frame this result was computed on (closed when a newer one replaces it). */
  frame?: ImageBitmap;
  /** Wall-clock time the frame was taken, for snapshots and saved defects. */
  takenAt?: number;
}

export interface StationPrefs {
  debounce: Debounce;
  sound: boolean;
  autoSave: boolean;
}

const PREFS_KEY = 'differnet.live.station';
const COUNTS_KEY = 'differnet.live.counts';

function loadCounts(): StationCounts {
  try {
    const v = JSON.parse(localStorage.getItem(COUNTS_KEY) ?? 'null') as StationCounts | null;
    return v && Number.isInteger(v.pass) && Number.isInteger(v.fail) && v.pass >= 0 && v.fail >= 0 ? { pass: v.pass, fail: v.fail } : ZERO_COUNTS;
  } catch {
    return ZERO_COUNTS;
  }
}

/** A shift's counts survive a reload. */
function saveCounts(c: StationCounts): void {
  try {
    localStorage.setItem(COUNTS_KEY, JSON.stringify(c));
  } catch {
    // Private mode: counts hold until the page closes.
  }
}

function loadPrefs(): StationPrefs {
  const fallback: StationPrefs = { debounce: DEFAULT_DEBOUNCE, sound: false, autoSave: true };
  try {
    const v = JSON.parse(localStorage.getItem(PREFS_KEY) ?? 'null') as Partial<StationPrefs> | null;
    if (!v) return fallback;
    return {
      debounce: v.debounce && validDebounce(v.debounce) ? v.debounce : fallback.debounce,
      sound: typeof v.sound === 'boolean' ? v.sound : fallback.sound,
      autoSave: typeof v.autoSave === 'boolean' ? v.autoSave : fallback.autoSave,
    };
  } catch {
    return fallback;
  }
}

interface LiveState {
  deviceId: string;
  running: boolean;
  paused: boolean;
  heatmap: boolean;
  /** Rotations per frame; 0 = the model's own, with which its threshold was calibrated. */
  transforms: number;
  /** A region the user drew or chose; null = the model's default (the training framing). */
  roi: Roi | null;
  /** The newest frame's verdict: its score and the frame (no map: maps are drawn from `mapResult`). */
  result: LiveResult | null;
  /** Verdicts since the run started, the map lane's included (a map's score is a verdict too). */
  frames: number;
  /** Verdicts per second. */
  fps: number;
  /** When the last few verdicts and maps were recorded, for their rates. */
  frameTimes: number[];
  mapTimes: number[];
  /** The last defect map, from the map engine; usually a few frames older than the verdict. */
  mapResult: LiveResult | null;
  maps: number;
  mapsPerSecond: number;
  /** Why the map lane stopped; the verdicts go on without it. */
  mapError: string | null;
  error: string | null;
  /** Station: the k-of-n verdict, the counts of frames it passed and failed since the last reset. */
  debounced: DebounceState;
  counts: StationCounts;
  prefs: StationPrefs;
  /** Defective frames saved in this browser (null until counted). */
  saved: number | null;
  set(patch: Partial<Omit<LiveState, 'set' | 'record' | 'recordMap' | 'setPrefs' | 'resetCounts'>>): void;
  /** Records a verdict; returns the debounced verdict before and after it. */
  record(r: LiveResult, verdict: Verdict | null): { before: Verdict | null; after: Verdict | null };
  recordMap(r: LiveResult): void;
  setPrefs(patch: Partial<StationPrefs>): void;
  resetCounts(): void;
}

export const FULL_FRAME: Roi = { x: 0, y: 0, width: 1, height: 1, relative: true };

export const useLive = create<LiveState>((set, get) => ({
  deviceId: '',
  running: false,
  paused: false,
  heatmap: true,
  transforms: 0,
  roi: null,
  result: null,
  frames: 0,
  fps: 0,
  frameTimes: [],
  mapTimes: [],
  mapResult: null,
  maps: 0,
  mapsPerSecond: 0,
  mapError: null,
  error: null,
  debounced: EMPTY_DEBOUNCE,
  counts: loadCounts(),
  saved: null,
  prefs: loadPrefs(),
  set(patch) {
    const s = get();
    // Frames are GPU or bitmap memory: the one a result replaces is freed here, once.
    if ('result' in patch && s.result?.frame && patch.result?.frame !== s.result.frame) s.result.frame.close();
    if ('mapResult' in patch && s.mapResult?.frame && patch.mapResult?.frame !== s.mapResult.frame) s.mapResult.frame.close();
    set(patch);
  },
  record(r, verdict) {
    const s = get();
    // A map's verdict arrives after the scores of newer frames: it votes and counts, but the screen keeps
    // showing the newest frame.
    const older = s.result?.takenAt !== undefined && r.takenAt !== undefined && r.takenAt < s.result.takenAt;
    const shown = older ? s.result : r;
    if (older) r.frame?.close();
    else if (s.result?.frame && s.result.frame !== r.frame) s.result.frame.close();
    const before = s.debounced.stable;
    const debounced = verdict ? debounce(s.debounced, verdict, s.prefs.debounce) : s.debounced;
    const counts = verdict ? countVerdict(s.counts, debounced.stable) : s.counts;
    if (counts !== s.counts) saveCounts(counts);
    const frameTimes = recent(s.frameTimes, r.at);
    set({ result: shown, frames: s.frames + 1, frameTimes, fps: rateOf(frameTimes), error: null, debounced, counts });
    return { before, after: debounced.stable };
  },
  recordMap(r) {
    const s = get();
    if (s.mapResult?.frame && s.mapResult.frame !== r.frame) s.mapResult.frame.close();
    const mapTimes = recent(s.mapTimes, r.at);
    set({ mapResult: r, maps: s.maps + 1, mapTimes, mapsPerSecond: rateOf(mapTimes), mapError: null });
  },
  setPrefs(patch) {
    const prefs = { ...get().prefs, ...patch };
    if (!validDebounce(prefs.debounce)) return;
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
    } catch {
      // Private mode: the choice holds until the page closes.
    }
    // A new k or n starts the window afresh, so the shown verdict follows the new rule from its first frame.
    set({ prefs, debounced: patch.debounce ? EMPTY_DEBOUNCE : get().debounced });
  },
  resetCounts() {
    saveCounts(ZERO_COUNTS);
    set({ counts: ZERO_COUNTS });
  },
}));

/** The last few seconds' events, so a rate reads steadily while jobs take varying time. */
const RATE_WINDOW_MS = 5000;

function recent(times: number[], at: number): number[] {
  return [...times.filter((t) => t > at - RATE_WINDOW_MS && t <= at), at];
}

/**
 * Events per second over the window: intervals counted over their total span, not 1/interval averaged,
 * which reads high when two lanes' results come unevenly spaced.
 */
export function rateOf(times: number[]): number {
  if (times.length < 2) return 0;
  const span = (times[times.length - 1] - times[0]) / 1000;
  return span > 0 ? (times.length - 1) / span : 0;
}
