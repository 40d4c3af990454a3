// A small BMP reader: enough for what cameras, Windows tools and OpenCV write (uncompressed 1/2/4/8-bit
// palette, 16/24/32-bit direct colour, BITFIELDS masks, bottom-up or top-down), so no extra dependency.
import type { RgbaImage } from './image';

/** Thrown for a malformed file; decode.ts turns it into an ImageDecodeError that names the file. */
export class BmpError extends Error {
  constructor(
    readonly kind: 'truncated' | 'corrupt' | 'unsupported' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  dataOffset: number;
  dibSize: number;
  colorsUsed: number;
}

export function readBmpHeader(bytes: Uint8Array): BmpHeader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 18) throw new BmpError('truncated', 'the file ends inside the header');
  const dataOffset = dv.getUint32(10, true);
  const dibSize = dv.getUint32(14, true);
  if (dibSize !== 12 && dibSize < 40) throw new BmpError('unsupported', `unknown header size ${dibSize}`);
  if (bytes.length < 14 + Math.min(dibSize, 40)) throw new BmpError('truncated', 'the file ends inside the header');
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  if (dibSize === 12) {
    // OS/2 1.x BITMAPCOREHEADER: 16-bit unsigned sizes, always bottom-up.
    width = dv.getUint16(18, true);
    height = dv.getUint16(20, true);
    bpp = dv.getUint16(24, true);
  } else {
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colorsUsed = dv.getUint32(46, true);
  }
  // A negative height is how BMP says the rows are stored top row first.
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height === 0) throw new BmpError('corrupt', `invalid size ${width} x ${height}`);
  return { width, height, topDown, bpp, compression, dataOffset, dibSize, colorsUsed };
}

function maskShape(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (bits + shift < 32 && ((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, max: bits >= 32 ? 0xffffffff : 2 ** bits - 1 };
}

/** Decodes pixels after `readBmpHeader` (whose size the caller has already checked against its limit). */
export function decodeBmp(bytes: Uint8Array, h: BmpHeader): RgbaImage {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { width, height, bpp, compression, dataOffset, dibSize } = h;
  // OS/2 2.x headers reuse codes 3 and 4 for Huffman and RLE24, not BITFIELDS and JPEG.
  if (dibSize === 64 && (compression === 3 || compression === 4)) throw new BmpError('unsupported', 'OS/2 compressed BMP is not supported; save it uncompressed');
  if (compression === BI_RLE8 || compression === BI_RLE4) throw new BmpError('unsupported', 'RLE-compressed BMP is not supported; save it uncompressed');
  if (compression === BI_JPEG || compression === BI_PNG) throw new BmpError('unsupported', 'BMP with an embedded JPEG/PNG is not supported');
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new BmpError('unsupported', `unknown compression ${compression}`);
  }
  if (![1, 2, 4, 8, 16, 24, 32].includes(bpp)) throw new BmpError('corrupt', `invalid bit depth ${bpp}`);
  const bitfields = compression !== BI_RGB;
  if (bitfields && bpp !== 16 && bpp !== 32) throw new BmpError('corrupt', `BITFIELDS with ${bpp} bits per pixel`);

  // With a 40-byte header the masks follow it; larger headers hold them in the same place.
  const maskCount = !bitfields ? 0 : dibSize === 40 ? (compression === BI_ALPHABITFIELDS ? 4 : 3) : dibSize >= 56 ? 4 : 3;
  if (bitfields && bytes.length < 54 + 4 * maskCount) throw new BmpError('truncated', 'the file ends inside the colour masks');
  const masks = bitfields
    ? [0, 1, 2, 3].map((i) => (i < maskCount ? dv.getUint32(54 + 4 * i, true) : 0))
    : bpp === 16
      ? [0x7c00, 0x03e0, 0x001f, 0]
      : // The fourth byte of BI_RGB 32-bit pixels is "reserved": most writers leave garbage or 0 there.
        [0x00ff0000, 0x0000ff00, 0x000000ff, 0];

  let palette: Uint8Array | null = null;
  let paletteCount = 0;
  if (bpp <= 8) {
    const entry = dibSize === 12 ? 3 : 4;
    const start = 14 + dibSize + (dibSize === 40 ? 4 * maskCount : 0);
    const declared = h.colorsUsed > 0 ? h.colorsUsed : 1 << bpp;
    // Some writers declare a full table but store fewer entries before the pixels; trust the layout.
    paletteCount = Math.min(declared, 1 << bpp, Math.floor((Math.min(dataOffset, bytes.length) - start) / entry));
    if (paletteCount <= 0) throw new BmpError('corrupt', 'the colour table is missing');
    palette = new Uint8Array(paletteCount * 4);
    for (let i = 0; i < paletteCount; i++) {
      const o = start + i * entry;
      palette[i * 4] = bytes[o + 2];
      palette[i * 4 + 1] = bytes[o + 1];
      palette[i * 4 + 2] = bytes[o];
      palette[i * 4 + 3] = 255;
    }
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const rowBytes = Math.ceil((bpp * width) / 8);
  // The last row's padding is often left off; only the pixels themselves must be present.
  if (dataOffset + stride * (height - 1) + rowBytes > bytes.length) {
    throw new BmpError('truncated', `pixel data needs ${dataOffset + stride * (height - 1) + rowBytes} bytes, the file has ${bytes.length}`);
  }

  const out = new Uint8ClampedArray(width * height * 4);
  const shapes = masks.map(maskShape);
  const hasAlpha = shapes[3].max > 0;
  let anyAlpha = false;
  for (let y = 0; y < height; y++) {
    const row = dataOffset + stride * (h.topDown ? y : height - 1 - y);
    let o = y * width * 4;
    if (palette) {
      const perByte = 8 / bpp;
      const valueMask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, o += 4) {
        const byte = bytes[row + Math.floor(x / perByte)];
        const idx = (byte >> (8 - bpp * ((x % perByte) + 1))) & valueMask;
        if (idx >= paletteCount) throw new BmpError('corrupt', `colour index ${idx} outside the ${paletteCount}-entry colour table`);
        out[o] = palette[idx * 4];
        out[o + 1] = palette[idx * 4 + 1];
        out[o + 2] = palette[idx * 4 + 2];
        out[o + 3] = 255;
      }
    } else if (bpp === 24) {
      for (let x = 0, s = row; x < width; x++, o += 4, s += 3) {
        out[o] = bytes[s + 2];
        out[o + 1] = bytes[s + 1];
        out[o + 2] = bytes[s];
        out[o + 3] = 255;
      }
    } else {
      const step = bpp / 8;
      for (let x = 0, s = row; x < width; x++, o += 4, s += step) {
        const v = bpp === 16 ? dv.getUint16(s, true) : dv.getUint32(s, true);
        for (let c = 0; c < 4; c++) {
          const { shift, max } = shapes[c];
          if (max === 0) out[o + c] = c === 3 ? 255 : 0;
          else out[o + c] = Math.round(((((v & masks[c]) >>> 0) >>> shift) * 255) / max);
        }
        if (hasAlpha && out[o + 3] !== 0) anyAlpha = true;
      }
    }
  }
  // Browsers show a BMP whose alpha channel is all zero as opaque: writers fill the mask but not the data.
  if (hasAlpha && !anyAlpha) for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return { width, height, data: out };
}
