import { create } from 'zustand';

export interface Notice {
  id: number;
  kind: 'error' | 'warning' | 'info';
  message: string;
}

interface NoticeState {
  notices: Notice[];
  /** Notices with keyboard focus inside (being read, or about to be dismissed): their time does not run out. */
  held: number[];
  push(kind: Notice['kind'], message: string): void;
  dismiss(id: number): void;
  hold(id: number, held: boolean): void;
}

let next = 1;

/** How long a notice stays on screen: errors until dismissed, warnings a while, routine messages a few seconds. */
export const NOTICE_MS: Record<Notice['kind'], number | null> = { error: null, warning: 15_000, info: 6_000 };

/** Toasts in a fixed corner of the window: errors stay until dismissed, the others fade out. */
export const useNotices = create<NoticeState>((set) => ({
  notices: [],
  held: [],
  push(kind, message) {
    const id = next++;
    // The same message twice (e.g. a camera error on every retry) shows once.
    set((s) => (s.notices.some((n) => n.message === message) ? s : { notices: [...s.notices, { id, kind, message }].slice(-6) }));
    const ms = NOTICE_MS[kind];
    if (ms !== null) expireAfter(id, ms);
  },
  dismiss(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id), held: s.held.filter((h) => h !== id) }));
  },
  hold(id, held) {
    set((s) => ({ held: held ? [...s.held.filter((h) => h !== id), id] : s.held.filter((h) => h !== id) }));
  },
}));

/**
 * A timed notice goes after `ms`, or, while it has the keyboard focus, `ms` after it loses it (WCAG 2.2.1). Not
 * on pointer hover: a message that appeared under a pointer resting on a button would cover it for good.
 */
function expireAfter(id: number, ms: number): void {
  setTimeout(() => {
    if (useNotices.getState().held.includes(id)) expireAfter(id, ms);
    else useNotices.getState().dismiss(id);
  }, ms);
}

export function reportError(e: unknown, context?: string): void {
  const msg = e instanceof Error ? e.message : String(e);
  useNotices.getState().push('error', context ? `${context}: ${msg}` : msg);
}
