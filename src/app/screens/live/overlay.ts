import type { HeatScale } from '../../../core';
import type { Roi } from '../../../worker/protocol';
import { heatLayer } from '../../lib/heat';
import type { LiveResult } from '../../stores/live';

export function roiPixels(roi: Roi, w: number, h: number) {
  return { x: roi.x * w, y: roi.y * h, width: roi.width * w, height: roi.height * h };
}

/** Draws the heat layer of the last result into its region, and the region's outline, on a frame-sized canvas. */
export function drawOverlay(ctx: CanvasRenderingContext2D, result: LiveResult | null, roi: Roi | null, scale: HeatScale | null, palette: Uint8Array | null, opacity: number, draft: Roi | null) {
  const { width: w, height: h } = ctx.canvas;
  ctx.clearRect(0, 0, w, h);
  if (result?.map && scale && palette && result.mapWidth > 0) {
    const layer = new OffscreenCanvas(result.mapWidth, result.mapHeight);
    layer.getContext('2d')!.putImageData(heatLayer(result.map, result.mapWidth, result.mapHeight, scale, palette), 0, 0);
    const r = roiPixels(result.roi, w, h);
    ctx.save();
    ctx.globalAlpha = opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(layer, r.x, r.y, r.width, r.height);
    ctx.restore();
  }
  for (const [box, colour] of [
    [roi, '#60a5fa'],
    [draft, '#fbbf24'],
  ] as const) {
    if (!box) continue;
    const r = roiPixels(box, w, h);
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.lineWidth = Math.max(2, w / 320);
    ctx.setLineDash([10, 6]);
    ctx.strokeRect(r.x, r.y, r.width, r.height);
    ctx.restore();
  }
}

/** The rectangle between two points, in fractions of the frame. */
export function roiBetween(a: { x: number; y: number }, b: { x: number; y: number }): Roi {
  const x = Math.max(0, Math.min(a.x, b.x));
  const y = Math.max(0, Math.min(a.y, b.y));
  return { x, y, width: Math.min(1, Math.max(a.x, b.x)) - x, height: Math.min(1, Math.max(a.y, b.y)) - y, relative: true };
}
