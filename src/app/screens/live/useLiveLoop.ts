import { useEffect, type RefObject } from 'react';
import { EMPTY_DEBOUNCE, verdictOf } from '../../../core/inspection';
import { isCancelled } from '../../../worker/client';
import type { EngineClient } from '../../../worker/client';
import type { Roi } from '../../../worker/protocol';
import { engine } from '../../engine';
import { recordVerdict } from '../../stores/history';
import { reportError } from '../../stores/notices';
import { useLive, type LiveResult } from '../../stores/live';
import { useModels } from '../../stores/models';
import { mapEngineFor, releaseMapEngine } from './mapLane';
import { sameRegion, scoredRegion } from './region';
import { beep, saveDefect } from './station';
import { formatDateTime } from '../../lib/format';

/** One frame taken for a lane: the bitmap the engine gets, a copy kept for what the screen shows, and when. */
interface Taken {
  sent: ImageBitmap;
  kept: ImageBitmap;
  roi: Roi;
  takenAt: number;
}

type Lane = (client: EngineClient, taken: Taken, signal: AbortSignal) => Promise<void>;

/**
 * After each map the map lane rests this many times as long as the map took. On this 2-core machine a map
 * (1.7-2.0 s on the second engine's one thread) slows the verdict engine's two threads while it runs, so
 * the rest sets the verdicts' share: `npm run bench:browser -- --live-only`, verdicts/s x score latency
 * with the heatmap on, was 0.69 at a rest of 1x (0.28 maps/s), 0.83 at 1.5x (0.20), 0.88 and 0.88 at 2x
 * (0.16) and 0.80 at 3x (0.12), against 0.97-0.99 with the heatmap off. 2x keeps the verdicts above 0.8
 * with a map every 6 s or so.
 */
const MAP_REST = 2;

/** The region scored now, for the model's framing and the video's size. */
function currentRegion(modelId: string, v: HTMLVideoElement): Roi {
  const record = useModels.getState().records.find((r) => r.id === modelId);
  return scoredRegion(useLive.getState().roi, record?.settings, v.videoWidth, v.videoHeight);
}

/**
 * Takes the newest camera frame whenever the lane's engine is free: one frame in flight per lane, so the
 * rate adapts to the machine and frames are dropped, never queued. The first call scores a blank frame
 * of the same shape (the engine resizes every frame to the model's size), so shader compilation and
 * warm-up are not charged to the first verdict.
 */
async function runLane(video: RefObject<HTMLVideoElement | null>, client: () => Promise<EngineClient>, lane: Lane, modelId: string, signal: AbortSignal, rest = 0): Promise<void> {
  const c = await client();
  let warm = false;
  while (!signal.aborted) {
    const v = video.current;
    if (!v || v.readyState < 2 || v.videoWidth === 0) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const roi = currentRegion(modelId, v);
    if (!warm) {
      const blank = await createImageBitmap(new ImageData(v.videoWidth, v.videoHeight));
      await c.call('analyze', { modelId, image: blank, map: false, roi }, { transfer: [blank], signal });
      warm = true;
      continue;
    }
    const t0 = performance.now();
    const takenAt = Date.now();
    const kept = await createImageBitmap(v);
    // The engine takes its bitmap away (transfer); the copy stays for snapshots, pause and saved defects.
    const sent = await createImageBitmap(kept);
    try {
      await lane(c, { sent, kept, roi, takenAt }, signal);
    } catch (e) {
      kept.close();
      throw e;
    }
    if (rest > 0 && !signal.aborted) await new Promise((r) => setTimeout(r, rest * (performance.now() - t0)));
  }
}

/** A frame scored for a region the user has since moved would show a stale verdict. */
function stale(signal: AbortSignal, modelId: string, video: RefObject<HTMLVideoElement | null>, roi: Roi): boolean {
  const v = video.current;
  return signal.aborted || !v || !sameRegion(currentRegion(modelId, v), roi);
}

/**
 * A DEFECT waiting for its heatmap: the map lane's next map (a frame or two later, the same part) goes
 * with it, so a saved defect shows where the defect is.
 */
let pendingSave: { modelId: string; result: LiveResult } | null = null;

function save(modelId: string, result: LiveResult, map: LiveResult | null): void {
  const record = useModels.getState().records.find((r) => r.id === modelId);
  if (!record) return;
  saveDefect(result, map, record)
    .then(
      (n) => useLive.getState().set({ saved: n }),
      (e) => reportError(e, 'A defective frame could not be saved'),
    )
    .finally(() => result.frame?.close());
}

/** A map lane that stops (error, heatmap off, leaving Live) saves the waiting defect without a map. */
function flushPending(): void {
  const p = pendingSave;
  pendingSave = null;
  if (p) save(p.modelId, p.result, null);
}

