// What the Evaluate screen derives from the scored items at the current threshold: table order, the
// worst mistakes, and the verdict of one item. Pure, so it is unit-tested without a browser.
import type { EvalItem, EvalSortKey } from '../../stores/evaluate';

const finite = (it: EvalItem) => it.score !== undefined && Number.isFinite(it.score);

/** Items in the table's order; unscored items sort below every score. */
export function sortedItems(items: EvalItem[], sort: { key: EvalSortKey; desc: boolean }): EvalItem[] {
  if (sort.key === 'order') return sort.desc ? [...items].reverse() : items;
  const score = (it: EvalItem) => (finite(it) ? it.score! : -Infinity);
  const cmp: Record<Exclude<EvalSortKey, 'order'>, (a: EvalItem, b: EvalItem) => number> = {
    name: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }),
    label: (a, b) => a.label - b.label || a.category.localeCompare(b.category) || score(a) - score(b),
    score: (a, b) => score(a) - score(b),
  };
  const out = [...items].sort(cmp[sort.key]);
  return sort.desc ? out.reverse() : out;
}

export type Outcome = 'true-defect' | 'false-alarm' | 'miss' | 'true-ok';

/** How the threshold judges the item against its label; null before scoring or without a threshold. */
export function outcomeOf(it: EvalItem, threshold: number | null): { flagged: boolean; outcome: Outcome } | null {
  if (threshold === null || !finite(it)) return null;
  const flagged = it.score! >= threshold;
  const outcome: Outcome = it.label === 1 ? (flagged ? 'true-defect' : 'miss') : flagged ? 'false-alarm' : 'true-ok';
  return { flagged, outcome };
}

/** Good images flagged at the threshold, highest score first: the false alarms hardest to explain. */
export function worstFalseAlarms(items: EvalItem[], threshold: number | null, n = 6): EvalItem[] {
  if (threshold === null) return [];
  return items.filter((it) => it.label === 0 && finite(it) && it.score! >= threshold).sort((a, b) => b.score! - a.score!).slice(0, n);
}

/** Defective images passed at the threshold, lowest score first: the defects the model sees least. */
export function worstMisses(items: EvalItem[], threshold: number | null, n = 6): EvalItem[] {
  if (threshold === null) return [];
  return items.filter((it) => it.label === 1 && finite(it) && it.score! < threshold).sort((a, b) => a.score! - b.score!).slice(0, n);
}

/** The neighbour of `id` in `order`, wrapping around; null when `id` is not there. */
export function neighbour(order: readonly { id: string }[], id: string, step: 1 | -1): string | null {
  const i = order.findIndex((it) => it.id === id);
  if (i < 0 || order.length === 0) return null;
  return order[(i + step + order.length) % order.length].id;
}
