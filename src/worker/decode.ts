import { downscaleToFit, fitSize, MAX_PIXELS, type RgbaImage } from '../core/image';
import { downsampleArea } from '../core/resample';
import { MAP_SIDE, type ImageInput, type Roi } from './protocol';

/** A file that is not a decodable image; the message names the file so a batch can report it per item. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

async function toBitmap(input: ImageInput, name: string): Promise<ImageBitmap> {
  if (!(input instanceof Blob)) return input;
  if (input.size === 0) throw new ImageDecodeError(`${name}: the file is empty`);
  try {
    // EXIF orientation matters for phone photos: the engine must see the part the way the user does.
    return await createImageBitmap(input, { imageOrientation: 'from-image' });
  } catch {
    const kind = input.type || 'unknown type';
    throw new ImageDecodeError(`${name}: not a readable image (${kind}, ${input.size} bytes) — it may be truncated or not a JPEG/PNG/WebP/BMP/GIF`);
  }
}

function roiPixels(roi: Roi | undefined, w: number, h: number): { x: number; y: number; w: number; h: number } {
  if (!roi) return { x: 0, y: 0, w, h };
  const k = roi.relative ? { x: w, y: h } : { x: 1, y: 1 };
  const x = Math.max(0, Math.min(w - 1, Math.round(roi.x * k.x)));
  const y = Math.max(0, Math.min(h - 1, Math.round(roi.y * k.y)));
  return { x, y, w: Math.max(1, Math.min(w - x, Math.round(roi.width * k.x))), h: Math.max(1, Math.min(h - y, Math.round(roi.height * k.y))) };
}

/**
 * Decodes to RGBA pixels at the file's own resolution, cropped to `roi`, then reduced by the engine's own
 * box filter to MAX_IMAGE_SIDE: the CLI does the same to the same pixels, so both score alike.
 */
export async function decodeImage(input: ImageInput, name: string, opts: { roi?: Roi } = {}): Promise<RgbaImage> {
  const bitmap = await toBitmap(input, name);
  try {
    if (bitmap.width === 0 || bitmap.height === 0) throw new ImageDecodeError(`${name}: the image has no pixels`);
    const src = roiPixels(opts.roi, bitmap.width, bitmap.height);
    if (src.w * src.h > MAX_PIXELS) {
      throw new ImageDecodeError(`${name}: image too large (${src.w} x ${src.h} = ${((src.w * src.h) / 1e6).toFixed(0)} megapixels; the limit is ${MAX_PIXELS / 1e6})`);
    }
    const ctx = new OffscreenCanvas(src.w, src.h).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser cannot draw images in a worker (no OffscreenCanvas 2D)');
    ctx.drawImage(bitmap, src.x, src.y, src.w, src.h, 0, 0, src.w, src.h);
    return downscaleToFit({ width: src.w, height: src.h, data: ctx.getImageData(0, 0, src.w, src.h).data });
  } finally {
    bitmap.close();
  }
}

/** A ground-truth mask resized to the map's grid: 1 where the mask is bright. */
export async function decodeMask(blob: Blob, name: string, width: number, height: number): Promise<Uint8Array> {
  const bitmap = await toBitmap(blob, name);
  try {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser cannot draw images in a worker (no OffscreenCanvas 2D)');
    ctx.drawImage(bitmap, 0, 0, width, height);
    const px = ctx.getImageData(0, 0, width, height).data;
    const out = new Uint8Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = px[i * 4] > 127 ? 1 : 0;
    return out;
  } finally {
    bitmap.close();
  }
}

/** Area-average downsampling to at most `side` px (the size fitSize gives, as for images); keeps the map's mean, so the fixed colour scale still applies. */
export function downsampleMap(map: Float32Array, w: number, h: number, side = MAP_SIDE): { map: Float32Array; width: number; height: number } {
  const [width, height] = fitSize(w, h, side);
  if (width === w && height === h) return { map, width, height };
  return { map: downsampleArea(map, w, h, 1, width, height, new Float32Array(width * height)), width, height };
}
