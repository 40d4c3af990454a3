// Image files to RGBA pixels for the CLI. The web app decodes with the browser; here jpeg-js and pngjs
// (pure JS, so the CLI needs no native build) plus a small BMP reader do the same job.
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { BmpError, decodeBmp, readBmpHeader } from './bmp';
import type { RgbaImage, RgbaPixels } from './image';
import { downscaleToFit, MAX_IMAGE_SIDE, MAX_PIXELS } from '../../src/core/image';

export { downscaleToFit, fitSize, MAX_PIXELS } from '../../src/core/image';

export type { RgbaImage, RgbaPixels } from './image';

/**
 * Cap on what jpeg-js may allocate for one image. Its working set is about 22 bytes a pixel for a
 * full-resolution colour JPEG, so 2.5 GB lets every image under MAX_PIXELS through and still stops a
 * crafted file whose tables would balloon.
 */
const JPEG_MAX_MEMORY_MB = 2560;

/** The engine's limit, shared with the app (src/core/image.ts). */
export const INSPECTION_MAX_SIDE = MAX_IMAGE_SIDE;

/** A file that cannot be turned into pixels; `file` is the name it was given so batch runs can report it. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type Format = 'JPEG' | 'PNG' | 'BMP';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(b: Uint8Array, sig: ArrayLike<number>, at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

function sniff(b: Uint8Array): Format | { other: string } | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'JPEG';
  if (startsWith(b, PNG_SIGNATURE)) return 'PNG';
  // "BM" alone is too weak (a text file may start with it); the header size must also be a known one.
  if (startsWith(b, ascii('BM')) && b.length >= 18) {
    const dib = b[14] | (b[15] << 8) | (b[16] << 16) | (b[17] << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return 'BMP';
  }
  if (startsWith(b, ascii('BM')) && b.length < 18) return 'BMP';
  // Naming common formats we do not read makes the refusal actionable ("convert it") rather than puzzling.
  if (startsWith(b, ascii('GIF8'))) return { other: 'GIF' };
  if (startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8)) return { other: 'WebP' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return { other: 'TIFF' };
  if (startsWith(b, ascii('ftyp'), 4)) return { other: 'HEIF/AVIF' };
  if (startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return { other: 'JPEG XL' };
  return null;
}

const fail = (name: string, message: string, cause?: unknown) => new ImageDecodeError(name, message, cause === undefined ? undefined : { cause });
const truncated = (name: string, format: Format, detail: string) => fail(name, `truncated image: ${name} (${format} data ends early: ${detail})`);
const corrupt = (name: string, format: Format, detail: string, cause?: unknown) => fail(name, `corrupt image: ${name} (${format}: ${detail})`, cause);
const unsupported = (name: string, format: Format, detail: string) => fail(name, `unsupported ${format} variant: ${name} (${detail})`);

function checkSize(name: string, width: number, height: number): void {
  if (width * height > MAX_PIXELS) {
    const mp = ((width * height) / 1e6).toFixed(1);
    throw fail(name, `image too large: ${name} is ${width} x ${height} = ${mp} megapixels (the limit is ${MAX_PIXELS / 1e6} megapixels)`);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes a JPEG, PNG or BMP file to RGBA. The format is taken from the first bytes, never from `name`
 * (which only labels errors), so a mislabelled file still decodes and a non-image fails clearly.
 * Greyscale becomes R = G = B; 16-bit PNG samples are rounded to 8 bits; alpha is kept as stored.
 * A JPEG's EXIF orientation is applied, so a phone photo comes out the way a browser shows it (the web
 * app decodes with `imageOrientation: 'from-image'`) and both score the same pixels.
 * @throws ImageDecodeError naming the file: empty, not an image, truncated, corrupt, unsupported variant,
 *   or larger than MAX_PIXELS.
 */
