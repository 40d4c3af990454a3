export const SCREENS = [
  { id: 'teach', title: 'Teach' },
  { id: 'evaluate', title: 'Evaluate' },
  { id: 'inspect', title: 'Inspect' },
  { id: 'live', title: 'Live' },
  { id: 'history', title: 'History' },
  { id: 'versions', title: 'Versions' },
  { id: 'models', title: 'Models' },
] as const;

export type ScreenId = (typeof SCREENS)[number]['id'];

export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, '');
  return SCREENS.find((s) => s.id === id)?.id ?? 'teach';
}
