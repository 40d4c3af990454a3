// Node-only helpers for tests: PNG decoding and synthetic images.
import { PNG } from 'pngjs';
import type { RgbaImage } from '../../src/core/image';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { readShared, sharedPath } from './shared';

export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
}

export function referenceImage(): RgbaImage {
  return decodePng(readShared('reference', 'test-image-448.png'));
}

/** A small deterministic "part": a smooth disc with texture given by `seed`, optionally with a scratch. */
export function syntheticPart(size: number, seed: number, defect = false): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  let s = seed * 9301 + 49297;
  const noise = () => ((s = (s * 9301 + 49297) % 233280) / 233280 - 0.5) * 12;
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - c, y - c);
      let v = r < size * 0.42 ? 150 + 30 * Math.cos(r / 6) : 40;
      v += noise();
      if (defect && Math.abs(x - y) < size / 24 && x > size * 0.25 && x < size * 0.75) v = 255;
      const i = (y * size + x) * 4;
      data[i] = v;
      data[i + 1] = v * 0.9;
      data[i + 2] = v * 0.8;
      data[i + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

/** An image of the shared Magnetic Tile Defects set (JPEG), e.g. mtdImage('test', 'break', 0): the index-th file by name. */
export function mtdImage(split: 'train' | 'test', kind: string, index: number): RgbaImage {
  const dir = sharedPath('datasets', 'mtd', split, kind);
  const name = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()[index];
  if (!name) throw new Error(`no image ${index} in ${dir}`);
  const bytes = readFileSync(path.join(dir, name));
  if (/\.png$/i.test(name)) return decodePng(bytes);
  const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  return { width: j.width, height: j.height, data: new Uint8ClampedArray(j.data.buffer, j.data.byteOffset, j.data.byteLength) };
}
