import { describe, expect, it } from 'vitest';
import { readShared } from '../../../test/support/shared';
import { readPth, type StateDict } from './index';
import { f32, legacyPth, stateDictPickle } from '../../../test/support/torchBuilders';

const ALEXNET_SHAPES: Record<string, number[]> = {
  'features.0.weight': [64, 3, 11, 11],
  'features.0.bias': [64],
  'features.3.weight': [192, 64, 5, 5],
  'features.3.bias': [192],
  'features.6.weight': [384, 192, 3, 3],
  'features.6.bias': [384],
  'features.8.weight': [256, 384, 3, 3],
  'features.8.bias': [256],
  'features.10.weight': [256, 256, 3, 3],
  'features.10.bias': [256],
};

function shapes(sd: StateDict): Record<string, number[]> {
  return Object.fromEntries([...sd].map(([k, t]) => [k, t.shape]));
}

function expectConsistent(sd: StateDict): void {
  for (const [k, t] of sd) {
    expect(t.data, k).toBeInstanceOf(Float32Array);
    expect(t.data.length, k).toBe(t.shape.reduce((a, b) => a * b, 1));
  }
}

/** Bitwise comparison; vitest's deep equality is far too slow for millions of elements. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectBitIdentical(a: StateDict, b: StateDict, prefix = ''): void {
  expect([...a.keys()].map((k) => prefix + k)).toEqual([...b.keys()].filter((k) => k.startsWith(prefix) && a.has(k.slice(prefix.length))));
  for (const [k, t] of a) {
    const u = b.get(prefix + k)!;
    expect(u.shape, k).toEqual(t.shape);
    expect(sameBits(t.data, u.data), k).toBe(true);
  }
}

describe('readPth on real files', () => {
  it('reads the random AlexNet features in the legacy and zip formats, bit-identically', () => {
    const legacy = readPth(readShared('reference', 'alexnet-features-random.legacy.pth'));
    const zip = readPth(readShared('reference', 'alexnet-features-random.zip.pth'));
    expect(shapes(legacy)).toEqual(ALEXNET_SHAPES);
    expect([...legacy.keys()]).toEqual(Object.keys(ALEXNET_SHAPES));
    expectConsistent(legacy);
    expectBitIdentical(legacy, zip);
    // Values read independently from the raw zip entry with Python's struct module.
    const b = zip.get('features.10.bias')!.data;
    expect([b[0], b[1], b[2], b[255]]).toEqual([0.009958697482943535, 0.006317391991615295, -0.013168099336326122, -0.011308575980365276]);
  });

  it('reads the SqueezeNet 1.1 ImageNet weights (zip) and skips the classifier on request', () => {
    const bytes = readShared('weights', 'squeezenet1_1-imagenet.pth');
    const all = readPth(bytes);
    const keys = [...all.keys()];
    expect(keys.every((k) => k.startsWith('features.') || k.startsWith('classifier.1.'))).toBe(true);
    expect(all.get('features.0.weight')!.shape).toEqual([64, 3, 3, 3]);
    expect(all.get('features.0.bias')!.shape).toEqual([64]);
    expect(all.get('features.3.squeeze.weight')!.shape).toEqual([16, 64, 1, 1]);
    expect(all.get('features.3.expand3x3.weight')!.shape).toEqual([64, 16, 3, 3]);
    expect(all.get('classifier.1.weight')!.shape).toEqual([1000, 512, 1, 1]);
    expect(all.get('classifier.1.bias')!.shape).toEqual([1000]);
    expectConsistent(all);
    const w = all.get('features.0.weight')!.data;
    expect([w[0], w[1], w[2], w[3], w[1727]]).toEqual([18.37594223022461, 25.102540969848633, Math.fround(18.30030823), -9.061090469360352, 4.202765464782715]);

    const seen: string[] = [];
    const features = readPth(bytes, {
      include: (k) => {
        seen.push(k);
        return !k.startsWith('classifier.');
      },
    });
    expect(seen).toEqual(keys);
    expect([...features.keys()]).toEqual(keys.filter((k) => !k.startsWith('classifier.')));
    for (const [k, t] of features) expect(sameBits(t.data, all.get(k)!.data), k).toBe(true);
  });

  it('reads the DifferNet reference checkpoint: backbone and flow tensors', () => {
    const sd = readPth(readShared('reference', 'differnet-reference-small.pth'));
    expectConsistent(sd);
    expect(sd.get('feature_extractor.features.0.weight')!.shape).toEqual([64, 3, 11, 11]);
    for (let n = 2; n <= 16; n += 2) {
      for (const s of ['s1', 's2']) {
        for (const fc of ['fc1', 'fc2', 'fc2b', 'fc3']) {
          expect(sd.has(`nf.module_list.${n}.${s}.${fc}.weight`), `${n}.${s}.${fc}`).toBe(true);
          expect(sd.has(`nf.module_list.${n}.${s}.${fc}.bias`), `${n}.${s}.${fc}`).toBe(true);
        }
      }
    }
    const fc3 = sd.get('nf.module_list.16.s2.fc3.weight')!;
    expect(fc3.shape).toEqual([768, 64]);
    expect([fc3.data[0], fc3.data[49151]]).toEqual([-0.1475428193807602, 0.25119826197624207]);
    // int64 buffers come back as float32 scalars.
    expect(sd.get('nf.module_list.2.s1.bn.num_batches_tracked')).toEqual({ shape: [], data: new Float32Array([0]) });
    // The backbone inside is the same random AlexNet as the reference files.
    const alex = readPth(readShared('reference', 'alexnet-features-random.zip.pth'));
    expectBitIdentical(alex, sd, 'feature_extractor.');
  });

  it('reports monotonic progress ending at 1', () => {
    for (const file of ['alexnet-features-random.legacy.pth', 'alexnet-features-random.zip.pth']) {
      const seen: number[] = [];
      readPth(readShared('reference', file), { onProgress: (f) => seen.push(f) });
      expect(seen[0]).toBe(0);
      expect(seen[seen.length - 1]).toBe(1);
      expect(seen.length).toBeGreaterThan(5);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    }
  });

  it('passes exceptions thrown by callbacks through unchanged (e.g. cancellation)', () => {
    class Cancelled extends Error {}
    const bytes = readShared('reference', 'alexnet-features-random.zip.pth');
    expect(() => readPth(bytes, { onProgress: (f) => { if (f > 0.5) throw new Cancelled('stop'); } })).toThrow(Cancelled);
    expect(() => readPth(bytes, { include: () => { throw new Cancelled('stop'); } })).toThrow(Cancelled);
  });

  it('accepts a Node Buffer, including a small one at an offset inside its pool', () => {
    const bytes = readShared('reference', 'alexnet-features-random.legacy.pth');
    const expected = readPth(bytes);
    expectBitIdentical(expected, readPth(Buffer.from(bytes)));
    // Small Buffers share Node's pool, so their byteOffset is not 0 and slice() would not copy.
    const file = legacyPth(stateDictPickle([{ name: 'w', storage: '0', numel: 3, shape: [3] }], { legacy: true }), [['0', 3, f32([1, 2, 3])]]);
    const pooled = Buffer.from(file);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect([...readPth(pooled).get('w')!.data]).toEqual([1, 2, 3]);
  });

  it('returns tensors that do not alias the input bytes', () => {
    const bytes = readShared('reference', 'alexnet-features-random.zip.pth');
    const sd = readPth(bytes);
    const before = sd.get('features.0.bias')!.data[0];
    bytes.fill(0);
    expect(sd.get('features.0.bias')!.data[0]).toBe(before);
  });
});
