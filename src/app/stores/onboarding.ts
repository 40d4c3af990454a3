import { create } from 'zustand';

const GUIDE_KEY = 'differnet.guideDismissed';

function dismissedBefore(): boolean {
  try {
    return localStorage.getItem(GUIDE_KEY) === '1';
  } catch {
    return false;
  }
}

interface OnboardingState {
  /** The first-run guide shows until dismissed; the choice is remembered in this browser. */
  guide: boolean;
  shortcuts: boolean;
  dismissGuide(): void;
  showGuide(): void;
  setShortcuts(open: boolean): void;
}

export const useOnboarding = create<OnboardingState>((set) => ({
  guide: !dismissedBefore(),
  shortcuts: false,
  dismissGuide() {
    try {
      localStorage.setItem(GUIDE_KEY, '1');
    } catch {
      // Not remembered (private window): dismissed for this visit only.
    }
    set({ guide: false });
  },
  showGuide() {
    try {
      localStorage.removeItem(GUIDE_KEY);
    } catch {
      // As above.
    }
    set({ guide: true });
  },
  setShortcuts: (open) => set({ shortcuts: open }),
}));

/** Keys typed into a field are the field's: "?" there is a question mark, not the shortcut list. */
export function typingInto(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  if (el.tagName === 'INPUT') return !['checkbox', 'radio', 'button', 'submit', 'range', 'file', 'color', 'reset'].includes((el as HTMLInputElement).type);
  return false;
}
