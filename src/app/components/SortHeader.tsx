export interface Sort<K extends string> {
  key: K;
  desc: boolean;
}

/** A sortable column header: a click sorts by it (scores first descending), a second click reverses. */
export function SortHeader<K extends string>({ k, label, sort, onSort }: { k: K; label: string; sort: Sort<K>; onSort: (s: Sort<K>) => void }) {
  const active = sort.key === k;
  return (
    <th aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="link" onClick={() => onSort({ key: k, desc: active ? !sort.desc : k === 'score' })}>
        {label} {active ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );
}
