// A Y4M clip for Chromium's fake camera (--use-file-for-fake-video-capture): two MTD tiles side by
// side, a good one on the left and a damaged one on the right, drifting a few pixels like a hand-held part.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { tempDir } from './data';

interface Grey {
  width: number;
  height: number;
  data: Uint8Array;
}

function greyJpeg(file: string): Grey {
  const img = jpeg.decode(readFileSync(file), { useTArray: true, formatAsRGBA: true });
  const data = new Uint8Array(img.width * img.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(0.299 * img.data[i * 4] + 0.587 * img.data[i * 4 + 1] + 0.114 * img.data[i * 4 + 2]);
  return { width: img.width, height: img.height, data };
}

/** Bilinear sample of `src` covering a w x h box (cropped to fill), shifted by (dx, dy) source pixels. */
function sampleInto(y: Uint8Array, stride: number, x0: number, w: number, h: number, src: Grey, dx: number, dy: number): void {
  const s = Math.max(w / src.width, h / src.height) * 1.1;
  const ox = (src.width - w / s) / 2 + dx;
  const oy = (src.height - h / s) / 2 + dy;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const sx = Math.min(src.width - 1.001, Math.max(0, ox + i / s));
      const sy = Math.min(src.height - 1.001, Math.max(0, oy + j / s));
      const xi = Math.floor(sx);
      const yi = Math.floor(sy);
      const fx = sx - xi;
      const fy = sy - yi;
      const p = (a: number, b: number) => src.data[b * src.width + a];
      const v = (1 - fy) * ((1 - fx) * p(xi, yi) + fx * p(xi + 1, yi)) + fy * ((1 - fx) * p(xi, yi + 1) + fx * p(xi + 1, yi + 1));
      y[j * stride + x0 + i] = Math.round(v);
    }
  }
}

export function writeFakeCameraClip(good: string, damaged: string, frames = 40, width = 640, height = 360): string {
  const a = greyJpeg(good);
  const b = greyJpeg(damaged);
  const file = path.join(tempDir('camera'), 'tiles.y4m');
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const parts: Buffer[] = [header];
  const half = width / 2;
  for (let f = 0; f < frames; f++) {
    const y = new Uint8Array(width * height);
    const t = (2 * Math.PI * f) / frames;
    sampleInto(y, width, 0, half, height, a, 4 * Math.sin(t), 3 * Math.cos(t));
    sampleInto(y, width, half, half, height, b, 4 * Math.cos(t), 3 * Math.sin(t));
    // Greyscale: neutral chroma.
    const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
    parts.push(Buffer.from('FRAME\n'), Buffer.from(y), chroma);
  }
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

/** The centred square of an image: how the square training photos of these tests are cut. */
export function squareOf(img: Grey): Grey {
  const side = Math.min(img.width, img.height);
  const x0 = (img.width - side) >> 1;
  const y0 = (img.height - side) >> 1;
  const data = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) data.set(img.data.subarray((y0 + y) * img.width + x0, (y0 + y) * img.width + x0 + side), y * side);
  return { width: side, height: side, data };
}

export function readGrey(file: string): Grey {
  return greyJpeg(file);
}

/**
 * A workstation camera's view of one part: the part's square photo at the frame's full height in the
 * middle of a 4:3 frame, the sides filled with its mirror image as a wider view of the same surface would
 * show more of it, drifting a pixel or two like a part placed by hand. The frame's centred square is the
 * photo; the whole frame is not.
 */
export function writeCentredPartClip(file: string, name: string, frames = 30, width = 640, height = 480): string {
  const part = squareOf(greyJpeg(file));
  const out = path.join(tempDir('camera'), `${name}.y4m`);
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`)];
  const s = part.width / height;
  const x0 = (width - height) / 2;
  const reflect = (u: number, n: number) => {
    const m = ((u % (2 * n)) + 2 * n) % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  };
  for (let f = 0; f < frames; f++) {
    const t = (2 * Math.PI * f) / frames;
    const dx = 1.5 * Math.sin(t);
    const dy = 1.5 * Math.cos(t);
    const y = new Uint8Array(width * height);
    for (let j = 0; j < height; j++) {
      for (let i = 0; i < width; i++) {
        // Source pixel, mirrored beyond the photo's edges.
        const sx = reflect((i - x0 + dx) * s, part.width - 1);
        const sy = reflect((j + dy) * s, part.height - 1);
        const xi = Math.min(part.width - 2, Math.floor(sx));
        const yi = Math.min(part.height - 2, Math.floor(sy));
        const fx = sx - xi;
        const fy = sy - yi;
        const p = (a: number, b: number) => part.data[b * part.width + a];
        const g = (1 - fy) * ((1 - fx) * p(xi, yi) + fx * p(xi + 1, yi)) + fy * ((1 - fx) * p(xi, yi + 1) + fx * p(xi + 1, yi + 1));
        // Chromium reads the clip's luma as video range (16-235): stored so, the page sees the photo's own grey levels.
        y[j * width + i] = Math.round(16 + (g * 219) / 255);
      }
    }
    parts.push(Buffer.from('FRAME\n'), Buffer.from(y), Buffer.alloc((width / 2) * (height / 2) * 2, 128));
  }
  writeFileSync(out, Buffer.concat(parts));
  return out;
}
