// Byte-level builders for test images: hand-made files reach variants (palette, 16-bit grey+alpha, BMP
// layouts) that no installed encoder writes, and let tests corrupt exact fields.
import { deflateSync } from 'node:zlib';
import { crc32Value } from '../../src/core/model/crc32';
import { concat } from './torchBuilders';

export { concat };

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32Value(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG from raw (unfiltered) scanlines; `chunks` go between IHDR and IDAT (PLTE, tRNS). */
export function handPng(opts: { width: number; height: number; bitDepth: number; colorType: number; rows: Uint8Array[]; chunks?: Uint8Array[] }): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, opts.width);
  dv.setUint32(4, opts.height);
  ihdr[8] = opts.bitDepth;
  ihdr[9] = opts.colorType;
  const raw = concat(opts.rows.flatMap((r) => [new Uint8Array([0]), r]));
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(opts.chunks ?? []),
    pngChunk('IDAT', new Uint8Array(deflateSync(raw))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * A BMP whose rows (top row first, unpadded) are laid out as the header says: bottom-up unless `topDown`.
 * `header` 40 is BITMAPINFOHEADER (masks appended for BITFIELDS), 108 is V4 (masks inside), 12 is OS/2.
 */
export function handBmp(opts: {
  width: number;
  height: number;
  bpp: number;
  rows: Uint8Array[];
  topDown?: boolean;
  palette?: [number, number, number][];
  compression?: number;
  masks?: number[];
  header?: 12 | 40 | 108;
}): Uint8Array {
  const header = opts.header ?? 40;
  const masks = opts.compression === 3 && header === 40 ? 12 : 0;
  const entry = header === 12 ? 3 : 4;
  const paletteBytes = (opts.palette?.length ?? 0) * entry;
  const dataOffset = 14 + header + masks + paletteBytes;
  const stride = Math.floor((opts.bpp * opts.width + 31) / 32) * 4;
  const out = new Uint8Array(dataOffset + stride * opts.height);
  const dv = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  dv.setUint32(2, out.length, true);
  dv.setUint32(10, dataOffset, true);
  dv.setUint32(14, header, true);
  if (header === 12) {
    dv.setUint16(18, opts.width, true);
    dv.setUint16(20, opts.height, true);
    dv.setUint16(22, 1, true);
    dv.setUint16(24, opts.bpp, true);
  } else {
    dv.setInt32(18, opts.width, true);
    dv.setInt32(22, opts.topDown ? -opts.height : opts.height, true);
    dv.setUint16(26, 1, true);
    dv.setUint16(28, opts.bpp, true);
    dv.setUint32(30, opts.compression ?? 0, true);
    dv.setUint32(34, stride * opts.height, true);
    dv.setUint32(46, opts.palette?.length ?? 0, true);
    (opts.masks ?? []).forEach((m, i) => dv.setUint32(54 + 4 * i, m >>> 0, true));
  }
  (opts.palette ?? []).forEach(([r, g, b], i) => {
    const o = 14 + header + masks + i * entry;
    out[o] = b;
    out[o + 1] = g;
    out[o + 2] = r;
  });
  opts.rows.forEach((row, y) => out.set(row, dataOffset + stride * (opts.topDown ? y : opts.height - 1 - y)));
  return out;
}

export const bytesOf = (s: string) => new TextEncoder().encode(s);
