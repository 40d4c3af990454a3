// Which part of the camera frame Live scores: the region a person chose for this model and camera, or
// by default the one that frames each frame as the model's training images were (core/inspection/framing).
import { defaultRegion, framingOf, validRegion, type FrameRegion, type Framing } from '../../../core/inspection';
import type { ModelSettings } from '../../../core';
import type { Roi } from '../../../worker/protocol';

const KEY = 'differnet.live.region';

/** A region belongs to a model and a camera: another camera (or another mount) frames the part differently. */
export function regionKey(modelId: string, camera: string): string {
  return `${KEY}:${modelId}:${camera}`;
}

export function loadRegion(modelId: string, camera: string): Roi | null {
  try {
    const v = JSON.parse(localStorage.getItem(regionKey(modelId, camera)) ?? 'null') as unknown;
    return validRegion(v) ? { ...v, relative: true } : null;
  } catch {
    return null;
  }
}

export function saveRegion(modelId: string, camera: string, roi: Roi | null): void {
  try {
    if (roi) localStorage.setItem(regionKey(modelId, camera), JSON.stringify({ x: roi.x, y: roi.y, width: roi.width, height: roi.height }));
    else localStorage.removeItem(regionKey(modelId, camera));
  } catch {
    // Private mode: the region holds until the page closes.
  }
}

/** The region scored in a w x h frame: the chosen one, else the model's default. */
export function scoredRegion(roi: Roi | null, settings: ModelSettings | undefined, w: number, h: number): Roi {
  if (roi) return roi;
  return { ...defaultRegion(framingOf(settings), w, h), relative: true };
}

export function framingOfModel(settings: ModelSettings | undefined): Framing {
  return framingOf(settings);
}

/** Two regions the same to a tenth of a pixel on a 4K frame: a stale-result check that survives recomputation. */
export function sameRegion(a: FrameRegion, b: FrameRegion): boolean {
  const e = 2.5e-5;
  return Math.abs(a.x - b.x) < e && Math.abs(a.y - b.y) < e && Math.abs(a.width - b.width) < e && Math.abs(a.height - b.height) < e;
}
