import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';
import { softwareWebGl } from './backend';
import { legendLabels } from './overlay';
import { parseMvtec } from './mvtec';
import type { PickedFile } from './files';
import { readScoredRegion, withScoredRegion } from './snapshotMeta';

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

describe('toCsv', () => {
  it('quotes fields with commas, quotes and newlines, and leaves non-finite numbers empty', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1.5, NaN], ['line\nbreak', null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n1.5,\r\n"line\nbreak",\r\n');
  });
});

describe('formatSeconds', () => {
  it('rounds seconds into minutes instead of showing 60 s', async () => {
    const { formatSeconds } = await import('./format');
    expect(formatSeconds(299.6)).toBe('5 min 0 s');
    expect(formatSeconds(59.4)).toBe('1 min 0 s');
    expect(formatSeconds(12.2)).toBe('13 s');
    expect(formatSeconds(61)).toBe('1 min 1 s');
    expect(formatSeconds(3 * 3600 + 125)).toBe('3 h 2 min');
    expect(formatSeconds(undefined)).toBe('…');
  });
});

describe('formatBytes', () => {
  it('uses one rule for every size: binary units, three significant digits', async () => {
    const { formatBytes } = await import('./format');
    expect([512, 1536, 128 * 1024, 7.04 * 1024 ** 2, 250 * 1024 ** 2, 2.5 * 1024 ** 3].map(formatBytes)).toEqual(['512 B', '1.5 KB', '128 KB', '7.04 MB', '250 MB', '2.5 GB']);
  });
});

describe('Live snapshot metadata', () => {
  // A 1 x 1 PNG: signature, IHDR, IDAT, IEND.
  const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='), (c) => c.charCodeAt(0));

  it('names the scored region inside the PNG, and reads it back', () => {
    const tagged = withScoredRegion(png, { x: 80, y: 0, width: 480, height: 480 });
    expect(readScoredRegion(tagged)).toEqual({ x: 80, y: 0, width: 480, height: 480 });
    // Still a PNG with every original chunk after the new one.
    expect(tagged.subarray(tagged.length - png.length + 33)).toEqual(png.subarray(33));
  });

  it('finds nothing in other images, and refuses a damaged chunk', () => {
    expect(readScoredRegion(png)).toBeNull();
    expect(readScoredRegion(new Uint8Array([1, 2, 3]))).toBeNull();
    const tagged = withScoredRegion(png, { x: 1, y: 2, width: 3, height: 4 });
    tagged[45] ^= 1;
    expect(readScoredRegion(tagged)).toBeNull();
  });
});

describe('legendLabels', () => {
  const overlaps = (widths: [number, number, number], ls: ReturnType<typeof legendLabels>) => {
    const spans = ls.map((l, i) => {
      const left = l.align === 'left' ? l.x : l.align === 'right' ? l.x - widths[i] : l.x - widths[i] / 2;
      return { left, right: left + widths[i], line: l.line };
    });
    return spans.some((a, i) => spans.some((b, j) => i < j && a.line === b.line && a.left < b.right && b.left < a.right));
  };

  it('keeps the three marks on one line when they fit', () => {
    const ls = legendLabels([80, 90, 60], 10, 360, 8);
    expect(ls.map((l) => l.line)).toEqual([0, 0, 0]);
    expect(ls.map((l) => l.align)).toEqual(['left', 'center', 'right']);
  });

  it('never prints two marks over each other, however long the texts (the zip legend bug)', () => {
    for (const widths of [
      [170, 200, 110],
      [150, 150, 150],
      [300, 40, 300],
      [400, 400, 400],
    ] as [number, number, number][]) {
      const ls = legendLabels(widths, 28, 360, 22);
      expect(overlaps(widths, ls), `widths ${widths}`).toBe(false);
      // The start and middle marks never begin left of the bar.
      for (const [i, l] of ls.entries()) if (l.align !== 'right') expect(l.align === 'center' ? l.x - widths[i] / 2 : l.x).toBeGreaterThanOrEqual(28);
    }
    // The one-line layout would overlap for these: the check above is not vacuous.
    expect(legendLabels([170, 200, 110], 28, 360, 22)[1].line).toBe(1);
  });
});

describe('softwareWebGl', () => {
  it('tells an emulated GPU under WebGL from a real one', () => {
    expect(softwareWebGl({ name: 'webgl', adapter: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)' })).toBe(true);
    expect(softwareWebGl({ name: 'webgl', adapter: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(softwareWebGl({ name: 'webgl', adapter: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)' })).toBe(false);
    // The WASM label never counts, whatever it says.
    expect(softwareWebGl({ name: 'wasm', adapter: 'WASM SIMD, 2 threads' })).toBe(false);
    expect(softwareWebGl(null)).toBe(false);
  });
});

describe('formatDateTime', () => {
  it('writes local time to the second, the same from a number, an ISO string or a Date', async () => {
    const { formatDateTime } = await import('./format');
    const d = new Date(2026, 11, 2, 4, 56, 32, 397);
    expect(formatDateTime(d.getTime())).toBe('2026-12-02 04:56:32');
    expect(formatDateTime(d.toISOString())).toBe('2026-12-02 04:56:32');
    expect(formatDateTime(d)).toBe('2026-12-02 04:56:32');
    // Not a date: shown as it came, not "Invalid Date" or "NaN-NaN".
    expect(formatDateTime('yesterday-ish')).toBe('yesterday-ish');
  });
});
