import { useEffect, useRef, useState, type RefObject } from 'react';
import { EMPTY_DEBOUNCE, verdictOf } from '../../../core/inspection';
import { isCancelled } from '../../../worker/client';
import type { Roi } from '../../../worker/protocol';
import { engine } from '../../engine';
import { recordVerdict } from '../../stores/history';
import { reportError } from '../../stores/notices';
import { useLive, type LiveResult } from '../../stores/live';
import { useModels } from '../../stores/models';
import { sameRegion, scoredRegion } from './region';
import { beep, saveDefect } from './station';
import { formatDateTime } from '../../lib/format';
import { LiveScheduler, type Clock, type Job, type JobContext, type LiveLane } from './scheduler';
import { mapEngineFor, releaseMapEngine } from './mapLane';
import type { EngineClient } from '../../../worker/client';

/** The region scored now, for the model's framing and the video's size. */
function currentRegion(modelId: string, v: HTMLVideoElement): Roi {
  const record = useModels.getState().records.find((r) => r.id === modelId);
  return scoredRegion(useLive.getState().roi, record?.settings, v.videoWidth, v.videoHeight);
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

/**
 * The station's reaction to the debounced verdict turning DEFECT: a beep, and the frame saved with a map,
 * its own when the verdict came with one, else the next (asked for at once).
 */
function onDefect(modelId: string, scheduler: LiveScheduler, map: LiveResult | null): void {
  const s = useLive.getState();
  if (s.prefs.sound) beep();
  // A map's verdict may be older than the frame shown: the defect saved is the map's own frame.
  const own = map ?? s.result;
  if (!s.prefs.autoSave || !own?.frame) return;
  // The frame must outlive the live view's use of it (the next result closes that one).
  const result: LiveResult = { ...own, map: undefined, mapWidth: 0, mapHeight: 0, frame: undefined };
  const waitForMap = !map && s.heatmap && !s.mapError;
  if (waitForMap) scheduler.requestMap();
  void createImageBitmap(own.frame).then((frame) => {
    const kept = { ...result, frame };
    if (waitForMap) {
      pendingSave?.result.frame?.close();
      pendingSave = { modelId, result: kept };
    } else {
      save(modelId, kept, map);
    }
  });
}

function onMap(modelId: string, map: LiveResult): void {
  const p = pendingSave;
  if (!p || p.modelId !== modelId) return;
  pendingSave = null;
  save(modelId, p.result, map);
}

/** The newest camera frame, twice: one the engine takes away (transfer), one kept for what the screen shows. */
async function takeFrame(v: HTMLVideoElement): Promise<{ sent: ImageBitmap; kept: ImageBitmap }> {
  const kept = await createImageBitmap(v);
  return { sent: await createImageBitmap(kept), kept };
}

const clock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    }),
};

const isReady = (v: HTMLVideoElement | null): v is HTMLVideoElement => !!v && v.readyState >= 2 && v.videoWidth > 0;

/**
 * A lane of the Live scheduler (scheduler.ts) on an engine: takes the newest frame, calls the engine and
 * records each result (a map's score is a verdict too).
 */
