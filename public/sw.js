// Service worker of DifferNet Inspector: keeps the app available offline once loaded, and adds the
// cross-origin isolation headers (so WASM can use threads) on static hosts that cannot send them.
// It never contacts any other origin: only same-origin GET requests are handled at all.
const PREFIX = 'differnet-app-';
const WEIGHTS_CACHE = 'differnet-weights';
const PAGES_CACHE = 'differnet-pages';

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

async function precacheList() {
  const res = await fetch('precache.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error('precache.json missing');
  return res.json();
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const { version, files } = await precacheList();
      const cache = await caches.open(PREFIX + version);
      await cache.addAll(files.map((f) => new Request(f, { cache: 'no-cache' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const { version } = await precacheList().catch(() => ({ version: null }));
      if (version) {
        for (const key of await caches.keys()) if (key.startsWith(PREFIX) && key !== PREFIX + version) await caches.delete(key);
      }
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

function fromCache(request) {
  return caches.match(request, { ignoreSearch: true });
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      // Pages and the precache list: network first, so a new version arrives; the cache when offline.
      if (req.mode === 'navigate' || url.pathname.endsWith('/precache.json') || url.pathname.endsWith('/models/index.json')) {
        const isWeightsIndex = url.pathname.endsWith('/models/index.json');
        try {
          const res = await fetch(req);
          if (res.ok && req.mode === 'navigate') (await caches.open(PAGES_CACHE)).put(req, res.clone());
          if (res.ok && isWeightsIndex) (await caches.open(WEIGHTS_CACHE)).put(req, res.clone());
          return withIsolation(res);
        } catch {
          const cached = (await fromCache(req)) || (req.mode === 'navigate' ? await fromCache(new Request('./')) : null);
          if (cached) return withIsolation(cached);
          // Offline before the list was ever fetched: no prepared weights, which the app handles.
          if (isWeightsIndex) return new Response('{"weights":[]}', { headers: { 'Content-Type': 'application/json' } });
          return new Response('offline', { status: 503 });
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
