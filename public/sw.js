// Service worker of DifferNet Inspector: keeps the app available offline once loaded, and adds the
// cross-origin isolation headers (so WASM can use threads) on static hosts that cannot send them.
// It never contacts any other origin: only same-origin GET requests are handled at all.
//
// The build writes its file list and version into BUILD below (scripts/vitePlugins.ts), so every new
// build is a new service worker to the browser: it installs beside the running one and waits until the
// page says "reload" (the app's update banner), so a page never runs on a half-replaced cache.
const BUILD = null;
const PREFIX = 'differnet-app-';
const WEIGHTS_CACHE = 'differnet-weights';
const PAGES_CACHE = 'differnet-pages';

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      if (!BUILD) throw new Error('sw.js was not written by the build: no file list to cache');
      const cache = await caches.open(PREFIX + BUILD.version);
      await cache.addAll(BUILD.files.map((f) => new Request(f, { cache: 'no-cache' })));
      // The first install has nothing to replace: it takes over at once. An update waits to be asked.
      if (!self.registration.active) await self.skipWaiting();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') void self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith(PREFIX) && key !== PREFIX + BUILD.version) await caches.delete(key);
      // The pages cached by the previous version belong to it: the next visit fetches this version's.
      await caches.delete(PAGES_CACHE);
      await self.clients.claim();
    })(),
  );
});

function withIsolation(res) {
  if (!res || res.status === 0 || res.type === 'opaque') return res;
  const headers = new Headers(res.headers);
  let changed = false;
  for (const [k, v] of Object.entries(ISOLATION)) {
    if (!headers.has(k)) {
      headers.set(k, v);
      changed = true;
    }
  }
  return changed ? new Response(res.body, { status: res.status, statusText: res.statusText, headers }) : res;
}

/** This version's files only: another version's index.html would name assets this cache does not hold. */
async function fromCache(request) {
  const own = await caches.open(PREFIX + BUILD.version);
  return (await own.match(request, { ignoreSearch: true })) || (await caches.match(request, { ignoreSearch: true, cacheName: WEIGHTS_CACHE }));
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !BUILD) return;
  event.respondWith(
    (async () => {
      // Pages come from this version's cache: a page newer than the worker waits for the worker's
      // update (the banner's reload), so what runs always matches what is cached for offline use.
      if (req.mode === 'navigate') {
        const cached = (await fromCache(new Request('./index.html'))) || (await fromCache(new Request('./')));
        if (cached) return withIsolation(cached);
        return withIsolation(await fetch(req));
      }
      if (url.pathname.endsWith('/models/index.json')) {
        // The list of prepared weights changes without a new build: network first, the last copy offline.
        try {
          const res = await fetch(req);
          if (res.ok) (await caches.open(WEIGHTS_CACHE)).put(req, res.clone());
          return withIsolation(res);
        } catch {
          const cached = await caches.match(req, { cacheName: WEIGHTS_CACHE });
          if (cached) return withIsolation(cached);
          // Offline before the list was ever fetched: no prepared weights, which the app handles.
          return new Response('{"weights":[]}', { headers: { 'Content-Type': 'application/json' } });
        }
      }
      const cached = await fromCache(req);
      if (cached) return withIsolation(cached);
      const res = await fetch(req);
      // Prepared weights are large and optional: cached when first used, not precached.
      if (res.ok && url.pathname.includes('/models/')) (await caches.open(WEIGHTS_CACHE)).put(req, res.clone());
      return withIsolation(res);
    })(),
  );
});