function lane(video: RefObject<HTMLVideoElement | null>, client: () => Promise<EngineClient>, modelId: string, transforms: number, scheduler: () => LiveScheduler | null): LiveLane {
  const call = async (job: Job | 'warm', v: HTMLVideoElement, signal: AbortSignal, context: JobContext = { besideMap: false }) => {
    const c = await client();
    const roi = currentRegion(modelId, v);
    const opts = { modelId, transforms: transforms || undefined, roi };
    if (job === 'warm') {
      // A blank frame of the camera's shape (the engine resizes every frame to the model's size), so
      // compilation and warm-up are not charged to the first verdict.
      const blank = await createImageBitmap(new ImageData(v.videoWidth, v.videoHeight));
      await c.call('analyze', { ...opts, image: blank, map: false }, { transfer: [blank], signal });
      return;
    }
    const takenAt = Date.now();
    const { sent, kept } = await takeFrame(v);
    let r;
    try {
      // Beside a map the verdict engine has one core, not two: its helper thread would only hold its kernels up.
      const threads = context.besideMap ? { threads: 1 } : {};
      r = await c.call('analyze', { ...opts, ...threads, image: sent, map: job === 'map' }, { transfer: [sent], signal });
    } catch (e) {
      kept.close();
      throw e;
    }
    if (stale(signal, modelId, video, roi)) {
      kept.close();
      return;
    }
    let map: LiveResult | null = null;
    if (job === 'map') {
      // The verdict and the map each keep their frame: the store closes each when a newer one replaces it.
      map = { score: r.score, map: r.map, mapWidth: r.mapWidth, mapHeight: r.mapHeight, roi, at: performance.now(), ms: r.ms, frame: await createImageBitmap(kept), takenAt };
      useLive.getState().recordMap(map);
      onMap(modelId, map);
    }
    const rec = useModels.getState().records.find((m) => m.id === modelId);
    const cal = rec?.calibration ?? null;
    // A map's engine time is not a score's: the screen's score latency stays the verdict lane's.
    const { before, after } = useLive.getState().record({ score: r.score, mapWidth: 0, mapHeight: 0, roi, at: performance.now(), ms: map ? undefined : r.ms, frame: kept, takenAt }, cal ? verdictOf(r.score, cal.threshold) : null);
    // Every scored frame joins the trail (batched writes); a raw video frame has no file to hash.
    if (rec) void recordVerdict({ source: 'live', imageName: `live frame ${formatDateTime(takenAt)}`, image: null, model: { id: rec.id, name: rec.name, version: rec.version }, calibration: cal, rawScore: r.score, time: takenAt });
    const s = scheduler();
    if (after === 'defect' && before !== 'defect' && s) onDefect(modelId, s, map);
  };
  return {
    ready: () => isReady(video.current),
    warm: async (signal) => {
      const v = video.current;
      if (isReady(v)) await call('warm', v, signal);
    },
    run: async (job, signal, context) => {
      const v = video.current;
      if (isReady(v)) await call(job, v, signal, context);
    },
  };
}

/**
 * Verdicts on the page's engine and, with the heatmap on, defect maps on a second one; the scheduler
 * decides when. An error stops the verdicts and is shown; a failed map lane leaves them running.
 */
export function useLiveLoop(video: RefObject<HTMLVideoElement | null>, enabled: boolean, modelId: string | null, version: number) {
  const heatmap = useLive((s) => s.heatmap);
  const transforms = useLive((s) => s.transforms);
  const [scheduler, setScheduler] = useState<LiveScheduler | null>(null);
  const current = useRef<LiveScheduler | null>(null);

  useEffect(() => {
    if (!enabled || !modelId) return;
    // A new run (model, version, rotations, or resuming) starts the k-of-n window afresh: frames of another model or moment do not vote.
    useLive.getState().set({ error: null, result: null, fps: 0, frames: 0, frameTimes: [], debounced: EMPTY_DEBOUNCE });
    const verdicts = lane(
      video,
      async () => {
        if (!(await useModels.getState().ensureLoaded(modelId))) throw new Error('the model has not been trained yet');
        return engine();
      },
      modelId,
      transforms,
      () => current.current,
    );
    const s = new LiveScheduler(clock, verdicts, (e) => {
      if (!isCancelled(e)) useLive.getState().set({ error: (e as Error).message, running: false });
    });
    current.current = s;
    setScheduler(s);
    return () => {
      current.current = null;
      setScheduler(null);
      void s.stop();
    };
  }, [enabled, modelId, version, transforms, video]);

  useEffect(() => {
    if (!scheduler || !heatmap || !modelId) return;
    const record = useModels.getState().records.find((r) => r.id === modelId);
    if (!record) return;
    useLive.getState().set({ mapError: null, mapResult: null, maps: 0, mapsPerSecond: 0, mapTimes: [] });
    scheduler.startMaps(lane(video, () => mapEngineFor(record), modelId, transforms, () => current.current), (e) => {
      if (!isCancelled(e)) useLive.getState().set({ mapError: (e as Error).message });
      flushPending();
    });
    return () => {
      flushPending();
      // Leaving Live, turning the heatmap off or changing model: the second engine's memory goes too, at
      // once (a map in flight is cancelled with its lane), so a lane started next gets a fresh engine.
      void scheduler.stopMaps();
      releaseMapEngine();
    };
  }, [scheduler, heatmap, modelId, transforms, video]);
}
