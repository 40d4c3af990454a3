import { aboveGood, heatAlpha, heatPosition, mapSpan, outline, type HeatScale } from '../../core/inspection';

/**
 * Colours a defect map on the model's scale, as the engine's overlayHeatmap does (heatScale.ts): clear up
 * to the good pixels' 99th percentile, the good range in the lower half of the colours, and above it a
 * log scale over this map's own range (heatScale.ts). With `withOutline`, the region above every good pixel is traced.
 */
export function heatLayer(map: Float32Array, width: number, height: number, scale: HeatScale, palette: Uint8Array, withOutline = false): ImageData {
  const img = new ImageData(width, height);
  const span = mapSpan(map, scale);
  const px = img.data;
  for (let p = 0; p < map.length; p++) {
    const t = heatPosition(map[p], scale, span);
    if (!(t > 0)) continue;
    const c = Math.min(255, Math.round(t * 255)) * 3;
    const i = p * 4;
    px[i] = palette[c];
    px[i + 1] = palette[c + 1];
    px[i + 2] = palette[c + 2];
    px[i + 3] = Math.round(255 * heatAlpha(t));
  }
  if (withOutline) {
    const edge = outline(aboveGood(map, scale), width, height);
    for (let p = 0; p < edge.length; p++) {
      if (!edge[p]) continue;
      // Cyan: absent from the heat palette, so the outline reads on any colour beneath.
      px.set([34, 211, 238, 255], p * 4);
    }
  }
  return img;
}
