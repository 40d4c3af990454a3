import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../../test/support/shared';
import { decodeImage, encodePng, imageSize, ImageDecodeError, MAX_PIXELS, readImageFile, type RgbaImage } from './decode';
import { bytesOf, handBmp, handPng, pngChunk } from '../../test/support/testImages';

afterEach(() => {
  vi.restoreAllMocks();
});

const mtd = (...p: string[]) => sharedPath('datasets', 'mtd', ...p);
const read = (p: string) => new Uint8Array(readFileSync(p));

function px(img: RgbaImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}

/** The error decodeImage throws, checked to be an ImageDecodeError naming the file. */
function decodeError(bytes: Uint8Array, name: string): ImageDecodeError {
  try {
    decodeImage(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    const err = e as ImageDecodeError;
    expect(err.file).toBe(name);
    expect(err.message).toContain(name);
    return err;
  }
  throw new Error(`${name} decoded but should not have`);
}

function pngjsEncode(width: number, height: number, data: Uint8Array, opts: { bitDepth?: 8 | 16; colorType?: 0 | 2 | 4 | 6 }): Uint8Array {
  const png = new PNG({ width, height, bitDepth: opts.bitDepth ?? 8, colorType: opts.colorType ?? 6, inputColorType: opts.colorType ?? 6 });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(PNG.sync.write(png, { bitDepth: opts.bitDepth ?? 8, colorType: opts.colorType ?? 6, inputColorType: opts.colorType ?? 6 }));
}

function smallJpeg(width = 16, height = 16): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([200, 40, 90, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width, height, data }, 100).data);
}

/** Offset of the SOF0 segment's marker in a jpeg-js file. */
function sofOffset(b: Uint8Array): number {
  for (let i = 2; i < b.length - 1; i++) if (b[i] === 0xff && b[i + 1] === 0xc0) return i;
  throw new Error('no SOF0');
}

describe('decodeImage: JPEG', () => {
  it('decodes the real MTD greyscale JPEGs to R = G = B, opaque', () => {
    const file = mtd('test', 'blowhole', 'exp1_num_108719.jpg');
    const img = decodeImage(read(file), file);
    expect([img.width, img.height]).toEqual([248, 373]);
    expect(img.data).toBeInstanceOf(Uint8ClampedArray);
    expect(img.data.length).toBe(248 * 373 * 4);
    let min = 255;
    let max = 0;
    let notGreyOrOpaque = 0;
    for (let i = 0; i < img.data.length; i += 4) {
      const d = img.data;
      if (d[i + 1] !== d[i] || d[i + 2] !== d[i] || d[i + 3] !== 255) notGreyOrOpaque++;
      min = Math.min(min, d[i]);
      max = Math.max(max, d[i]);
    }
    expect(notGreyOrOpaque).toBe(0);
    expect(max - min).toBeGreaterThan(50);
  });

  it('decodes every MTD test/good image', () => {
    const dir = mtd('test', 'good');
    const files = readdirSync(dir);
    expect(files.length).toBe(191);
    for (const f of files) {
      const img = decodeImage(read(path.join(dir, f)), f);
      expect(img.width).toBeGreaterThanOrEqual(100);
      expect(img.height).toBeGreaterThanOrEqual(200);
    }
  });

  it('decodes a colour JPEG written by jpeg-js close to its source pixels', () => {
    const w = 32;
    const h = 24;
    const data = new Uint8Array(w * h * 4);
    const colour = (x: number, y: number) => (x < 16 ? (y < 12 ? [220, 30, 30] : [30, 200, 40]) : y < 12 ? [20, 40, 210] : [128, 128, 128]);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...colour(x, y), 255], (y * w + x) * 4);
    const img = decodeImage(new Uint8Array(jpeg.encode({ width: w, height: h, data }, 100).data), 'colour.jpg');
    expect([img.width, img.height]).toEqual([w, h]);
    for (const [x, y] of [[4, 4], [28, 4], [4, 20], [28, 20]]) {
      const got = px(img, x, y);
      colour(x, y).forEach((v, c) => expect(Math.abs(got[c] - v)).toBeLessThanOrEqual(4));
      expect(got[3]).toBe(255);
    }
  });

  it('refuses a truncated JPEG, naming the file', () => {
    const file = mtd('test', 'blowhole', 'exp1_num_108719.jpg');
    const bytes = read(file);
    for (const n of [bytes.length - 2, Math.floor(bytes.length / 2), 400, 10]) {
      const err = decodeError(bytes.subarray(0, n), 'cut.jpg');
      expect(err.message).toBe('truncated image: cut.jpg (JPEG data ends early: no end-of-image marker)');
    }
  });

  it('refuses corrupt entropy-coded data', () => {
    const bytes = smallJpeg(64, 64).slice();
    const scan = bytes.length - 40;
    bytes[scan] = 0xff;
    bytes[scan + 1] = 0x12;
    expect(decodeError(bytes, 'bad.jpg').message).toMatch(/^corrupt image: bad\.jpg \(JPEG: /);
  });

  it('refuses a header claiming a huge size before allocating', () => {
    const bytes = smallJpeg().slice();
    const sof = sofOffset(bytes);
    // SOF0: FF C0, length (2), precision (1), height (2), width (2)
    bytes.set([0x4e, 0x20, 0x4e, 0x20], sof + 5); // 20000 x 20000
    // Refused from the header: the JPEG decoder (which allocates the pixels) is never called.
    const decode = vi.spyOn(jpeg, 'decode');
    const err = decodeError(bytes, 'huge.jpg');
    expect(err.message).toBe('image too large: huge.jpg is 20000 x 20000 = 400.0 megapixels (the limit is 100 megapixels)');
    expect(decode).not.toHaveBeenCalled();
    // The same check lets a normal file through to the decoder.
    decodeImage(smallJpeg(), 'small.jpg');
    expect(decode).toHaveBeenCalledTimes(1);
  });

  it('names unsupported JPEG variants', () => {
    const bytes = smallJpeg().slice();
    bytes[sofOffset(bytes) + 1] = 0xc3;
    expect(decodeError(bytes, 'lossless.jpg').message).toBe('unsupported JPEG variant: lossless.jpg (lossless JPEG)');
  });
});

