import { describe, expect, it } from 'vitest';
import { trainingChange } from './versions';

const img = (id: string, addedAt: number, origin?: 'correction') => ({ id, addedAt, origin });

describe('trainingChange', () => {
  it('names a first training, and what is new since the version it replaces', () => {
    expect(trainingChange([img('a', 1), img('b', 2)], undefined, 0)).toBe('first training on 2 good images');
    const v1 = { trainedOn: ['a'], heldOut: ['b'], createdAt: new Date(5).toISOString() };
    expect(trainingChange([img('a', 1), img('b', 2), img('c', 9, 'correction'), img('d', 9)], v1, 1)).toBe('retrained on 4 good images: 2 new since v1, 1 of them marked good after a false alarm');
    expect(trainingChange([img('a', 1), img('b', 2)], v1, 1)).toBe('retrained on the same 2 good images as v1');
  });

  it('falls back on dates for a version saved before its images were recorded, and on a plain sentence without it', () => {
    const legacy = { trainedOn: null, heldOut: null, createdAt: new Date(5).toISOString() };
    expect(trainingChange([img('a', 1), img('c', 9, 'correction')], legacy, 3)).toBe('retrained on 2 good images: 1 new since v3, 1 of them marked good after a false alarm');
    expect(trainingChange([img('a', 1)], undefined, 3)).toBe('retrained on 1 good image');
  });
});
