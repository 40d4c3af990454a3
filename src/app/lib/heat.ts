import type { HeatScale } from '../../core';

/**
 * Colours a defect map on the model's fixed scale, as the engine's overlayHeatmap does: transparent at or
 * below `low`, opacity rising from 35 % to full at `high`; the palette comes from the engine at start-up.
 */
export function heatLayer(map: Float32Array, width: number, height: number, scale: HeatScale, palette: Uint8Array): ImageData {
  const img = new ImageData(width, height);
  const span = Math.max(scale.high - scale.low, 1e-12);
  const px = img.data;
  for (let p = 0; p < map.length; p++) {
    const t = (map[p] - scale.low) / span;
    if (!(t > 0)) continue;
    const c = Math.min(255, Math.round(t * 255)) * 3;
    const i = p * 4;
    px[i] = palette[c];
    px[i + 1] = palette[c + 1];
    px[i + 2] = palette[c + 2];
    px[i + 3] = Math.round(255 * Math.min(1, 0.35 + 0.65 * t));
  }
  return img;
}
