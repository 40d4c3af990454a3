// Test material from ../shared (never copied into the repository; temporary layouts go to the OS temp dir).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { PNG } from 'pngjs';
import { sharedDir, sharedPath } from '../test/support/shared';

export const SQUEEZENET = () => sharedPath('weights', 'squeezenet1_1-imagenet.pth');

export function mtd(...parts: string[]): string {
  return path.join(sharedDir(), 'datasets', 'mtd', ...parts);
}

/** The first n good training images, in name order. */
export function goodTrainImages(n: number): string[] {
  const dir = mtd('train', 'good');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, n)
    .map((f) => path.join(dir, f));
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `differnet-${prefix}-`));
}

export interface LabelledSet {
  root: string;
  good: string[];
  defects: { category: string; file: string; mask: string | null }[];
}

/**
 * A small MVTec-layout folder (test/good, test/<defect>, ground_truth/<defect>) in the temp dir: the
 * first `good` good test images and the named defective ones.
 */
export function labelledSet(good: number, defects: Record<string, string[]>): LabelledSet {
  const root = path.join(tempDir('mvtec'), 'mtd');
  const out: LabelledSet = { root, good: [], defects: [] };
  mkdirSync(path.join(root, 'test', 'good'), { recursive: true });
  for (const f of readdirSync(mtd('test', 'good')).sort().slice(0, good)) {
    copyFileSync(mtd('test', 'good', f), path.join(root, 'test', 'good', f));
    out.good.push(f);
  }
  for (const [category, files] of Object.entries(defects)) {
    mkdirSync(path.join(root, 'test', category), { recursive: true });
    mkdirSync(path.join(root, 'ground_truth', category), { recursive: true });
    for (const f of files) {
      copyFileSync(mtd('test', category, f), path.join(root, 'test', category, f));
      const maskName = f.replace(/\.[^.]+$/, '_mask.png');
      let mask: string | null = null;
      if (existsSync(mtd('ground_truth', category, maskName))) {
        copyFileSync(mtd('ground_truth', category, maskName), path.join(root, 'ground_truth', category, maskName));
        mask = maskName;
      }
      out.defects.push({ category, file: f, mask });
    }
  }
  // Files that are not test images must be ignored, not break the import.
  writeFileSync(path.join(root, 'README.txt'), 'not an image');
  return out;
}

/** Files that must be refused with a per-file message. */
export function badFiles(): { notImage: string; truncatedJpeg: string; hostilePth: string; truncatedPth: string } {
  const dir = tempDir('bad');
  const notImage = path.join(dir, 'notes.txt');
  writeFileSync(notImage, 'these are not pixels');
  const truncatedJpeg = path.join(dir, 'truncated.jpg');
  writeFileSync(truncatedJpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]));
  const hostilePth = path.join(dir, 'hostile.pth');
  // A torch zip checkpoint whose pickle calls os.system: the safe unpickler must refuse it, not run it.
  const pickle = Buffer.from('\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.', 'latin1');
  writeFileSync(hostilePth, zipSync({ 'hostile/data.pkl': new Uint8Array(pickle), 'hostile/version': strToU8('3\n') }, { level: 0 }));
  const truncatedPth = path.join(dir, 'truncated.pth');
  writeFileSync(truncatedPth, Buffer.from('PK\x03\x04\x14\x00\x00\x00\x00\x00', 'latin1'));
  return { notImage, truncatedJpeg, hostilePth, truncatedPth };
}

/**
 * An MVTec-layout folder of square photos: the centred square of each of the first n good training images,
 * as PNG (lossless, so the square is exactly what the engine gets).
 */
export function squareTrainingSet(n: number, square: (file: string) => { width: number; height: number; data: Uint8Array }): string {
  const root = path.join(tempDir('square'), 'mtd-square');
  mkdirSync(path.join(root, 'train', 'good'), { recursive: true });
  for (const f of goodTrainImages(n)) {
    const g = square(f);
    const png = new PNG({ width: g.width, height: g.height });
    for (let i = 0; i < g.data.length; i++) {
      png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = g.data[i];
      png.data[i * 4 + 3] = 255;
    }
    writeFileSync(path.join(root, 'train', 'good', path.basename(f).replace(/\.jpg$/, '.png')), PNG.sync.write(png));
  }
  return root;
}
