// A Live snapshot carries, inside its PNG, which pixels were scored (the region of the frame above its
// caption), so Inspect scores a dropped snapshot exactly as Live did: that region, never the whole
// frame or the caption band.
import { crc32Value as crc } from '../../core/model/crc32';
import type { PickedFile } from './files';

export interface ScoredRegion {
  /** The scored rectangle in the snapshot's pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

const KEYWORD = 'differnet-scored-region';
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function isPng(b: Uint8Array): boolean {
  return b.length > 33 && SIGNATURE.every((v, i) => b[i] === v);
}

/** The PNG with a tEXt chunk naming the scored region, placed after IHDR where a reader meets it first. */
export function withScoredRegion(png: Uint8Array, r: ScoredRegion): Uint8Array {
  if (!isPng(png)) throw new Error('not a PNG');
  const text = new TextEncoder().encode(`${KEYWORD}\0${JSON.stringify({ x: r.x, y: r.y, width: r.width, height: r.height })}`);
  const chunk = new Uint8Array(12 + text.length);
  const dv = new DataView(chunk.buffer);
  dv.setUint32(0, text.length);
  chunk.set([116, 69, 88, 116], 4); // tEXt
  chunk.set(text, 8);
  dv.setUint32(8 + text.length, crc(chunk.subarray(4, 8 + text.length)));
  // Signature (8) and IHDR (4 + 4 + 13 + 4).
  const at = 33;
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, at));
  out.set(chunk, at);
  out.set(png.subarray(at), at + chunk.length);
  return out;
}

/** The scored region a snapshot names, or null for any other image (or a damaged chunk). */
export function readScoredRegion(png: Uint8Array): ScoredRegion | null {
  if (!isPng(png)) return null;
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 12 <= png.length; ) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (type === 'IDAT' || type === 'IEND' || at + 12 + len > png.length) return null;
    if (type === 'tEXt') {
      const body = png.subarray(at + 8, at + 8 + len);
      const zero = body.indexOf(0);
      if (zero > 0 && new TextDecoder().decode(body.subarray(0, zero)) === KEYWORD && crc(png.subarray(at + 4, at + 8 + len)) === dv.getUint32(at + 8 + len)) {
        try {
          const r = JSON.parse(new TextDecoder().decode(body.subarray(zero + 1))) as ScoredRegion;
          const ok = [r.x, r.y, r.width, r.height].every((v) => Number.isInteger(v) && v >= 0) && r.width > 0 && r.height > 0;
          return ok ? r : null;
        } catch {
          return null;
        }
      }
    }
    at += 12 + len;
  }
  return null;
}

/** A dropped Live snapshot becomes the region Live scored; every other file is passed through. */
export async function scoredPartOf(f: PickedFile): Promise<PickedFile> {
  if (f.file.type && f.file.type !== 'image/png') return f;
  const head = new Uint8Array(await f.file.slice(0, 4096).arrayBuffer());
  const r = readScoredRegion(head);
  if (!r) return f;
  try {
    const bmp = await createImageBitmap(f.file, r.x, r.y, r.width, r.height);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    c.getContext('2d')!.drawImage(bmp, 0, 0);
    bmp.close();
    const blob = await c.convertToBlob({ type: 'image/png' });
    return { path: f.path, file: new File([blob], f.file.name, { type: 'image/png', lastModified: f.file.lastModified }) };
  } catch {
    // A snapshot whose pixels do not decode is reported by the engine like any other bad file.
    return f;
  }
}
