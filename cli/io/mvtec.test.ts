import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedPath } from '../../test/support/shared';
import { decodeImage, encodePng, ImageDecodeError } from './decode';
import { DatasetError, loadMask, readMvtecFolder } from './mvtec';

const LAYOUT_HINT = 'has no train/good folder: expected the MVTec AD layout DIR/train/good, DIR/test/good, DIR/test/<defect>';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp folder holding `files` (relative paths; a trailing '/' makes an empty folder). */
function tree(files: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mvtec-'));
  temps.push(root);
  for (const f of files) {
    const p = path.join(root, f);
    if (f.endsWith('/')) {
      mkdirSync(p, { recursive: true });
    } else {
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, 'x');
    }
  }
  return root;
}

function datasetError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return (e as Error).message;
  }
  throw new Error('expected a DatasetError');
}

describe('readMvtecFolder', () => {
  it('lists a valid layout: sorted images, labels, defect types and masks', () => {
    const root = tree([
      'train/good/c.bmp',
      'train/good/a.png',
      'train/good/B.JPG',
      'train/good/d.jpeg',
      'train/good/notes.txt',
      'train/good/.hidden.png',
      'train/good/._a.png',
      'train/good/sub/deep.png',
      'test/good/002.png',
      'test/good/001.png',
      'test/scratch/001.png',
      'test/scratch/000.PNG',
      'test/dent/007.jpg',
      'test/empty_defect/readme.md',
      'test/.cache/001.png',
      'test/stray.png',
      'ground_truth/scratch/001_mask.png',
      'ground_truth/dent/007.png',
      'ground_truth/scratch/unrelated_mask.png',
    ]);
    const ds = readMvtecFolder(root);
    expect(ds.root).toBe(path.resolve(root));
    expect(ds.train).toEqual(['B.JPG', 'a.png', 'c.bmp', 'd.jpeg'].map((f) => path.join(root, 'train', 'good', f)));
    expect(ds.defectTypes).toEqual(['dent', 'scratch']);
    expect(ds.test).toEqual([
      { path: path.join(root, 'test/good/001.png'), defect: 'good', label: 0 },
      { path: path.join(root, 'test/good/002.png'), defect: 'good', label: 0 },
      { path: path.join(root, 'test/dent/007.jpg'), defect: 'dent', label: 1, maskPath: path.join(root, 'ground_truth/dent/007.png') },
      { path: path.join(root, 'test/scratch/000.PNG'), defect: 'scratch', label: 1 },
      { path: path.join(root, 'test/scratch/001.png'), defect: 'scratch', label: 1, maskPath: path.join(root, 'ground_truth/scratch/001_mask.png') },
    ]);
  });

  it('prefers <stem>_mask.png over <stem>.png when both exist', () => {
    const root = tree(['train/good/a.png', 'test/good/g.png', 'test/cut/x.jpg', 'ground_truth/cut/x.png', 'ground_truth/cut/x_mask.png']);
    expect(readMvtecFolder(root).test[1].maskPath).toBe(path.join(root, 'ground_truth/cut/x_mask.png'));
  });

  it('works without ground_truth and with only good test images', () => {
    const ds = readMvtecFolder(tree(['train/good/a.png', 'test/good/g.png']));
    expect(ds.defectTypes).toEqual([]);
    expect(ds.test.map((t) => [t.label, t.maskPath])).toEqual([[0, undefined]]);
  });

  it('leaves out optional parts that are absent', () => {
    expect(readMvtecFolder(tree(['train/good/a.png']), { requireTest: false }).test).toEqual([]);
    const testOnly = readMvtecFolder(tree(['test/good/g.png', 'test/bad/b.png']), { requireTrain: false });
    expect(testOnly.train).toEqual([]);
    expect(testOnly.test.map((t) => t.label)).toEqual([0, 1]);
  });

  it('refuses a missing folder or a file in its place', () => {
    const missing = path.join(os.tmpdir(), 'no-such-mvtec-folder-' + process.pid);
    expect(datasetError(() => readMvtecFolder(missing))).toBe(`dataset folder not found: ${missing}`);
    const root = tree(['file.txt']);
    expect(datasetError(() => readMvtecFolder(path.join(root, 'file.txt')))).toMatch(/is a file, not a folder/);
  });

  it('refuses a folder without train/good, explaining the layout', () => {
    const root = tree(['good/a.png', 'test/good/g.png']);
    expect(datasetError(() => readMvtecFolder(root))).toBe(`${root} ${LAYOUT_HINT}`);
    expect(datasetError(() => readMvtecFolder(tree(['train/a.png', 'test/good/g.png'])))).toContain(LAYOUT_HINT);
  });

  it('refuses an empty train/good where train is required', () => {
    const root = tree(['train/good/notes.txt', 'train/good/.x.png', 'test/good/g.png']);
    expect(datasetError(() => readMvtecFolder(root))).toBe(`${path.join(root, 'train', 'good')} has no images (.jpg, .jpeg, .png or .bmp)`);
  });

  it('does not let an unusable optional part block the required one', () => {
    const emptyTrain = readMvtecFolder(tree(['train/good/notes.txt', 'test/good/g.png']), { requireTrain: false });
    expect([emptyTrain.train, emptyTrain.test.length]).toEqual([[], 1]);
    const badTest = readMvtecFolder(tree(['train/good/a.png', 'test/scratch/s.png']), { requireTest: false });
    expect([badTest.train.length, badTest.test, badTest.defectTypes]).toEqual([1, [], []]);
  });

  it('refuses test without good, test/good without images, and a missing required test', () => {
    expect(datasetError(() => readMvtecFolder(tree(['train/good/a.png', 'test/scratch/s.png'])))).toMatch(/test has no good folder: expected the MVTec AD layout/);
    const emptyGood = tree(['train/good/a.png', 'test/good/', 'test/scratch/s.png']);
    expect(datasetError(() => readMvtecFolder(emptyGood))).toBe(`${path.join(emptyGood, 'test', 'good')} has no images (.jpg, .jpeg, .png or .bmp)`);
    const noTest = tree(['train/good/a.png']);
    expect(datasetError(() => readMvtecFolder(noTest))).toBe(`${noTest} has no test folder: expected the MVTec AD layout DIR/train/good, DIR/test/good, DIR/test/<defect>`);
  });
});

