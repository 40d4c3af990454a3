import { useEffect, type RefObject } from 'react';
import { isCancelled } from '../../../worker/client';
import { engine } from '../../engine';
import { useLive, FULL_FRAME } from '../../stores/live';
import { useModels } from '../../stores/models';

/**
 * Scores frames back to back: one frame in flight at a time, so the rate adapts to the machine and
 * frames never pile up. An error stops the loop and is shown; it does not retry by itself.
 */
export function useLiveLoop(video: RefObject<HTMLVideoElement | null>, enabled: boolean, modelId: string | null, version: number) {
  const heatmap = useLive((s) => s.heatmap);
  const transforms = useLive((s) => s.transforms);
  useEffect(() => {
    if (!enabled || !modelId) return;
    const ac = new AbortController();
    const live = useLive.getState();
    live.set({ error: null, result: null, fps: 0, frames: 0 });
    (async () => {
      try {
        if (!(await useModels.getState().ensureLoaded(modelId))) throw new Error('the model has not been trained yet');
        while (!ac.signal.aborted) {
          const v = video.current;
          if (!v || v.readyState < 2 || v.videoWidth === 0) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          const roi = useLive.getState().roi ?? FULL_FRAME;
          const frame = await createImageBitmap(v);
          const r = await engine().call('analyze', { modelId, image: frame, map: heatmap, transforms: transforms || undefined, roi }, { transfer: [frame], signal: ac.signal });
          if (ac.signal.aborted) break;
          // A frame scored for a region the user has since moved would show a stale verdict.
          if ((useLive.getState().roi ?? FULL_FRAME) !== roi) continue;
          useLive.getState().record({ score: r.score, map: r.map, mapWidth: r.mapWidth, mapHeight: r.mapHeight, roi, at: performance.now() });
        }
      } catch (e) {
        if (!isCancelled(e) && !ac.signal.aborted) useLive.getState().set({ error: (e as Error).message, running: false });
      }
    })();
    return () => ac.abort();
  }, [enabled, modelId, version, heatmap, transforms, video]);
}
