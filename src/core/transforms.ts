import { seededRandom } from './random';

/** Evenly spaced rotations over the full circle, so repeated scoring of an image gives the same number. */
export function evenAngles(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (2 * Math.PI * i) / n);
}

/** Uniform random rotations over the full circle, reproducible from a seed. */
export function randomAngles(n: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => r() * 2 * Math.PI);
}
