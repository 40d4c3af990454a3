import { describe, expect, it } from 'vitest';
import { readBlob } from './jobs';

describe('readBlob', () => {
  it('reads every byte in order, reporting progress up to the total', async () => {
    const bytes = Uint8Array.from({ length: 5_000_003 }, (_, i) => (i * 31) % 251);
    const seen: number[] = [];
    const out = await readBlob(new Blob([bytes.subarray(0, 1000), bytes.subarray(1000)]), (done) => seen.push(done));
    expect(out.length).toBe(bytes.length);
    expect(out.every((b, i) => b === bytes[i])).toBe(true);
    expect(seen[seen.length - 1]).toBe(bytes.length);
  });

  it('stops with a cancellation when its signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readBlob(new Blob([new Uint8Array(10)]), () => {}, ac.signal)).rejects.toThrow(/cancel/i);
  });
});