describe('decodeImage: PNG', () => {
  it('decodes the real MTD 8-bit grey masks', () => {
    const file = mtd('ground_truth', 'blowhole', 'exp1_num_108719_mask.png');
    const img = decodeImage(read(file), file);
    expect([img.width, img.height]).toEqual([248, 373]);
    const values = new Set<number>();
    let notGreyOrOpaque = 0;
    for (let i = 0; i < img.data.length; i += 4) {
      const d = img.data;
      if (d[i + 1] !== d[i] || d[i + 2] !== d[i] || d[i + 3] !== 255) notGreyOrOpaque++;
      values.add(d[i]);
    }
    expect(notGreyOrOpaque).toBe(0);
    expect(values.has(0) && values.has(255)).toBe(true);
  });

  it('round-trips RGBA through encodePng exactly, alpha included', () => {
    const img: RgbaImage = { width: 5, height: 3, data: new Uint8ClampedArray(5 * 3 * 4) };
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
    const back = decodeImage(encodePng(img), 'round.png');
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
  });

  it('encodePng takes Uint8Array pixels too and checks their length', () => {
    const bytes = encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]) });
    expect(px(decodeImage(bytes, 'one.png'), 0, 0)).toEqual([1, 2, 3, 4]);
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(4) })).toThrow(/expected 2 x 2 x 4 = 16 bytes/);
  });

  it('decodes 8-bit grey from pngjs', () => {
    const bytes = pngjsEncode(3, 1, new Uint8Array([0, 100, 255]), { colorType: 0 });
    const img = decodeImage(bytes, 'grey.png');
    expect([px(img, 0, 0), px(img, 1, 0), px(img, 2, 0)]).toEqual([
      [0, 0, 0, 255],
      [100, 100, 100, 255],
      [255, 255, 255, 255],
    ]);
  });

  it('rounds 16-bit RGBA from pngjs to 8 bits', () => {
    const samples = new Uint16Array([0, 65535, 32768, 65535, 257 * 10, 257 * 200, 65535, 257 * 7]);
    const bytes = pngjsEncode(2, 1, new Uint8Array(samples.buffer), { bitDepth: 16, colorType: 6 });
    expect(bytes[24]).toBe(16); // IHDR bit depth: the file really is 16-bit
    const img = decodeImage(bytes, 'deep.png');
    expect(px(img, 0, 0)).toEqual([0, 255, 128, 255]);
    expect(px(img, 1, 0)).toEqual([10, 200, 255, 7]);
  });

  it('decodes 16-bit grey + alpha', () => {
    const row = new Uint8Array([0x12, 0x34, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]); // big-endian samples
    const img = decodeImage(handPng({ width: 2, height: 1, bitDepth: 16, colorType: 4, rows: [row] }), 'ga16.png');
    expect(px(img, 0, 0)).toEqual([18, 18, 18, 255]);
    expect(px(img, 1, 0)).toEqual([255, 255, 255, 0]);
  });

  it('decodes 8-bit palette with tRNS, and 1-bit palette', () => {
    const plte = pngChunk('PLTE', new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const trns = pngChunk('tRNS', new Uint8Array([255, 128]));
    const img = decodeImage(handPng({ width: 3, height: 2, bitDepth: 8, colorType: 3, rows: [new Uint8Array([0, 1, 2]), new Uint8Array([2, 1, 0])], chunks: [plte, trns] }), 'pal.png');
    expect(px(img, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(img, 1, 0)).toEqual([0, 255, 0, 128]);
    expect(px(img, 2, 0)).toEqual([0, 0, 255, 255]);
    expect(px(img, 0, 1)).toEqual([0, 0, 255, 255]);

    const bw = pngChunk('PLTE', new Uint8Array([10, 20, 30, 200, 210, 220]));
    const one = decodeImage(handPng({ width: 10, height: 1, bitDepth: 1, colorType: 3, rows: [new Uint8Array([0b10100000, 0b01000000])], chunks: [bw] }), 'pal1.png');
    expect(Array.from({ length: 10 }, (_, x) => px(one, x, 0)[0])).toEqual([200, 10, 200, 10, 10, 10, 10, 10, 10, 200]);
  });

  it('ignores bytes after IEND, as browsers do', () => {
    const bytes = encodePng({ width: 1, height: 1, data: new Uint8Array([9, 8, 7, 255]) });
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes);
    expect(px(decodeImage(padded, 'padded.png'), 0, 0)).toEqual([9, 8, 7, 255]);
  });

  it('refuses a truncated PNG, naming the file', () => {
    const img: RgbaImage = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4).map((_, i) => (i * 31) % 251) };
    const bytes = encodePng(img);
    for (const n of [bytes.length - 1, bytes.length - 12, Math.floor(bytes.length / 2), 40, 20]) {
      expect(decodeError(bytes.subarray(0, n), 'cut.png').message).toMatch(/^truncated image: cut\.png \(PNG data ends early/);
    }
  });

  it('refuses a PNG with a bad checksum or broken compressed data', () => {
    const bytes = encodePng({ width: 8, height: 8, data: new Uint8Array(256).fill(77) }).slice();
    const idat = bytes.findIndex((_, i) => String.fromCharCode(...bytes.subarray(i, i + 4)) === 'IDAT');
    const flipped = bytes.slice();
    flipped[idat + 6] ^= 0xff;
    expect(decodeError(flipped, 'crc.png').message).toMatch(/^corrupt image: crc\.png \(PNG: /);

    const garbage = handPng({ width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [new Uint8Array(2), new Uint8Array(2)] }).slice();
    const g = garbage.findIndex((_, i) => String.fromCharCode(...garbage.subarray(i, i + 4)) === 'IDAT');
    garbage.set([1, 2, 3, 4], g + 4); // not a zlib stream any more (the CRC is then wrong too)
    expect(decodeError(garbage, 'zlib.png').message).toMatch(/^corrupt image: zlib\.png/);
  });

  it('refuses a header claiming a huge size before allocating', () => {
    const huge = handPng({ width: 100_000, height: 100_000, bitDepth: 8, colorType: 0, rows: [] });
    expect(decodeError(huge, 'huge.png').message).toBe('image too large: huge.png is 100000 x 100000 = 10000.0 megapixels (the limit is 100 megapixels)');
    const justOver = handPng({ width: 10_001, height: 10_000, bitDepth: 8, colorType: 0, rows: [] });
    expect(10_001 * 10_000).toBeGreaterThan(MAX_PIXELS);
    expect(decodeError(justOver, 'over.png').message).toMatch(/^image too large: over\.png is 10001 x 10000 = 100\.0 megapixels/);
  });
});

