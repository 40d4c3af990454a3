import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it, vi } from 'vitest';
import { applyOrientation, decodeForInspection, decodeImage, imageSize, downscaleToFit, exifOrientation, fitSize, ImageDecodeError, INSPECTION_MAX_SIDE, type Orientation, type RgbaImage } from './decode';
import { bytesOf, concat, handPng } from '../../test/support/testImages';

const W = 32;
const H = 16;
const RED = [230, 20, 20];
const GREEN = [20, 210, 30];
const BLUE = [20, 30, 220];
const GREY = [128, 128, 128];

/** 32 x 16, grey, with 8 x 8 blocks (one JPEG block each, so they stay crisp): red top-left, green top-right, blue bottom-left. */
function patternJpeg(): Uint8Array {
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = x < 8 && y < 8 ? RED : x >= W - 8 && y < 8 ? GREEN : x < 8 && y >= H - 8 ? BLUE : GREY;
      data.set([...c, 255], (y * W + x) * 4);
    }
  }
  return new Uint8Array(jpeg.encode({ width: W, height: H, data }, 100).data);
}

/** A TIFF block holding IFD0 with a Make tag, then an Orientation tag of the given type, count and value. */
function tiff(opts: { value: number; little?: boolean; type?: number; count?: number; magic?: number; order?: string; ifd?: number; entries?: number }): Uint8Array {
  const little = opts.little ?? true;
  const out = new Uint8Array(8 + 2 + 2 * 12 + 4);
  const dv = new DataView(out.buffer);
  out.set(bytesOf(opts.order ?? (little ? 'II' : 'MM')));
  dv.setUint16(2, opts.magic ?? 42, little);
  dv.setUint32(4, opts.ifd ?? 8, little);
  dv.setUint16(8, opts.entries ?? 2, little);
  // 0x010F Make, ASCII, 4 bytes inline: "Cam\0"
  dv.setUint16(10, 0x010f, little);
  dv.setUint16(12, 2, little);
  dv.setUint32(14, 4, little);
  out.set(bytesOf('Cam\0'), 18);
  dv.setUint16(22, 0x0112, little);
  dv.setUint16(24, opts.type ?? 3, little);
  dv.setUint32(26, opts.count ?? 1, little);
  dv.setUint16(30, opts.value, little);
  return out;
}

