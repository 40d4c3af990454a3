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
}

interface LiveState {
  deviceId: string;
  running: boolean;
  paused: boolean;
  heatmap: boolean;
  /** Rotations per frame; 0 = the model's own, with which its threshold was calibrated. */
  transforms: number;
  roi: Roi | null;
  result: LiveResult | null;
  frames: number;
  fps: number;
  error: string | null;
  set(patch: Partial<Omit<LiveState, 'set' | 'record'>>): void;
  record(r: LiveResult): void;
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
  error: null,
  set(patch) {
    set(patch);
  },
  record(r) {
    set((s) => {
      const dt = s.result ? (r.at - s.result.at) / 1000 : 0;
      // A smoothed rate, so the number is readable while frames take varying time.
      const fps = dt > 0 ? (s.fps > 0 ? 0.7 * s.fps + 0.3 / dt : 1 / dt) : s.fps;
      return { result: r, frames: s.frames + 1, fps, error: null };
    });
  },
}));