/** The station's reaction to the debounced verdict turning DEFECT: a beep, and the frame saved with a map. */
function onDefect(modelId: string): void {
  const s = useLive.getState();
  if (s.prefs.sound) beep();
  if (!s.prefs.autoSave || !s.result?.frame) return;
  // The frame must outlive the live view's use of it (the next result closes that one).
  const result = { ...s.result, frame: undefined };
  void createImageBitmap(s.result.frame).then((frame) => {
    const kept = { ...result, frame };
    if (s.heatmap && !s.mapError) {
      pendingSave?.result.frame?.close();
      pendingSave = { modelId, result: kept };
    } else {
      save(modelId, kept, null);
    }
  });
}

function onMap(modelId: string, map: LiveResult): void {
  const p = pendingSave;
  if (!p || p.modelId !== modelId) return;
  pendingSave = null;
  save(modelId, p.result, map);
}

/**
 * Two lanes: verdicts on every frame the engine can score, and (with the heatmap on) defect maps on a
 * second engine at their own, slower cadence, so a map never holds a verdict back. An error stops its lane
 * and is shown; a failed map lane leaves the verdicts running.
 */
export function useLiveLoop(video: RefObject<HTMLVideoElement | null>, enabled: boolean, modelId: string | null, version: number) {
  const heatmap = useLive((s) => s.heatmap);
  const transforms = useLive((s) => s.transforms);

  useEffect(() => {
    if (!enabled || !modelId) return;
    const ac = new AbortController();
    // A new run (model, version, rotations, or resuming) starts the k-of-n window afresh: frames of another model or moment do not vote.
    useLive.getState().set({ error: null, result: null, fps: 0, frames: 0, debounced: EMPTY_DEBOUNCE });
    (async () => {
      try {
        if (!(await useModels.getState().ensureLoaded(modelId))) throw new Error('the model has not been trained yet');
        await runLane(
          video,
          async () => engine(),
          async (c, { sent, kept, roi, takenAt }, signal) => {
            const r = await c.call('analyze', { modelId, image: sent, map: false, transforms: transforms || undefined, roi }, { transfer: [sent], signal });
            if (stale(signal, modelId, video, roi)) {
              kept.close();
              return;
            }
            const rec = useModels.getState().records.find((m) => m.id === modelId);
            const cal = rec?.calibration ?? null;
            const { before, after } = useLive.getState().record({ score: r.score, mapWidth: 0, mapHeight: 0, roi, at: performance.now(), ms: r.ms, frame: kept, takenAt }, cal ? verdictOf(r.score, cal.threshold) : null);
            // Every scored frame joins the trail (batched writes); a raw video frame has no file to hash.
            if (rec) void recordVerdict({ source: 'live', imageName: `live frame ${formatDateTime(takenAt)}`, image: null, model: { id: rec.id, name: rec.name, version: rec.version }, calibration: cal, rawScore: r.score, time: takenAt });
            if (after === 'defect' && before !== 'defect') onDefect(modelId);
          },
          modelId,
          ac.signal,
        );
      } catch (e) {
        if (!isCancelled(e) && !ac.signal.aborted) useLive.getState().set({ error: (e as Error).message, running: false });
      }
    })();
    return () => ac.abort();
  }, [enabled, modelId, version, transforms, video]);

  useEffect(() => {
    if (!enabled || !modelId || !heatmap) return;
    const ac = new AbortController();
    useLive.getState().set({ mapError: null, mapResult: null, maps: 0, mapsPerSecond: 0 });
    (async () => {
      try {
        const record = useModels.getState().records.find((r) => r.id === modelId);
        if (!record) return;
        await runLane(
          video,
          () => mapEngineFor(record),
          async (c, { sent, kept, roi, takenAt }, signal) => {
            const r = await c.call('analyze', { modelId, image: sent, map: true, transforms: transforms || undefined, roi }, { transfer: [sent], signal });
            if (stale(signal, modelId, video, roi)) {
              kept.close();
              return;
            }
            const m: LiveResult = { score: r.score, map: r.map, mapWidth: r.mapWidth, mapHeight: r.mapHeight, roi, at: performance.now(), ms: r.ms, frame: kept, takenAt };
            useLive.getState().recordMap(m);
            onMap(modelId, m);
          },
          modelId,
          ac.signal,
          MAP_REST,
        );
      } catch (e) {
        if (!isCancelled(e) && !ac.signal.aborted) useLive.getState().set({ mapError: (e as Error).message });
        flushPending();
      }
    })();
    return () => {
      ac.abort();
      flushPending();
      // Leaving Live, turning the heatmap off or changing model: the second engine's memory goes too.
      releaseMapEngine();
    };
  }, [enabled, modelId, version, heatmap, transforms, video]);
}
