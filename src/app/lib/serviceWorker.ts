// The service worker's life as the page sees it: registered once, and a new build offered as a reload
// instead of swapping the files under a running page.
import { create } from 'zustand';

interface UpdateState {
  /** A new version installed and waiting for the page's go-ahead. */
  waiting: ServiceWorker | null;
  /** The user asked for the new version: the page reloads when it takes over. */
  accepted: boolean;
  accept(): void;
}

export const useUpdate = create<UpdateState>((set, get) => ({
  waiting: null,
  accepted: false,
  accept() {
    const w = get().waiting;
    if (!w) return;
    set({ accepted: true });
    w.postMessage({ type: 'SKIP_WAITING' });
  },
}));

/** How often an open tab asks the server whether a new build is there (also whenever the tab is shown again). */
const CHECK_EVERY_MS = 60 * 60 * 1000;

export async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  const reg = await sw.register('./sw.js');
  // A first install has no page to replace; only an update with a controller in place is offered.
  const offer = (w: ServiceWorker | null) => {
    if (w && sw.controller) useUpdate.setState({ waiting: w });
  };
  offer(reg.waiting);
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    w?.addEventListener('statechange', () => {
      if (w.state === 'installed') offer(w);
    });
  });
  let reloading = false;
  sw.addEventListener('controllerchange', () => {
    if (!useUpdate.getState().accepted || reloading) return;
    reloading = true;
    location.reload();
  });
  const check = () => void reg.update().catch(() => undefined);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  setInterval(check, CHECK_EVERY_MS);
}