function app1(payload: Uint8Array, header = 'Exif\0\0'): Uint8Array {
  const body = concat([bytesOf(header), payload]);
  return concat([new Uint8Array([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
}

/** `jpg` with `segments` inserted right after SOI. */
function withSegments(jpg: Uint8Array, ...segments: Uint8Array[]): Uint8Array {
  return concat([jpg.subarray(0, 2), ...segments, jpg.subarray(2)]);
}

type Corner = 'TL' | 'TR' | 'BL' | 'BR';

function colourAt(img: RgbaImage, corner: Corner): string {
  const x = corner.endsWith('L') ? 3 : img.width - 4;
  const y = corner.startsWith('T') ? 3 : img.height - 4;
  const p = Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));
  const named = { red: RED, green: GREEN, blue: BLUE, grey: GREY };
  const [name, ref] = Object.entries(named).sort(([, a], [, b]) => dist(p, a) - dist(p, b))[0];
  expect(dist(p, ref), `${corner} is ${p}`).toBeLessThan(20);
  return name;
}

const dist = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

/**
 * Where the stored corners end up on screen, from the TIFF spec's wording for each value ("0th row is the
 * visual ..., 0th column is the visual ..."), written out by hand rather than derived from the code.
 */
const EXPECTED: Record<Orientation, { red: Corner; green: Corner; blue: Corner }> = {
  1: { red: 'TL', green: 'TR', blue: 'BL' },
  2: { red: 'TR', green: 'TL', blue: 'BR' },
  3: { red: 'BR', green: 'BL', blue: 'TR' },
  4: { red: 'BL', green: 'BR', blue: 'TL' },
  5: { red: 'TL', green: 'BL', blue: 'TR' },
  6: { red: 'TR', green: 'BR', blue: 'TL' },
  7: { red: 'BR', green: 'TR', blue: 'BL' },
  8: { red: 'BL', green: 'TL', blue: 'BR' },
};

/** Stored pixel shown at (x, y), per orientation, as an independent check of the pixel loop. */
function storedAt(o: Orientation, x: number, y: number, w: number, h: number): [number, number] {
  const table: Record<Orientation, [number, number]> = {
    1: [x, y],
    2: [w - 1 - x, y],
    3: [w - 1 - x, h - 1 - y],
    4: [x, h - 1 - y],
    5: [y, x],
    6: [y, h - 1 - x],
    7: [w - 1 - y, h - 1 - x],
    8: [w - 1 - y, x],
  };
  return table[o];
}

const ORIENTATIONS: Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];

describe('EXIF orientation', () => {
  const plain = patternJpeg();
  const stored = decodeImage(plain, 'plain.jpg');

  it('shows the stored corners where a browser does, for every orientation and both byte orders', () => {
    expect((['TL', 'TR', 'BL', 'BR'] as const).map((c) => colourAt(stored, c))).toEqual(['red', 'green', 'blue', 'grey']);
    for (const little of [true, false]) {
      for (const o of ORIENTATIONS) {
        const img = decodeImage(withSegments(plain, app1(tiff({ value: o, little }))), `o${o}.jpg`);
        expect([img.width, img.height], `orientation ${o}`).toEqual(o >= 5 ? [H, W] : [W, H]);
        // The header alone gives the same size, without decoding.
        expect(imageSize(withSegments(plain, app1(tiff({ value: o, little }))), `o${o}.jpg`), `orientation ${o}`).toEqual({ width: img.width, height: img.height });
        const want = EXPECTED[o];
        const all: Corner[] = ['TL', 'TR', 'BL', 'BR'];
        for (const corner of all) {
          const name = want.red === corner ? 'red' : want.green === corner ? 'green' : want.blue === corner ? 'blue' : 'grey';
          expect(colourAt(img, corner), `orientation ${o} (${little ? 'II' : 'MM'}), ${corner}`).toBe(name);
        }
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            const [sx, sy] = storedAt(o, x, y, W, H);
            const a = (y * img.width + x) * 4;
            const b = (sy * W + sx) * 4;
            if (img.data.subarray(a, a + 4).some((v, c) => v !== stored.data[b + c])) throw new Error(`orientation ${o}: pixel ${x},${y} differs`);
          }
        }
      }
    }
  });

  it('finds Exif after JFIF and XMP segments, and takes only the first Exif', () => {
    const xmp = app1(bytesOf('<x:xmpmeta/>'), 'http://ns.adobe.com/xap/1.0/\0');
    // jpeg-js writes APP0 JFIF right after SOI, so these land before it; put one after it too.
    const app0End = 2 + 2 + ((plain[4] << 8) | plain[5]);
    const afterJfif = concat([plain.subarray(0, app0End), xmp, app1(tiff({ value: 6 })), plain.subarray(app0End)]);
    expect(exifOrientation(afterJfif)).toBe(6);
    expect(decodeImage(afterJfif, 'late.jpg').width).toBe(H);
    expect(exifOrientation(withSegments(plain, app1(tiff({ value: 3 })), app1(tiff({ value: 6 }))))).toBe(3);
    expect(exifOrientation(plain)).toBe(1);
  });

  it('ignores malformed orientation data: the image decodes as stored', () => {
    const bad: [string, Uint8Array][] = [
      ['value 0', app1(tiff({ value: 0 }))],
      ['value 9', app1(tiff({ value: 9 }))],
      ['value 65535', app1(tiff({ value: 65535 }))],
      ['LONG type', app1(tiff({ value: 6, type: 4 }))],
      ['count 2', app1(tiff({ value: 6, count: 2 }))],
      ['byte order XX', app1(tiff({ value: 6, order: 'XX' }))],
      ['magic 43', app1(tiff({ value: 6, magic: 43 }))],
      ['IFD beyond the segment', app1(tiff({ value: 6, ifd: 4000 }))],
      ['IFD inside the header', app1(tiff({ value: 6, ifd: 2 }))],
      ['tag past the entry count', app1(tiff({ value: 6, entries: 1 }))],
      ['TIFF cut after the first entry', app1(tiff({ value: 6 }).subarray(0, 22))],
      ['TIFF cut inside its header', app1(tiff({ value: 6 }).subarray(0, 5))],
      ['empty Exif', app1(new Uint8Array(0))],
      ['exif header without its padding', app1(tiff({ value: 6 }), 'Exif')],
    ];
    for (const [what, segment] of bad) {
      const bytes = withSegments(plain, segment);
      expect(exifOrientation(bytes), what).toBe(1);
      const img = decodeImage(bytes, 'bad-exif.jpg');
      expect([img.width, img.height], what).toEqual([W, H]);
      expect(colourAt(img, 'TL'), what).toBe('red');
    }
    // Walking the segments must stop at anything odd rather than read out of bounds.
    for (const odd of [new Uint8Array([0xff, 0xd8]), new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), new Uint8Array([0xff, 0xd8, 0x00, 0x00, 0x00]), new Uint8Array(0)]) {
      expect(exifOrientation(odd)).toBe(1);
    }
  });

  it('never throws on randomly damaged Exif: decodes either way up, or fails as an ImageDecodeError', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const segment = app1(tiff({ value: 6, little: false }));
    let rotated = 0;
    for (let i = 0; i < 300; i++) {
      const s = segment.slice();
      // Damage the TIFF block only (after FF E1, the length and "Exif\0\0"), so jpeg-js still sees a valid segment.
      for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++) s[10 + Math.floor(rand() * (s.length - 10))] = Math.floor(rand() * 256);
      let img: RgbaImage;
      try {
        img = decodeImage(withSegments(plain, s), 'fuzz.jpg');
      } catch (e) {
        expect(e).toBeInstanceOf(ImageDecodeError);
        continue;
      }
      expect([[W, H], [H, W]]).toContainEqual([img.width, img.height]);
      if (img.width === H) rotated++;
    }
    expect(rotated).toBeGreaterThan(0);
  });

  it('applyOrientation keeps the input for 1 and handles unaligned pixel buffers', () => {
    expect(applyOrientation(stored, 1)).toBe(stored);
    const buf = new Uint8ClampedArray(1 + 2 * 1 * 4);
    buf.set([1, 2, 3, 4, 5, 6, 7, 8], 1);
    const odd: RgbaImage = { width: 2, height: 1, data: buf.subarray(1) };
    expect(Array.from(applyOrientation(odd, 2).data)).toEqual([5, 6, 7, 8, 1, 2, 3, 4]);
    expect(applyOrientation(odd, 6)).toMatchObject({ width: 1, height: 2 });
  });
});