export function decodeImage(bytes: Uint8Array, name: string): RgbaImage {
  if (bytes.length === 0) throw fail(name, `empty file: ${name} (0 bytes)`);
  const format = sniff(bytes);
  if (format === null) throw fail(name, `not an image: ${name} (expected JPEG, PNG or BMP)`);
  if (typeof format === 'object') throw fail(name, `unsupported image format: ${name} is ${format.other} (expected JPEG, PNG or BMP)`);
  let img: RgbaImage;
  if (format === 'JPEG') img = decodeJpeg(bytes, name);
  else if (format === 'PNG') img = decodePng(bytes, name);
  else img = decodeBmpFile(bytes, name);
  if (img.width <= 0 || img.height <= 0 || img.data.length !== img.width * img.height * 4) {
    throw corrupt(name, format, `decoder returned ${img.width} x ${img.height} with ${img.data.length} bytes`);
  }
  return img;
}

/** A decoded image as the engine gets it; `downscaledFrom` is the file's own size where it was reduced. */
export interface InspectionImage extends RgbaImage {
  downscaledFrom?: [width: number, height: number];
}

/**
 * decodeImage, then a box-filter reduction to at most `maxSide` pixels on the long side, so that memory
 * per image stays bounded whatever the camera. Images up to MAX_PIXELS decode; bigger ones are refused.
 */
export function decodeForInspection(bytes: Uint8Array, name: string, maxSide = INSPECTION_MAX_SIDE): InspectionImage {
  const img = decodeImage(bytes, name);
  const small = downscaleToFit(img, maxSide);
  return small === img ? img : { ...small, downscaledFrom: [img.width, img.height] };
}

/** A file's bytes; read failures (missing, unreadable, a folder) become ImageDecodeErrors naming it. */
export function readImageBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fail(path, `cannot read image: ${path} (${(e as NodeJS.ErrnoException).code ?? message(e)})`, e);
  }
}

/** Reads and decodes a file; read failures (missing, unreadable) become ImageDecodeErrors too. */
export function readImageFile(path: string): RgbaImage {
  return decodeImage(readImageBytes(path), path);
}

/**
 * The size decodeImage would return, read from the file's header (a JPEG's frame header and EXIF
 * orientation, a PNG's IHDR, a BMP's header) without decoding pixels; a file whose header cannot be read
 * that way is decoded, so its size or its error is decodeImage's.
 */
export function imageSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  const format = sniff(bytes);
  if (format === 'JPEG') {
    const frame = jpegFrame(bytes);
    if (frame && frame.width > 0 && frame.height > 0) {
      return exifOrientation(bytes) >= 5 ? { width: frame.height, height: frame.width } : { width: frame.width, height: frame.height };
    }
  } else if (format === 'PNG' && bytes.length >= 33 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR') {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = { width: dv.getUint32(16), height: dv.getUint32(20) };
    if (size.width > 0 && size.height > 0 && size.width <= 0x7fffffff && size.height <= 0x7fffffff) return size;
  } else if (format === 'BMP') {
    try {
      const h = readBmpHeader(bytes);
      return { width: h.width, height: h.height };
    } catch {
      // decodeImage below names what is wrong with it.
    }
  }
  const img = decodeImage(bytes, name);
  return { width: img.width, height: img.height };
}

interface JpegFrame {
  marker: number;
  end: number;
  precision: number;
  width: number;
  height: number;
  components: number;
}

/**
 * Walks the marker segments up to the frame header. Returns null where the layout is odd, since jpeg-js
 * tolerates some malformed segments (e.g. phones' APP1) and should get its chance to decode the file.
 */
function jpegFrame(b: Uint8Array): JpegFrame | null {
  let o = 2;
  for (;;) {
    if (o >= b.length || b[o] !== 0xff) return null;
    while (o < b.length && b[o] === 0xff) o++;
    if (o >= b.length) return null;
    const m = b[o++];
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (m === 0xd9 || m === 0xda || o + 2 > b.length) return null;
    const len = (b[o] << 8) | b[o + 1];
    if (len < 2 || o + len > b.length) return null;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 8) return null;
      return { marker: m, end: o + len, precision: b[o + 2], height: (b[o + 3] << 8) | b[o + 4], width: (b[o + 5] << 8) | b[o + 6], components: b[o + 7] };
    }
    o += len;
  }
}

