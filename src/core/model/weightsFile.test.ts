import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import type { StateDict } from '../torch/types';
import { decodeWeightsFile, encodeWeightsFile, isWeightsFile, WeightsFileError } from './weightsFile';

const sd: StateDict = new Map([
  ['features.0.weight', { shape: [4, 3, 3, 3], data: Float32Array.from({ length: 108 }, (_, i) => i / 7) }],
  ['features.0.bias', { shape: [4], data: Float32Array.of(1, 2, 3, 4) }],
]);

describe('weights file (the shared tensor archive)', () => {
  it('round-trips through the hardened zip reader', () => {
    const bytes = encodeWeightsFile('squeezenet1_1', 'h', 'x.pth', sd);
    expect(isWeightsFile(bytes)).toBe(true);
    const { manifest, stateDict } = decodeWeightsFile(bytes);
    expect(manifest.id).toBe('squeezenet1_1');
    expect(Array.from(stateDict.get('features.0.bias')!.data)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a zip whose entry claims far more bytes than it holds, before inflating it', () => {
    const bytes = zipSync({ 'manifest.json': new Uint8Array(10), 'tensors.bin': [new Uint8Array(1 << 20), { level: 9 }] });
    // Local and central headers of tensors.bin: raise the declared uncompressed size to 4 GB - 1.
    const view = new DataView(bytes.buffer);
    for (let i = 0; i + 4 <= bytes.length; i++) {
      const sig = view.getUint32(i, true);
      if (sig === 0x04034b50 && view.getUint16(i + 26, true) === 11) view.setUint32(i + 22, 0xffffffff, true);
      if (sig === 0x02014b50 && view.getUint16(i + 28, true) === 11) view.setUint32(i + 24, 0xffffffff, true);
    }
    expect(() => decodeWeightsFile(bytes)).toThrow(WeightsFileError);
    expect(isWeightsFile(bytes)).toBe(false);
  });

  it('refuses a manifest that names an unknown backbone or tensors outside the data', () => {
    const edit = (patch: object) => {
      const good = encodeWeightsFile('alexnet', 'h', 's', sd);
      const { manifest } = decodeWeightsFile(good);
      return zipSync({ 'manifest.json': new TextEncoder().encode(JSON.stringify({ ...manifest, checksum: undefined, ...patch })), 'tensors.bin': new Uint8Array(new Float32Array(112).buffer) });
    };
    expect(() => decodeWeightsFile(edit({ id: 'resnet' }))).toThrow(/no known backbone/);
    expect(() => decodeWeightsFile(edit({ tensors: [{ name: 'a', shape: [1000], offset: 0 }] }))).toThrow(/outside tensors.bin/);
    expect(() => decodeWeightsFile(edit({ tensors: [{ name: 'a', shape: [-1], offset: 0 }] }))).toThrow(/invalid tensor entry/);
  });

  it('mutated weights files decode or give a WeightsFileError, never anything else', () => {
    const file = encodeWeightsFile('squeezenet1_1', 'h', 'x.pth', sd);
    const rand = seededRandom(5);
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      const b = file.slice();
      const pick = (n: number) => Math.floor(rand() * n);
      if (rand() < 0.3) {
        const cut = b.subarray(0, pick(b.length));
        try {
          decodeWeightsFile(cut);
        } catch (e) {
          expect(e, `cut case ${i}`).toBeInstanceOf(WeightsFileError);
          refused++;
        }
        continue;
      }
      for (let k = 0, n = 1 + pick(6); k < n; k++) b[pick(b.length)] ^= 1 << pick(8);
      try {
        decodeWeightsFile(b);
      } catch (e) {
        expect(e, `flip case ${i}: ${(e as Error).message}`).toBeInstanceOf(WeightsFileError);
        refused++;
      }
    }
    // Most mutations hit the checksum, the zip structure or the JSON; a few land in unused header bytes.
    expect(refused).toBeGreaterThan(800);
  });
});
