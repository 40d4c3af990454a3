import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readShared } from '../../../test/support/shared';
import { PthError } from './errors';
import { readPth } from './index';
import { f32, stateDictPickle, toZip64, zipPth } from '../../../test/support/torchBuilders';
import { openZip } from './zip';

const W = [{ name: 'w', storage: '0', numel: 4, shape: [2, 2] }];

describe('zip reader', () => {
  it('reads ZIP64 archives (64-bit sizes and offsets in extra fields and the ZIP64 end record)', () => {
    for (const level of [0, 6] as const) {
      const zip64 = toZip64(zipPth(stateDictPickle(W), { 0: f32([1, 2, 3, 4]) }, { level }));
      expect([...readPth(zip64).get('w')!.data]).toEqual([1, 2, 3, 4]);
    }
  });

  it('reads torch-written archives: data descriptors, alignment padding, ZIP64 end record', () => {
    const zip = openZip(readShared('reference', 'alexnet-features-random.zip.pth'));
    expect(zip.names[0]).toBe('alexnet-features-random.zip/data.pkl');
    const e = zip.entries.get('alexnet-features-random.zip/data/0')!;
    expect(e.flags & 8).toBe(8);
    expect(zip.read(e).length).toBe(64 * 3 * 11 * 11 * 4);
    // Storages are views into the file, not copies.
    expect(zip.read(e).byteOffset % 64).toBe(0);
  });

  it('refuses duplicate names, encryption and unknown compression methods', () => {
    const zip = zipSync({ a: new Uint8Array([1]), b: new Uint8Array([2]) }, { level: 0 });
    // Rename 'b' to 'a' in both headers.
    const dup = zip.slice();
    for (let i = 0; i < dup.length; i++) if (dup[i] === 0x62 && (dup[i - 30] === 0x50 || dup[i - 46] === 0x50)) dup[i] = 0x61;
    expect(() => openZip(dup)).toThrow(/duplicate entry 'a'/);

    const flagged = (offsetInLocal: number, offsetInCentral: number, value: number) => {
      const z = zip.slice();
      const v = new DataView(z.buffer);
      for (let i = 0; i + 4 <= z.length; i++) {
        const sig = v.getUint32(i, true);
        if (sig === 0x04034b50) v.setUint16(i + offsetInLocal, value, true);
        if (sig === 0x02014b50) v.setUint16(i + offsetInCentral, value, true);
      }
      return openZip(z);
    };
    const enc = flagged(6, 8, 1);
    expect(() => enc.read(enc.entries.get('a')!)).toThrow(/encrypted/);
    const lzma = flagged(8, 10, 14);
    expect(() => lzma.read(lzma.entries.get('a')!)).toThrow(/unsupported compression method 14/);
  });

  it('refuses a central directory that claims more entries than fit', () => {
    const zip = zipSync({ a: new Uint8Array([1]) }, { level: 0 });
    const v = new DataView(zip.buffer);
    v.setUint16(zip.length - 22 + 10, 500, true);
    expect(() => openZip(zip)).toThrow(PthError);
    expect(() => openZip(zip)).toThrow(/500 entries cannot fit/);
  });
});
