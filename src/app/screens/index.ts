export const SCREENS = [
  { id: 'teach', title: 'Teach' },
  { id: 'evaluate', title: 'Evaluate' },
  { id: 'inspect', title: 'Inspect' },
  { id: 'live', title: 'Live' },
  { id: 'history', title: 'History' },
  { id: 'versions', title: 'Versions' },
  { id: 'models', title: 'Models' },
] as const;

/** Pages reached from a screen or the header's Help button, not from the screens' navigation. */
export const PAGES = [
  { id: 'report', title: 'Report' },
  { id: 'help', title: 'Help' },
] as const;

export type ScreenId = (typeof SCREENS)[number]['id'] | (typeof PAGES)[number]['id'];

export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, '').split('?')[0];
  return [...SCREENS, ...PAGES].find((s) => s.id === id)?.id ?? 'teach';
}

/** The query of a hash route ("#/report?source=batch"), as parameters. */
export function hashParams(hash: string): URLSearchParams {
  const q = hash.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
}
