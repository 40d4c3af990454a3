import { describe, expect, it } from 'vitest';
import { downsampleMap } from './decode';
import { decodeWeightsFile, encodeWeightsFile, isWeightsFile, WeightsFileError } from '../core/model/weightsFile';

describe('downsampleMap', () => {
  it('keeps small maps and area-averages large ones, preserving the mean', () => {
    const small = new Float32Array(4).fill(2);
    expect(downsampleMap(small, 2, 2).map).toBe(small);
    const w = 600;
    const h = 300;
    const map = new Float32Array(w * h);
    for (let i = 0; i < map.length; i++) map[i] = (i % w) / w;
    const r = downsampleMap(map, w, h, 200);
    expect([r.width, r.height]).toEqual([200, 100]);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(r.map)).toBeCloseTo(mean(map), 5);
    const tall = downsampleMap(new Float32Array(100 * 1000), 100, 1000, 256);
    expect([tall.width, tall.height]).toEqual([26, 256]);
  });
});

describe('weights file', () => {
  const sd = new Map([
    ['features.0.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['features.0.bias', { shape: [2], data: Float32Array.from([-1, 1]) }],
  ]);

  it('round-trips tensors, names and shapes', () => {
    const bytes = encodeWeightsFile('squeezenet1_1', 'abc', 'x.pth', sd);
    expect(isWeightsFile(bytes)).toBe(true);
    const { manifest, stateDict } = decodeWeightsFile(bytes);
    expect(manifest).toMatchObject({ id: 'squeezenet1_1', hash: 'abc', source: 'x.pth' });
    expect([...stateDict.keys()]).toEqual(['features.0.weight', 'features.0.bias']);
    expect(Array.from(stateDict.get('features.0.weight')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stateDict.get('features.0.bias')!.shape).toEqual([2]);
  });

  it('tells PyTorch files and damaged files apart', () => {
    expect(isWeightsFile(new Uint8Array([0x80, 0x02, 0x8a]))).toBe(false);
    const bytes = encodeWeightsFile('alexnet', 'h', 's', sd);
    expect(() => decodeWeightsFile(bytes.subarray(0, bytes.length - 30))).toThrow(WeightsFileError);
  });
});