function hasJpegEnd(b: Uint8Array, from: number): boolean {
  // Inside entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FF D9 is the real end.
  for (let i = b.length - 2; i >= from; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  return false;
}

function decodeJpeg(bytes: Uint8Array, name: string): RgbaImage {
  const frame = jpegFrame(bytes);
  if (frame) {
    const m = frame.marker;
    if (m === 0xc3) throw unsupported(name, 'JPEG', 'lossless JPEG');
    if (m >= 0xc5 && m <= 0xc7) throw unsupported(name, 'JPEG', 'hierarchical JPEG');
    if (m >= 0xc9) throw unsupported(name, 'JPEG', 'arithmetic-coded JPEG');
    if (frame.precision !== 8) throw unsupported(name, 'JPEG', `${frame.precision}-bit samples; only 8-bit JPEG is supported`);
    if (frame.height === 0) throw unsupported(name, 'JPEG', 'height given by a DNL marker');
    if (frame.width === 0) throw corrupt(name, 'JPEG', 'zero width');
    if (![1, 3, 4].includes(frame.components)) throw unsupported(name, 'JPEG', `${frame.components} colour components`);
    checkSize(name, frame.width, frame.height);
  }
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      // Tolerance only skips MCUs coded beyond the frame's blocks; cut-off data still throws.
      tolerantDecoding: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
  } catch (e) {
    const detail = message(e);
    if (/maxResolutionInMP/.test(detail)) throw fail(name, `image too large: ${name} (more than ${MAX_PIXELS / 1e6} megapixels)`, e);
    if (/maxMemoryUsageInMB|allocate enough memory/.test(detail)) {
      throw fail(name, `image too large: ${name} (decoding needs more than ${JPEG_MAX_MEMORY_MB} MB)`, e);
    }
    if (/Unsupported color mode \(4 components\)/.test(detail)) throw unsupported(name, 'JPEG', 'CMYK without an Adobe marker');
    if (!hasJpegEnd(bytes, frame?.end ?? 2)) throw fail(name, `truncated image: ${name} (JPEG data ends early: no end-of-image marker)`, e);
    throw corrupt(name, 'JPEG', detail, e);
  }
  checkSize(name, out.width, out.height);
  const img = { width: out.width, height: out.height, data: new Uint8ClampedArray(out.data.buffer, out.data.byteOffset, out.data.byteLength) };
  return applyOrientation(img, exifOrientation(bytes));
}

/** EXIF orientation values: 1 is as stored; 2-8 are the flips, rotations and transposes of the TIFF spec. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/**
 * The orientation in a JPEG's first APP1 Exif segment (IFD0 tag 0x0112), or 1 where there is none or it
 * is malformed in any way: a bad tag must cost the user at most a rotated image, never a refused one.
 */
export function exifOrientation(b: Uint8Array): Orientation {
  try {
    return findExifOrientation(b);
  } catch {
    return 1;
  }
}

function findExifOrientation(b: Uint8Array): Orientation {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return 1;
    const m = b[o + 1];
    if (m === 0xff) {
      o++; // fill byte before a marker
      continue;
    }
    o += 2;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    // Metadata segments all come before the first scan.
    if (m === 0xda || m === 0xd9) return 1;
    const len = (b[o] << 8) | b[o + 1];
    if (len < 2 || o + len > b.length) return 1;
    if (m === 0xe1 && len >= 8 && startsWith(b, ascii('Exif\0\0'), o + 2)) return tiffOrientation(b.subarray(o + 8, o + len));
    o += len;
  }
  return 1;
}

function tiffOrientation(t: Uint8Array): Orientation {
  if (t.length < 8) return 1;
  const little = t[0] === 0x49 && t[1] === 0x49;
  if (!little && !(t[0] === 0x4d && t[1] === 0x4d)) return 1;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  if (dv.getUint16(2, little) !== 42) return 1;
  const ifd = dv.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > t.length) return 1;
  const entries = dv.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > t.length) return 1;
    if (dv.getUint16(e, little) !== 0x0112) continue;
    // The spec's form: one SHORT, left-justified in the 4-byte value field. Anything else is a broken tag.
    if (dv.getUint16(e + 2, little) !== 3 || dv.getUint32(e + 4, little) !== 1) return 1;
    const v = dv.getUint16(e + 8, little);
    return v >= 1 && v <= 8 ? (v as Orientation) : 1;
  }
  return 1;
}

