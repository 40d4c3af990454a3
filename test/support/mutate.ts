// The byte mutations both hostile-file readers (PyTorch's pickle and zip, Caffe's protobuf) are fuzzed with.
import { concat } from './torchBuilders';

/** One random mutation: flips, overwrites with boundary values, cuts, splices, duplicated or deleted ranges. */
export function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const b = src.slice();
  switch (pick(6)) {
    case 0:
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] ^= 1 << pick(8);
      return b;
    case 1:
      for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)] = [0, 0xff, 0x7f, 0x80][pick(4)];
      return b;
    case 2:
      return b.subarray(0, pick(b.length));
    case 3: {
      const at = pick(b.length);
      const len = pick(64);
      return concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 4: {
      const at = pick(b.length);
      const from = pick(b.length);
      return concat([b.subarray(0, at), b.subarray(from, from + pick(256)), b.subarray(at)]);
    }
    default: {
      // Integers in headers are where parsers go wrong: write a random 32-bit value at a random place.
      const at = pick(Math.max(1, b.length - 4));
      new DataView(b.buffer, b.byteOffset).setUint32(at, (rand() * 2 ** 32) >>> 0, true);
      return b;
    }
  }
}