describe('large images', () => {
  it('fitSize caps the long side and keeps the aspect ratio', () => {
    expect(fitSize(12000, 8000, 4096)).toEqual([4096, 2731]);
    expect(fitSize(8000, 12000, 4096)).toEqual([2731, 4096]);
    expect(fitSize(4096, 100, 4096)).toEqual([4096, 100]);
    expect(fitSize(100_000, 3, 4096)).toEqual([4096, 1]);
    expect(fitSize(640, 480, 4096)).toEqual([640, 480]);
  });

  it('downscaleToFit averages whole blocks, uneven ones included', () => {
    const img: RgbaImage = { width: 4, height: 2, data: new Uint8ClampedArray([0, 0, 0, 255, 100, 0, 0, 255, 10, 20, 30, 0, 10, 20, 30, 0, 0, 0, 0, 255, 100, 0, 0, 255, 10, 20, 30, 0, 10, 20, 30, 0]) };
    expect(downscaleToFit(img, 4)).toBe(img);
    const half = downscaleToFit(img, 2);
    expect([half.width, half.height]).toEqual([2, 1]);
    expect(Array.from(half.data)).toEqual([50, 0, 0, 255, 10, 20, 30, 0]);
    // 5 -> 2 columns: blocks of 2 and 3 pixels.
    const five: RgbaImage = { width: 5, height: 1, data: new Uint8ClampedArray([0, 0, 0, 0, 10, 10, 10, 10, 30, 30, 30, 30, 60, 60, 60, 60, 90, 90, 90, 90]) };
    expect(Array.from(downscaleToFit(five, 2).data)).toEqual([5, 5, 5, 5, 60, 60, 60, 60]);
  });

  it('decodes an image over the side limit and reduces it, reporting its own size', () => {
    const w = INSPECTION_MAX_SIDE + 904; // 5000
    const row = new Uint8Array(w);
    row.fill(255, 2499); // output column 2047 averages source columns 2498 and 2499
    const img = decodeForInspection(handPng({ width: w, height: 40, bitDepth: 8, colorType: 0, rows: Array(40).fill(row) }), 'wide.png');
    expect(img.downscaledFrom).toEqual([5000, 40]);
    expect([img.width, img.height]).toEqual([4096, 33]);
    const at = (x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
    expect(at(10, 5)).toEqual([0, 0, 0, 255]);
    expect(at(4000, 30)).toEqual([255, 255, 255, 255]);
    expect([at(2046, 0), at(2047, 0), at(2048, 0)]).toEqual([
      [0, 0, 0, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 255],
    ]);
    const small = decodeForInspection(handPng({ width: 3, height: 2, bitDepth: 8, colorType: 0, rows: [new Uint8Array(3), new Uint8Array(3)] }), 'small.png');
    expect(small.downscaledFrom).toBeUndefined();
    expect([small.width, small.height]).toEqual([3, 2]);
  });

  it('orients a JPEG before reducing it, so the reported size is the one a viewer shows', () => {
    const w = 4104;
    const data = new Uint8Array(w * 8 * 4).fill(200);
    const bytes = withSegments(new Uint8Array(jpeg.encode({ width: w, height: 8, data }, 80).data), app1(tiff({ value: 8 })));
    const img = decodeForInspection(bytes, 'tall.jpg');
    expect(img.downscaledFrom).toEqual([8, w]);
    expect([img.width, img.height]).toEqual([8, 4096]);
  });

  it('refuses a 12000 x 12000 image from its header, without decoding', () => {
    const png = handPng({ width: 12_000, height: 12_000, bitDepth: 16, colorType: 2, rows: [] });
    const jpg = patternJpeg().slice();
    const sof = jpg.findIndex((v, i) => v === 0xff && jpg[i + 1] === 0xc0);
    jpg.set([0x2e, 0xe0, 0x2e, 0xe0], sof + 5); // height, width: 12000
    // Neither decoder (each allocates the whole image) is reached.
    const pngRead = vi.spyOn(PNG.sync, 'read');
    const jpegDecode = vi.spyOn(jpeg, 'decode');
    try {
      for (const decode of [decodeImage, decodeForInspection]) {
        expect(() => decode(png, 'pano.png')).toThrow(new ImageDecodeError('pano.png', 'image too large: pano.png is 12000 x 12000 = 144.0 megapixels (the limit is 100 megapixels)'));
      }
      expect(() => decodeForInspection(jpg, 'pano.jpg')).toThrow('image too large: pano.jpg is 12000 x 12000 = 144.0 megapixels (the limit is 100 megapixels)');
      expect(pngRead).not.toHaveBeenCalled();
      expect(jpegDecode).not.toHaveBeenCalled();
      // While a file within the limit does reach them.
      decodeForInspection(patternJpeg(), 'small.jpg');
      expect(jpegDecode).toHaveBeenCalledTimes(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('refuses an animated GIF by name', () => {
    const gif = concat([bytesOf('GIF89a'), new Uint8Array([4, 0, 4, 0, 0xf0, 0, 0]), new Uint8Array(6), new Uint8Array([0x21, 0xff, 0x0b]), bytesOf('NETSCAPE2.0'), new Uint8Array([3, 1, 0, 0, 0, 0x3b])]);
    expect(() => decodeForInspection(gif, 'spinner.png')).toThrow('unsupported image format: spinner.png is GIF (expected JPEG, PNG or BMP)');
  });
});
