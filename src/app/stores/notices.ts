import { create } from 'zustand';

export interface Notice {
  id: number;
  kind: 'error' | 'warning' | 'info';
  message: string;
}

interface NoticeState {
  notices: Notice[];
  push(kind: Notice['kind'], message: string): void;
  dismiss(id: number): void;
}

let next = 1;

/** Banners at the top of the page: errors stay until dismissed, info fades out. */
export const useNotices = create<NoticeState>((set) => ({
  notices: [],
  push(kind, message) {
    const id = next++;
    // The same message twice (e.g. a camera error on every retry) shows once.
    set((s) => (s.notices.some((n) => n.message === message) ? s : { notices: [...s.notices, { id, kind, message }].slice(-6) }));
    if (kind === 'info') setTimeout(() => useNotices.getState().dismiss(id), 6000);
  },
  dismiss(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
}));

export function reportError(e: unknown, context?: string): void {
  const msg = e instanceof Error ? e.message : String(e);
  useNotices.getState().push('error', context ? `${context}: ${msg}` : msg);
}
