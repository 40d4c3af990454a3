import { describe, expect, it } from 'vitest';
import { countsAt, histogram } from './confusion';
import { toCsv } from './csv';
import { parseMvtec } from './mvtec';
import type { PickedFile } from './files';

const file = (path: string): PickedFile => ({ path, file: new File([new Uint8Array(1)], path.split('/').pop()!, { type: path.endsWith('.txt') ? 'text/plain' : 'image/png' }) });

describe('parseMvtec', () => {
  it('labels test images by folder and pairs defects with their masks', () => {
    const r = parseMvtec(
      ['mtd/train/good/a.png', 'mtd/test/good/b.png', 'mtd/test/crack/c.jpg', 'mtd/test/crack/d.jpg', 'mtd/ground_truth/crack/c_mask.png', 'mtd/readme.txt'].map(file),
    );
    expect(r.items.map((i) => [i.path, i.label, i.category, i.mask?.name ?? null])).toEqual([
      ['mtd/test/good/b.png', 0, 'good', null],
      ['mtd/test/crack/c.jpg', 1, 'crack', 'c_mask.png'],
      ['mtd/test/crack/d.jpg', 1, 'crack', null],
    ]);
    expect(r.ignored).toBe(2);
  });

  it('finds nothing in a flat folder', () => {
    expect(parseMvtec(['x.png', 'y.png'].map(file)).items).toEqual([]);
  });
});

describe('countsAt / histogram', () => {
  it('flags scores at or above the threshold and skips unscored items', () => {
    expect(countsAt([1, 2, 3, 4, NaN], [0, 0, 1, 1, 1], 3)).toEqual({ tp: 2, fp: 0, tn: 2, fn: 0 });
    expect(countsAt([1, 2, 3, 4], [0, 1, 0, 1], 2)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
  });

  it('puts every score in exactly one shared bin', () => {
    const bins = histogram([0, 1, 2, 3, 10], [0, 0, 1, 1, 1], 5);
    expect(bins.reduce((n, b) => n + b.good + b.defect, 0)).toBe(5);
    expect(bins[4]).toMatchObject({ defect: 1, good: 0 });
    expect(bins[0].x0).toBe(0);
    expect(bins[4].x1).toBe(10);
  });
});

describe('toCsv', () => {
  it('quotes fields with commas, quotes and newlines, and leaves non-finite numbers empty', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1.5, NaN], ['line\nbreak', null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n1.5,\r\n"line\nbreak",\r\n');
  });
});