/**
 * Where displayed pixel (x, y) comes from: stored pixel `start + x * dx + y * dy` of the w x h image.
 * Orientations 5-8 swap width and height.
 */
function orientationSteps(o: Orientation, w: number, h: number): [start: number, dx: number, dy: number] {
  const steps: Record<Orientation, [number, number, number]> = {
    1: [0, 1, w],
    2: [w - 1, -1, w], // mirrored left-right
    3: [w * h - 1, -1, -w], // rotated 180
    4: [(h - 1) * w, 1, -w], // mirrored top-bottom
    5: [0, w, 1], // transposed
    6: [(h - 1) * w, -w, 1], // stored rotated 90 anticlockwise, shown turned clockwise
    7: [w * h - 1, -w, -1], // transversed
    8: [w - 1, w, -1], // stored rotated 90 clockwise, shown turned anticlockwise
  };
  return steps[o];
}

/** The image as displayed under EXIF orientation `o`; `img` itself for 1. */
export function applyOrientation(img: RgbaImage, o: Orientation): RgbaImage {
  if (o === 1) return img;
  const { width: w, height: h } = img;
  const [W, H] = o >= 5 ? [h, w] : [w, h];
  // Whole pixels as 32-bit words; a view needs 4-byte alignment, which a copy guarantees.
  const data = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice();
  const src = new Uint32Array(data.buffer, data.byteOffset, w * h);
  const out = new Uint8ClampedArray(w * h * 4);
  const dst = new Uint32Array(out.buffer);
  const [start, dx, dy] = orientationSteps(o, w, h);
  for (let y = 0, i = 0; y < H; y++) {
    let s = start + y * dy;
    for (let x = 0; x < W; x++, s += dx) dst[i++] = src[s];
  }
  return { width: W, height: H, data: out };
}

/** End of the IEND chunk, after checking the chunk layout; pngjs itself rejects bytes after IEND. */
function pngEnd(bytes: Uint8Array, name: string): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  for (;;) {
    if (o + 12 > bytes.length) throw truncated(name, 'PNG', o >= bytes.length ? 'no IEND chunk' : 'the file ends inside a chunk header');
    const len = dv.getUint32(o);
    if (len > 0x7fffffff) throw corrupt(name, 'PNG', `chunk length ${len} at byte ${o}`);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(name, 'PNG', `invalid chunk type at byte ${o}`);
    if (o + 12 + len > bytes.length) throw truncated(name, 'PNG', `the ${type} chunk at byte ${o} needs ${len} bytes, ${bytes.length - o - 12} remain`);
    o += 12 + len;
    if (type === 'IEND') return o;
  }
}

function decodePng(bytes: Uint8Array, name: string): RgbaImage {
  if (bytes.length < 33) throw truncated(name, 'PNG', 'the file ends inside the header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw corrupt(name, 'PNG', 'the first chunk is not IHDR');
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw corrupt(name, 'PNG', `invalid size ${width} x ${height}`);
  checkSize(name, width, height);
  const end = pngEnd(bytes, name);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, end));
  } catch (e) {
    throw corrupt(name, 'PNG', message(e), e);
  }
  const d = png.data;
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(d.buffer, d.byteOffset, d.byteLength) };
}

function decodeBmpFile(bytes: Uint8Array, name: string): RgbaImage {
  try {
    const header = readBmpHeader(bytes);
    checkSize(name, header.width, header.height);
    return decodeBmp(bytes, header);
  } catch (e) {
    if (!(e instanceof BmpError)) throw e;
    if (e.kind === 'truncated') throw truncated(name, 'BMP', e.message);
    if (e.kind === 'unsupported') throw unsupported(name, 'BMP', e.message);
    throw corrupt(name, 'BMP', e.message, e);
  }
}

/** RGBA PNG bytes (8-bit, colour type 6) for writing overlays and debug images. */
export function encodePng(img: RgbaPixels): Uint8Array {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || data.length !== width * height * 4) {
    throw new Error(`encodePng: expected ${width} x ${height} x 4 = ${width * height * 4} bytes of RGBA, got ${data.length}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Level 6 is zlib's default: level 9 (pngjs' default) is several times slower for a few % smaller files.
  const out = PNG.sync.write(png, { colorType: 6, deflateLevel: 6 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
