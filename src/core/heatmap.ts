import type { RgbaImage } from './image';
import { heatAlpha, heatPosition, mapSpan, type HeatScale } from './inspection/heatScale';

export type { HeatScale } from './inspection/heatScale';

/** Colour of t in [0, 1] on a perceptually ordered dark-blue -> red -> yellow -> white ramp ("inferno"-like). */
export function heatColour(t: number): [number, number, number] {
  const stops: [number, number, number, number][] = [
    [0, 0, 0, 4],
    [0.25, 87, 16, 110],
    [0.5, 188, 55, 84],
    [0.75, 249, 142, 9],
    [1, 252, 255, 164],
  ];
  const x = Math.min(1, Math.max(0, t));
  for (let i = 1; i < stops.length; i++) {
    const [t1, r1, g1, b1] = stops[i];
    if (x <= t1) {
      const [t0, r0, g0, b0] = stops[i - 1];
      const f = (x - t0) / (t1 - t0);
      return [r0 + f * (r1 - r0), g0 + f * (g1 - g0), b0 + f * (b1 - b0)];
    }
  }
  return [252, 255, 164];
}

/** The 256-entry RGB palette of heatColour, which the UI draws with. */
export function heatPalette(): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) palette.set(heatColour(i / 255).map(Math.round), i * 3);
  return palette;
}

/**
 * Blends a defect map over its image on the model's scale (heatScale.ts): a good part stays clear, and the
 * colours above the good range are spread over this map's own range (heatScale.ts).
 */
export function overlayHeatmap(img: RgbaImage, map: Float32Array, scale: HeatScale, opacity = 0.6): RgbaImage {
  if (map.length !== img.width * img.height) throw new Error('defect map and image sizes differ');
  const out = new Uint8ClampedArray(img.data.length);
  const span = mapSpan(map, scale);
  for (let p = 0; p < map.length; p++) {
    const t = heatPosition(map[p], scale, span);
    const a = heatAlpha(t, opacity);
    const [r, g, b] = heatColour(t);
    const i = p * 4;
    out[i] = img.data[i] * (1 - a) + r * a;
    out[i + 1] = img.data[i + 1] * (1 - a) + g * a;
    out[i + 2] = img.data[i + 2] * (1 - a) + b * a;
    out[i + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}
