// Colour positions of defect-map values on a model's fixed scale.
import { percentileThreshold } from '../metrics';

export interface HeatScale {
  /** At or below: transparent (the 99th percentile of good-image pixels). */
  low: number;
  /** The top of the good range (the largest good-image pixel): colour position 0.5. */
  high: number;
}

/** The lower half of the colours is the good range; the upper half is what no good image reached. */
export const GOOD_TOP = 0.5;
/** The upper half spans at least this many decades, so a map barely above the good range stays dim. */
export const MIN_DECADES = 1;

/**
 * The per-image part of the scale. Above the good range the colours are logarithmic from `floor` to
 * `peak`: the floor is the good top or, when most of the image is beyond it, the image's median. On
 * MTD a strongly anomalous break has every pixel 1e15 to 1e20 times the good top: a ramp from the good
 * top would put all of it in the last tenth of the colours (a uniformly yellow image), while from the
 * median up it still shows where the part is most anomalous. A good part never passes the middle colour.
 */
export interface MapSpan {
  floor: number;
  peak: number;
}

export function mapSpan(map: ArrayLike<number>, scale: HeatScale): MapSpan {
  let peak = 0;
  for (let i = 0; i < map.length; i++) if (map[i] > peak) peak = map[i];
  // The median of a strided sample: a few thousand values pin it down, and live frames need this per frame.
  const stride = Math.max(1, Math.floor(map.length / 4096));
  const sample: number[] = [];
  for (let i = 0; i < map.length; i += stride) sample.push(map[i]);
  sample.sort((a, b) => a - b);
  const median = sample.length ? sample[Math.floor((sample.length - 1) / 2)] : 0;
  return { floor: Math.max(scale.high, median), peak };
}

/**
 * Colour position in [0, 1] of value `v` (<= 0 means transparent): linear from `low` to `high` over the
 * lower half; then the middle colour up to the span's floor, and log(v / floor) over log(peak / floor)
 * in the upper half.
 */
export function heatPosition(v: number, scale: HeatScale, span: MapSpan): number {
  if (!(v > scale.low)) return 0;
  if (v <= scale.high) return (GOOD_TOP * (v - scale.low)) / Math.max(scale.high - scale.low, 1e-30);
  const floor = Math.max(span.floor, scale.high);
  if (v <= floor) return GOOD_TOP;
  const decades = Math.max(Math.log(Math.max(span.peak, floor) / floor), MIN_DECADES * Math.LN10);
  return Math.min(1, GOOD_TOP + ((1 - GOOD_TOP) * Math.log(v / floor)) / decades);
}

/** Opacity of a pixel at colour position t: clear where nothing is above the good pixels. */
export function heatAlpha(t: number, opacity = 1): number {
  return t <= 0 ? 0 : opacity * Math.min(1, 0.35 + 0.65 * t);
}

/**
 * Good images whose defect maps set the heatmap's colour scale. A map costs about ten scores (it
 * back-propagates through the CNN), and the scale is a 99th percentile and a maximum over all their
 * pixels, which a few images already pin down.
 */
export const CALIBRATION_MAPS = 6;

/** Low end: 99th percentile of the good maps' pixels; high end: their largest pixel. */
export function mapScaleFromGood(goodMaps: ArrayLike<number>[]): { mapLow: number; mapHigh: number } {
  if (goodMaps.length === 0) return { mapLow: 0, mapHigh: 1 };
  let max = 0;
  let n = 0;
  for (const m of goodMaps) n += m.length;
  // A strided sample keeps the percentile cheap on many large maps.
  const stride = Math.max(1, Math.floor(n / 200_000));
  const sample: number[] = [];
  for (const m of goodMaps) {
    for (let i = 0; i < m.length; i++) {
      if (m[i] > max) max = m[i];
      if (i % stride === 0) sample.push(m[i]);
    }
  }
  const low = percentileThreshold(sample, 99);
  return { mapLow: low, mapHigh: Math.max(max, low * 1.01, 1e-30) };
}

/** Pixels above every held-out good pixel: the region an outline traces. */
export function aboveGood(map: ArrayLike<number>, scale: HeatScale): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = map[i] > scale.high ? 1 : 0;
  return out;
}

/** Pixels of a region that touch a pixel outside it (4-neighbourhood): its outline. */
export function outline(region: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(region.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!region[i]) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !region[i - 1] || !region[i + 1] || !region[i - width] || !region[i + width];
      if (edge) out[i] = 1;
    }
  }
  return out;
}

/** Share of a map's pixels at full colour (position >= 0.95): the "washed out" measure of BENCHMARKS.md. */
export function fullColourShare(map: ArrayLike<number>, scale: HeatScale, span = mapSpan(map, scale)): number {
  if (map.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < map.length; i++) if (heatPosition(map[i], scale, span) >= 0.95) n++;
  return n / map.length;
}
