import { useEffect, type RefObject } from 'react';
import { isCancelled } from '../../../worker/client';
import type { EngineClient } from '../../../worker/client';
import type { Roi } from '../../../worker/protocol';
import { engine } from '../../engine';
import { useLive, FULL_FRAME } from '../../stores/live';
import { useModels } from '../../stores/models';
import { mapEngineFor, releaseMapEngine } from './mapLane';

type Lane = (client: EngineClient, frame: ImageBitmap, roi: Roi, signal: AbortSignal) => Promise<void>;

/**
 * After each map the map lane rests this many times as long as the map took. On this 2-core machine a map
 * (1.7-2.0 s on the second engine's one thread) slows the verdict engine's two threads while it runs, so
 * the rest sets the verdicts' share: `npm run bench:browser -- --live-only`, verdicts/s x score latency
 * with the heatmap on, was 0.69 at a rest of 1x (0.28 maps/s), 0.83 at 1.5x (0.20), 0.88 and 0.88 at 2x
 * (0.16) and 0.80 at 3x (0.12), against 0.97-0.99 with the heatmap off. 2x keeps the verdicts above 0.8
 * with a map every 6 s or so.
 */
const MAP_REST = 2;

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
    if (!warm) {
      const blank = await createImageBitmap(new ImageData(v.videoWidth, v.videoHeight));
      await c.call('analyze', { modelId, image: blank, map: false }, { transfer: [blank], signal });
      warm = true;
      continue;
    }
    const roi = useLive.getState().roi ?? FULL_FRAME;
    const t0 = performance.now();
    await lane(c, await createImageBitmap(v), roi, signal);
    if (rest > 0 && !signal.aborted) await new Promise((r) => setTimeout(r, rest * (performance.now() - t0)));
  }
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
    useLive.getState().set({ error: null, result: null, fps: 0, frames: 0 });
    (async () => {
      try {
        if (!(await useModels.getState().ensureLoaded(modelId))) throw new Error('the model has not been trained yet');
        await runLane(
          video,
          async () => engine(),
          async (c, frame, roi, signal) => {
            const r = await c.call('analyze', { modelId, image: frame, map: false, transforms: transforms || undefined, roi }, { transfer: [frame], signal });
            // A frame scored for a region the user has since moved would show a stale verdict.
            if (signal.aborted || (useLive.getState().roi ?? FULL_FRAME) !== roi) return;
            useLive.getState().record({ score: r.score, mapWidth: 0, mapHeight: 0, roi, at: performance.now(), ms: r.ms });
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
          async (c, frame, roi, signal) => {
            const r = await c.call('analyze', { modelId, image: frame, map: true, transforms: transforms || undefined, roi }, { transfer: [frame], signal });
            if (signal.aborted || (useLive.getState().roi ?? FULL_FRAME) !== roi) return;
            useLive.getState().recordMap({ score: r.score, map: r.map, mapWidth: r.mapWidth, mapHeight: r.mapHeight, roi, at: performance.now(), ms: r.ms });
          },
          modelId,
          ac.signal,
          MAP_REST,
        );
      } catch (e) {
        if (!isCancelled(e) && !ac.signal.aborted) useLive.getState().set({ mapError: (e as Error).message });
      }
    })();
    return () => {
      ac.abort();
      // Leaving Live, turning the heatmap off or changing model: the second engine's memory goes too.
      releaseMapEngine();
    };
  }, [enabled, modelId, version, heatmap, transforms, video]);
}
