import { forwardRef, useEffect, useImperativeHandle, useMemo, useRef, useState } from 'react';
import type { HeatScale } from '../../core/inspection';
import { heatLayer } from '../lib/heat';

export interface HeatmapHandle {
  /** The composite (image with overlay) at the image's resolution, as PNG. */
  toPng(): Promise<Blob | null>;
}

interface Props {
  image: Blob;
  map?: Float32Array;
  mapWidth?: number;
  mapHeight?: number;
  scale: HeatScale | null;
  palette: Uint8Array | null;
  opacity: number;
  sideBySide?: boolean;
  /** Trace the region above every held-out good pixel. */
  outline?: boolean;
  label: string;
}

/** Largest side drawn on screen; the export renders at full resolution. */
const DISPLAY_SIDE = 1024;

/** Small images are enlarged by a whole factor up to this side on screen, with crisp (unsmoothed) pixels. */
const ENLARGE_TO = 768;

/** The on-screen drawing size of a bitmap: large ones shrink to DISPLAY_SIDE, small ones grow by a whole factor. */
export function displaySize(width: number, height: number): { w: number; h: number; crisp: boolean } {
  const side = Math.max(width, height);
  if (side > DISPLAY_SIDE) {
    const s = DISPLAY_SIDE / side;
    return { w: Math.round(width * s), h: Math.round(height * s), crisp: false };
  }
  const k = Math.max(1, Math.min(8, Math.floor(ENLARGE_TO / side)));
  return { w: width * k, h: height * k, crisp: k > 1 };
}

function drawComposite(ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D, bmp: ImageBitmap, heat: OffscreenCanvas | null, w: number, h: number, opacity: number, sideBySide: boolean, crisp = false) {
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.imageSmoothingEnabled = !crisp;
  ctx.drawImage(bmp, 0, 0, w, h);
  const x = sideBySide ? w : 0;
  if (sideBySide) ctx.drawImage(bmp, x, 0, w, h);
  ctx.imageSmoothingEnabled = true;
  if (heat) {
    ctx.save();
    ctx.globalAlpha = opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(heat, x, 0, w, h);
    ctx.restore();
  }
}

/** An image with its defect map on the model's fixed colour scale; optional side-by-side view. */
export const HeatmapCanvas = forwardRef<HeatmapHandle, Props>(function HeatmapCanvas({ image, map, mapWidth, mapHeight, scale, palette, opacity, sideBySide = false, outline = false, label }, ref) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [bitmap, setBitmap] = useState<ImageBitmap | null>(null);
  const [error, setError] = useState<string | null>(null);

  const current = useRef<ImageBitmap | null>(null);
  useEffect(() => {
    let cancelled = false;
    setError(null);
    createImageBitmap(image, { imageOrientation: 'from-image' })
      .then((b) => {
        if (cancelled) return b.close();
        // The previous bitmap is closed only once the new one replaces it, so nothing draws a closed one.
        const prev = current.current;
        current.current = b;
        setBitmap(b);
        prev?.close();
      })
      .catch(() => !cancelled && setError('This image cannot be shown (unreadable file).'));
    return () => {
      cancelled = true;
    };
  }, [image]);

  useEffect(
    () => () => {
      current.current?.close();
      current.current = null;
    },
    [],
  );

  const low = scale?.low;
  const high = scale?.high;
  const heat = useMemo(() => {
    if (!map || !mapWidth || !mapHeight || low === undefined || high === undefined || !palette) return null;
    const c = new OffscreenCanvas(mapWidth, mapHeight);
    c.getContext('2d')!.putImageData(heatLayer(map, mapWidth, mapHeight, { low, high }, palette, outline), 0, 0);
    return c;
  }, [map, mapWidth, mapHeight, low, high, palette, outline]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !bitmap) return;
    const { w, h, crisp } = displaySize(bitmap.width, bitmap.height);
    if (c.width !== (sideBySide ? 2 * w : w)) c.width = sideBySide ? 2 * w : w;
    if (c.height !== h) c.height = h;
    drawComposite(c.getContext('2d')!, bitmap, heat, w, h, opacity, sideBySide, crisp);
  });

  useImperativeHandle(ref, () => ({
    async toPng() {
      if (!bitmap) return null;
      const w = bitmap.width;
      const h = bitmap.height;
      const off = new OffscreenCanvas(sideBySide ? 2 * w : w, h);
      drawComposite(off.getContext('2d')!, bitmap, heat, w, h, opacity, sideBySide);
      return off.convertToBlob({ type: 'image/png' });
    },
  }));

  if (error) return <p className="error-text placeholder-box">{error}</p>;
  return <canvas ref={canvas} className="heatmap" role="img" aria-label={label} data-testid="heatmap-canvas" />;
});
