import { describe, expect, it } from 'vitest';
import type { EvalItem } from '../../stores/evaluate';
import { neighbour, outcomeOf, sortedItems, worstFalseAlarms, worstMisses } from './diagnosis';

const item = (id: string, label: 0 | 1, score?: number, category = label ? 'crack' : 'good'): EvalItem => ({ id, name: `${id}.png`, blob: new Blob(), url: '', label, category, score });
const items = [item('g1', 0, 1), item('g2', 0, 5), item('g3', 0, 9), item('d1', 1, 2), item('d2', 1, 8), item('d3', 1, 3, 'fray'), item('u', 1)];

describe('Evaluate diagnosis', () => {
  it('judges each item against its label at the threshold', () => {
    expect(items.map((i) => outcomeOf(i, 4)?.outcome ?? null)).toEqual(['true-ok', 'false-alarm', 'false-alarm', 'miss', 'true-defect', 'miss', null]);
    expect(outcomeOf(items[0], null)).toBeNull();
  });

  it('lists the worst false alarms (highest first) and the worst misses (lowest first)', () => {
    expect(worstFalseAlarms(items, 4).map((i) => i.id)).toEqual(['g3', 'g2']);
    expect(worstMisses(items, 4).map((i) => i.id)).toEqual(['d1', 'd3']);
    expect(worstFalseAlarms(items, 4, 1).map((i) => i.id)).toEqual(['g3']);
    expect(worstMisses(items, null)).toEqual([]);
  });

  it('sorts by score with unscored items last, by label, by name, and keeps the order otherwise', () => {
    expect(sortedItems(items, { key: 'score', desc: true }).map((i) => i.id)).toEqual(['g3', 'd2', 'g2', 'd3', 'd1', 'g1', 'u']);
    expect(sortedItems(items, { key: 'label', desc: false }).map((i) => i.id)).toEqual(['g1', 'g2', 'g3', 'u', 'd1', 'd2', 'd3']);
    expect(sortedItems(items, { key: 'order', desc: false })).toBe(items);
    expect(sortedItems([item('a10', 0), item('a9', 0)], { key: 'name', desc: false }).map((i) => i.id)).toEqual(['a9', 'a10']);
  });

  it('steps to the next and previous item, wrapping around', () => {
    expect(neighbour(items, 'g1', 1)).toBe('g2');
    expect(neighbour(items, 'g1', -1)).toBe('u');
    expect(neighbour(items, 'u', 1)).toBe('g1');
    expect(neighbour(items, 'nope', 1)).toBeNull();
  });
});