describe('loadMask', () => {
  it('returns 1 where the first channel is bright, 0 elsewhere', () => {
    const root = tree([]);
    const p = path.join(root, 'm.png');
    const grey = [0, 255, 200, 100, 127, 128];
    writeFileSync(p, encodePng({ width: 3, height: 2, data: new Uint8Array(grey.flatMap((v) => [v, 0, 0, 255])) }));
    expect(Array.from(loadMask(p, 3, 2))).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('refuses a mask whose size differs from the image, and unreadable masks', () => {
    const root = tree(['text_mask.png']);
    const p = path.join(root, 'm.png');
    writeFileSync(p, encodePng({ width: 3, height: 2, data: new Uint8Array(24) }));
    expect(datasetError(() => loadMask(p, 2, 3))).toBe(`mask ${p} is 3 x 2 but its image is 2 x 3`);
    expect(datasetError(() => loadMask(path.join(root, 'gone.png'), 1, 1))).toMatch(/^cannot read mask .*gone\.png: ENOENT$/);
    expect(() => loadMask(path.join(root, 'text_mask.png'), 1, 1)).toThrow(ImageDecodeError);
  });
});

describe('the real MTD folder', () => {
  const root = sharedPath('datasets', 'mtd');

  it('has the paper split: 761 train, 191 good + 392 defective test, 5 defect types, 392 masks', () => {
    const ds = readMvtecFolder(root);
    expect(ds.train.length).toBe(761);
    expect(ds.defectTypes).toEqual(['blowhole', 'break', 'crack', 'fray', 'uneven']);
    const good = ds.test.filter((t) => t.label === 0);
    const bad = ds.test.filter((t) => t.label === 1);
    expect(good.length).toBe(191);
    expect(bad.length).toBe(392);
    expect(good.every((t) => t.defect === 'good' && t.maskPath === undefined)).toBe(true);
    expect(bad.every((t) => t.maskPath !== undefined)).toBe(true);
    const perDefect = Object.fromEntries(ds.defectTypes.map((d) => [d, bad.filter((t) => t.defect === d).length]));
    expect(perDefect).toEqual({ blowhole: 115, break: 85, crack: 57, fray: 32, uneven: 103 });
    expect(new Set([...ds.train, ...ds.test.map((t) => t.path)]).size).toBe(761 + 583);
    expect(readMvtecFolder(root)).toEqual(ds);
  });

  it('every mask decodes at its image size; all but the 4 known-empty ones mark defect pixels', () => {
    const ds = readMvtecFolder(root);
    const empty: string[] = [];
    for (const t of ds.test.filter((x) => x.maskPath)) {
      const img = decodeImage(new Uint8Array(readFileSync(t.path)), t.path);
      const mask = loadMask(t.maskPath!, img.width, img.height);
      if (!mask.some((v) => v === 1)) empty.push(path.basename(t.path, '.jpg'));
    }
    expect(empty.sort()).toEqual(['exp3_num_45042', 'exp4_num_124690', 'exp4_num_352527', 'exp4_num_45057']);
  });
});
