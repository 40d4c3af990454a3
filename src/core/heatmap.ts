import type { RgbaImage } from './image';

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

export interface HeatScale {
  /** At or below: fully transparent. */
  low: number;
  /** At or above: full colour and opacity. */
  high: number;
}

/**
 * Blends a defect map over its image with a fixed scale (from calibration), so equal values look equal on
 * every image and a good part stays clear.
 */
export function overlayHeatmap(img: RgbaImage, map: Float32Array, scale: HeatScale, opacity = 0.6): RgbaImage {
  if (map.length !== img.width * img.height) throw new Error('defect map and image sizes differ');
  const out = new Uint8ClampedArray(img.data.length);
  const span = Math.max(scale.high - scale.low, 1e-12);
  for (let p = 0; p < map.length; p++) {
    const t = (map[p] - scale.low) / span;
    const a = t <= 0 ? 0 : opacity * Math.min(1, 0.35 + 0.65 * t);
    const [r, g, b] = heatColour(t);
    const i = p * 4;
    out[i] = img.data[i] * (1 - a) + r * a;
    out[i + 1] = img.data[i + 1] * (1 - a) + g * a;
    out[i + 2] = img.data[i + 2] * (1 - a) + b * a;
    out[i + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}
