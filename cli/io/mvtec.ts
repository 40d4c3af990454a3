// Reads an MVTec AD folder from disk, by the engine's layout rules (src/core/inspection/mvtecLayout.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMvtecImageName, labelOfFolder, maskNamesFor, MVTEC_IMAGE_EXTENSIONS } from '../../src/core/inspection/mvtecLayout';
import { decodeImage } from './decode';

export interface LabelledImage {
  path: string;
  /** 'good' or the defect type (the test sub-folder's name). */
  defect: string;
  label: 0 | 1;
  maskPath?: string;
}

export interface MvtecDataset {
  /** Absolute path of DIR. */
  root: string;
  /** Absolute paths of DIR/train/good's images, sorted by name. */
  train: string[];
  /** test/good first, then the defect folders alphabetically; each sorted by name. */
  test: LabelledImage[];
  /** Defect folders that hold at least one image, sorted. */
  defectTypes: string[];
}

/** The folder is not a usable dataset; the message says what is missing and what layout is expected. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

const LAYOUT = 'expected the MVTec AD layout DIR/train/good, DIR/test/good, DIR/test/<defect>';
const EXT_LIST = `${MVTEC_IMAGE_EXTENSIONS.slice(0, -1).join(', ')} or ${MVTEC_IMAGE_EXTENSIONS.at(-1)}`;

// Code-unit order, not localeCompare: the same list on every machine and locale, so runs are reproducible.
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function kind(p: string): 'dir' | 'file' | null {
  try {
    const s = statSync(p); // follows symlinks: datasets are often linked in rather than copied
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Visible entries of a folder; dot-files (.DS_Store, ._x.png from macOS) are never data. */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort(byName);
  } catch (e) {
    throw new DatasetError(`cannot read folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function subfolders(dir: string): string[] {
  return entries(dir).filter((n) => kind(path.join(dir, n)) === 'dir');
}

/** Image files of a folder by extension; other files (notes, Thumbs.db) are skipped, not errors. */
export function listImages(dir: string): string[] {
  return entries(dir)
    .filter(isMvtecImageName)
    .map((n) => path.join(dir, n))
    .filter((p) => kind(p) === 'file');
}

/**
 * Lists an MVTec AD style dataset. Only names are read here; images are decoded later, one at a time.
 * `requireTrain` / `requireTest` (both default true) say which parts the caller will use. A required part
 * must exist and be usable; an optional one comes back empty when absent or unusable, so e.g. training
 * is not blocked by a test folder it never reads. Defect folders without images are skipped.
 * @throws DatasetError when DIR is missing, or a required part is missing or unusable (train/good or
 *   test/good without images, test without a good folder).
 */
export function readMvtecFolder(dir: string, opts: { requireTrain?: boolean; requireTest?: boolean } = {}): MvtecDataset {
  const requireTrain = opts.requireTrain ?? true;
  const requireTest = opts.requireTest ?? true;
  const root = path.resolve(dir);
  const rootKind = kind(root);
  if (rootKind === null) throw new DatasetError(`dataset folder not found: ${dir}`);
  if (rootKind !== 'dir') throw new DatasetError(`dataset path is a file, not a folder: ${dir} (${LAYOUT})`);

  let train: string[] = [];
  try {
    train = readTrain(root, dir);
  } catch (e) {
    if (requireTrain || !(e instanceof DatasetError)) throw e;
  }
  let test: { test: LabelledImage[]; defectTypes: string[] } = { test: [], defectTypes: [] };
  try {
    test = readTest(root, dir);
  } catch (e) {
    if (requireTest || !(e instanceof DatasetError)) throw e;
  }
  return { root, train, ...test };
}

function readTrain(root: string, dir: string): string[] {
  const trainGood = path.join(root, 'train', 'good');
  if (kind(trainGood) !== 'dir') throw new DatasetError(`${dir} has no train/good folder: ${LAYOUT}`);
  const train = listImages(trainGood);
  if (train.length === 0) throw new DatasetError(`${trainGood} has no images (${EXT_LIST})`);
  return train;
}

function readTest(root: string, dir: string): { test: LabelledImage[]; defectTypes: string[] } {
  const testDir = path.join(root, 'test');
  if (kind(testDir) !== 'dir') throw new DatasetError(`${dir} has no test folder: ${LAYOUT}`);
  const folders = subfolders(testDir);
  if (!folders.includes('good')) {
    throw new DatasetError(`${testDir} has no good folder: ${LAYOUT} (defect-free test images are needed to measure false alarms)`);
  }
  const good = listImages(path.join(testDir, 'good'));
  if (good.length === 0) throw new DatasetError(`${path.join(testDir, 'good')} has no images (${EXT_LIST})`);

  const gtDir = path.join(root, 'ground_truth');
  const test: LabelledImage[] = [];
  const add = (defect: string, files: string[]) => {
    const maskDir = path.join(gtDir, defect);
    // One listing per defect folder instead of two stat calls per image.
    const masks = kind(maskDir) === 'dir' ? new Set(entries(maskDir)) : new Set<string>();
    for (const p of files) {
      const item: LabelledImage = { path: p, defect, label: labelOfFolder(defect) };
      const mask = maskNamesFor(path.basename(p)).find((m) => masks.has(m) && kind(path.join(maskDir, m)) === 'file');
      if (mask) item.maskPath = path.join(maskDir, mask);
      test.push(item);
    }
  };
  add('good', good);
  const defectTypes: string[] = [];
  for (const defect of folders) {
    if (defect === 'good') continue;
    const files = listImages(path.join(testDir, defect));
    if (files.length === 0) continue;
    defectTypes.push(defect);
    add(defect, files);
  }
  return { test, defectTypes };
}

/**
 * A ground-truth mask as one byte per pixel: 1 where the first channel is above 127, else 0. The cut is
 * the web app's (src/worker/decode.ts) so both report the same pixel AUROC; MTD's masks hold a few
 * anti-aliased values between 0 and 255. The mask must match the image's size exactly, because resizing
 * it here would silently shift which pixels count as defective.
 * @throws ImageDecodeError if the file does not decode, DatasetError if it cannot be read or the size differs.
 */
export function loadMask(maskPath: string, width: number, height: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(maskPath));
  } catch (e) {
    throw new DatasetError(`cannot read mask ${maskPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const img = decodeImage(bytes, maskPath);
  if (img.width !== width || img.height !== height) {
    throw new DatasetError(`mask ${maskPath} is ${img.width} x ${img.height} but its image is ${width} x ${height}`);
  }
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i * 4] > 127 ? 1 : 0;
  return out;
}
