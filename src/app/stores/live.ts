import { create } from 'zustand';
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
}

interface LiveState {
  deviceId: string;
  running: boolean;
  paused: boolean;
  heatmap: boolean;
  /** Rotations per frame; 0 = the model's own, with which its threshold was calibrated. */
  transforms: number;
  roi: Roi | null;
  /** The last verdict's score (no map: maps come on their own lane). */
  result: LiveResult | null;
  frames: number;
  fps: number;
  /** The last defect map, from the map engine; usually a few frames older than the verdict. */
  mapResult: LiveResult | null;
  maps: number;
  mapsPerSecond: number;
  /** Why the map lane stopped; the verdicts go on without it. */
  mapError: string | null;
  error: string | null;
  set(patch: Partial<Omit<LiveState, 'set' | 'record' | 'recordMap'>>): void;
  record(r: LiveResult): void;
  recordMap(r: LiveResult): void;
}

export const FULL_FRAME: Roi = { x: 0, y: 0, width: 1, height: 1, relative: true };

export const useLive = create<LiveState>((set) => ({
  deviceId: '',
  running: false,
  paused: false,
  heatmap: true,
  transforms: 0,
  roi: null,
  result: null,
  frames: 0,
  fps: 0,
  mapResult: null,
  maps: 0,
  mapsPerSecond: 0,
  mapError: null,
  error: null,
  set(patch) {
    set(patch);
  },
  record(r) {
    set((s) => ({ result: r, frames: s.frames + 1, fps: smoothedRate(s.fps, s.result, r), error: null }));
  },
  recordMap(r) {
    set((s) => ({ mapResult: r, maps: s.maps + 1, mapsPerSecond: smoothedRate(s.mapsPerSecond, s.mapResult, r), mapError: null }));
  },
}));

/** A smoothed rate, so the number is readable while frames take varying time. */
function smoothedRate(rate: number, last: LiveResult | null, next: LiveResult): number {
  const dt = last ? (next.at - last.at) / 1000 : 0;
  return dt > 0 ? (rate > 0 ? 0.7 * rate + 0.3 / dt : 1 / dt) : rate;
}