describe('decodeImage: BMP', () => {
  const rgbRow = (...pixels: number[][]) => new Uint8Array(pixels.flatMap(([r, g, b]) => [b, g, r]));

  it('decodes 24-bit bottom-up and top-down with row padding', () => {
    const rows = [rgbRow([255, 0, 0], [0, 255, 0], [0, 0, 255]), rgbRow([1, 2, 3], [4, 5, 6], [7, 8, 9])];
    for (const topDown of [false, true]) {
      const img = decodeImage(handBmp({ width: 3, height: 2, bpp: 24, rows, topDown }), 'rgb.bmp');
      expect([img.width, img.height]).toEqual([3, 2]);
      expect(px(img, 0, 0)).toEqual([255, 0, 0, 255]);
      expect(px(img, 2, 0)).toEqual([0, 0, 255, 255]);
      expect(px(img, 1, 1)).toEqual([4, 5, 6, 255]);
    }
  });

  it('decodes 32-bit BI_RGB as opaque whatever the reserved byte holds', () => {
    const img = decodeImage(handBmp({ width: 2, height: 1, bpp: 32, rows: [new Uint8Array([30, 20, 10, 0, 3, 2, 1, 77])] }), 'x.bmp');
    expect(px(img, 0, 0)).toEqual([10, 20, 30, 255]);
    expect(px(img, 1, 0)).toEqual([1, 2, 3, 255]);
  });

  it('decodes 32-bit BITFIELDS with alpha (V4 header)', () => {
    const masks = [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000];
    const img = decodeImage(handBmp({ width: 2, height: 1, bpp: 32, compression: 3, masks, header: 108, rows: [new Uint8Array([30, 20, 10, 128, 3, 2, 1, 255])] }), 'a.bmp');
    expect(px(img, 0, 0)).toEqual([10, 20, 30, 128]);
    expect(px(img, 1, 0)).toEqual([1, 2, 3, 255]);
  });

  it('decodes 16-bit 565 BITFIELDS, scaling each channel to 0..255', () => {
    const v = (r: number, g: number, b: number) => (r << 11) | (g << 5) | b;
    const row = new Uint8Array(new Uint16Array([v(31, 0, 0), v(0, 63, 0), v(16, 32, 8)]).buffer);
    const img = decodeImage(handBmp({ width: 3, height: 1, bpp: 16, compression: 3, masks: [0xf800, 0x07e0, 0x001f], rows: [row] }), 'h.bmp');
    expect(px(img, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(img, 1, 0)).toEqual([0, 255, 0, 255]);
    expect(px(img, 2, 0)).toEqual([132, 130, 66, 255]);
  });

  it('decodes 8-bit and 4-bit palettes (bottom-up, padded rows) and OS/2 headers', () => {
    const palette: [number, number, number][] = [
      [0, 0, 0],
      [255, 255, 255],
      [10, 100, 200],
    ];
    const rows = [new Uint8Array([0, 1, 2, 1, 0]), new Uint8Array([2, 2, 2, 2, 1])];
    for (const header of [40, 12] as const) {
      const img = decodeImage(handBmp({ width: 5, height: 2, bpp: 8, palette, rows, header }), 'p8.bmp');
      expect(px(img, 2, 0)).toEqual([10, 100, 200, 255]);
      expect(px(img, 4, 1)).toEqual([255, 255, 255, 255]);
    }
    const img4 = decodeImage(handBmp({ width: 3, height: 1, bpp: 4, palette, rows: [new Uint8Array([0x21, 0x00])] }), 'p4.bmp');
    expect([px(img4, 0, 0), px(img4, 1, 0), px(img4, 2, 0)]).toEqual([
      [10, 100, 200, 255],
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ]);
  });

  it('refuses a colour index beyond the table', () => {
    const bytes = handBmp({ width: 1, height: 1, bpp: 8, palette: [[1, 2, 3]], rows: [new Uint8Array([5])] });
    expect(decodeError(bytes, 'idx.bmp').message).toMatch(/^corrupt image: idx\.bmp \(BMP: colour index 5 outside the 1-entry colour table\)/);
  });

  it('refuses truncated, RLE and huge BMPs, naming the file', () => {
    const bytes = handBmp({ width: 40, height: 40, bpp: 24, rows: [] });
    expect(decodeError(bytes.subarray(0, bytes.length - 200), 'cut.bmp').message).toMatch(/^truncated image: cut\.bmp \(BMP data ends early: pixel data needs/);
    expect(decodeError(bytes.subarray(0, 30), 'head.bmp').message).toMatch(/^truncated image: head\.bmp/);
    const rle = handBmp({ width: 4, height: 4, bpp: 8, palette: [[0, 0, 0]], compression: 1, rows: [] });
    expect(decodeError(rle, 'rle.bmp').message).toMatch(/^unsupported BMP variant: rle\.bmp \(RLE-compressed/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setInt32(18, 50_000, true);
    new DataView(huge.buffer).setInt32(22, -50_000, true);
    expect(decodeError(huge, 'huge.bmp').message).toBe('image too large: huge.bmp is 50000 x 50000 = 2500.0 megapixels (the limit is 100 megapixels)');
  });
});

describe('decodeImage: refusals', () => {
  it('refuses a zero-byte file', () => {
    expect(decodeError(new Uint8Array(0), 'empty.png').message).toBe('empty file: empty.png (0 bytes)');
  });

  it('sniffs content, not the extension', () => {
    expect(decodeError(bytesOf('id,score\n1,0.5\n'), 'notes.png').message).toBe('not an image: notes.png (expected JPEG, PNG or BMP)');
    expect(decodeError(bytesOf('BMW 320i service notes'), 'car.bmp').message).toBe('not an image: car.bmp (expected JPEG, PNG or BMP)');
    const pngNamedJpg = encodePng({ width: 1, height: 1, data: new Uint8Array([5, 6, 7, 255]) });
    expect(px(decodeImage(pngNamedJpg, 'actually-png.jpg'), 0, 0)).toEqual([5, 6, 7, 255]);
  });

  it('names known formats it does not read', () => {
    expect(decodeError(bytesOf('GIF89a\x01\x00\x01\x00'), 'anim.gif').message).toBe('unsupported image format: anim.gif is GIF (expected JPEG, PNG or BMP)');
    expect(decodeError(bytesOf('RIFF\x10\x00\x00\x00WEBPVP8 '), 'x.webp').message).toMatch(/is WebP/);
  });

  it('readImageFile reports unreadable paths as ImageDecodeError', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'decode-'));
    try {
      const missing = path.join(dir, 'missing.jpg');
      expect(() => readImageFile(missing)).toThrow(new ImageDecodeError(missing, `cannot read image: ${missing} (ENOENT)`));
      const ok = path.join(dir, 'ok.png');
      writeFileSync(ok, encodePng({ width: 2, height: 1, data: new Uint8Array(8).fill(200) }));
      expect(readImageFile(ok).width).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('imageSize', () => {
  it("reads the size decodeImage gives from the header: MTD's JPEGs and PNG masks, BMPs stored either way up", () => {
    const files = [...readdirSync(mtd('train', 'good')).slice(0, 10).map((f) => mtd('train', 'good', f)), ...readdirSync(mtd('ground_truth', 'break')).slice(0, 5).map((f) => mtd('ground_truth', 'break', f))];
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(f));
      const img = decodeImage(bytes, f);
      expect(imageSize(bytes, f), f).toEqual({ width: img.width, height: img.height });
    }
    for (const topDown of [false, true]) {
      const bmp = handBmp({ width: 3, height: 2, bpp: 24, rows: [new Uint8Array(12), new Uint8Array(12)], topDown });
      expect(imageSize(bmp, 'x.bmp')).toEqual({ width: 3, height: 2 });
    }
  });

  it('fails as decodeImage does on what is not an image', () => {
    expect(() => imageSize(new TextEncoder().encode('not an image'), 'a.txt')).toThrow(ImageDecodeError);
  });
});
