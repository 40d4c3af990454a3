// Vite plugins of the app: TF.js's .wasm binaries served beside the app, the CSP meta tag for static
// hosts that send no headers, the service worker's precache list, and the web app manifest with its icons.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Plugin } from 'vite';
import { CONTENT_SECURITY_POLICY } from './headers';

const require = createRequire(import.meta.url);

/** Folder of the app (relative to index.html) holding the .wasm files; the worker is told this path. */
export const WASM_DIR = 'tfjs-wasm';

function wasmSourceDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

export function tfjsWasm(): Plugin {
  const files = () => readdirSync(wasmSourceDir()).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'differnet:tfjs-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = req.url?.match(new RegExp(`/${WASM_DIR}/([\\w.-]+\\.wasm)$`));
        if (!m || !files().includes(m[1])) return next();
        res.setHeader('Content-Type', 'application/wasm');
        createReadStream(path.join(wasmSourceDir(), m[1])).pipe(res);
      });
    },
    generateBundle() {
      // An empty weights list when `npm start` prepared none, so the app's look-up is a clean 200.
      if (!existsSync(path.resolve('public/models/index.json'))) this.emitFile({ type: 'asset', fileName: 'models/index.json', source: JSON.stringify({ weights: [] }) });
      for (const f of files()) this.emitFile({ type: 'asset', fileName: `${WASM_DIR}/${f}`, source: readFileSync(path.join(wasmSourceDir(), f)) });
    },
  };
}

/** The policy as a meta tag too, so it holds on hosts that cannot set headers (build only: dev injects inline scripts). */
export function cspMeta(): Plugin {
  return {
    name: 'differnet:csp-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

/**
 * Writes the build's file list (every built file but weights) and a content version into dist/sw.js, so
 * each build is a new service worker: the browser installs it beside the running one and the app offers
 * the reload. Weights are left out: tens to hundreds of MB per backbone, most never used on a given
 * machine, and kept in IndexedDB once loaded; the worker caches a prepared one when it is first fetched.
 */
export function precacheManifest(): Plugin {
  let outDir = 'dist';
  return {
    name: 'differnet:precache',
    apply: 'build',
    configResolved(c) {
      outDir = path.resolve(c.root, c.build.outDir);
    },
    closeBundle() {
      const files = walk(outDir).filter((f) => !f.startsWith('models/') && f !== 'precache.json' && f !== 'sw.js' && !f.endsWith('.map'));
      const hash = createHash('sha256');
      for (const f of files.sort()) hash.update(f).update(readFileSync(path.join(outDir, f)));
      const build = { version: hash.digest('hex').slice(0, 16), files: ['./', ...files] };
      const swFile = path.join(outDir, 'sw.js');
      const sw = readFileSync(swFile, 'utf8');
      const placeholder = 'const BUILD = null;';
      if (!sw.includes(placeholder)) throw new Error(`public/sw.js must hold "${placeholder}" for the build to write its file list into`);
      writeFileSync(swFile, sw.replace(placeholder, `const BUILD = ${JSON.stringify(build)};`));
    },
  };
}

/** The app's name and colours, for the manifest and the page's theme colour. */
export const APP_MANIFEST = {
  name: 'DifferNet Inspector',
  short_name: 'DifferNet',
  description: 'Finds defects on manufactured parts without ever having seen a defect, entirely in the browser.',
  start_url: './',
  scope: './',
  display: 'standalone',
  background_color: '#0f1419',
  theme_color: '#0f1419',
  icons: [
    { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: 'icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ],
};

/**
 * The app's mark, drawn as a PNG: an amber ring and dot (the header's ◎) on the app's background.
 * `safe` shrinks it into the inner 80 % circle that maskable icons keep after cropping.
 */
export function iconPng(size: number, safe = false): Buffer {
  const png = new PNG({ width: size, height: size });
  const c = size / 2;
  const k = (safe ? 0.8 : 1) * c;
  const ring = { r: 0.66 * k, w: 0.13 * k };
  const dot = 0.22 * k;
  const bg = [0x0f, 0x14, 0x19];
  const fg = [0xf5, 0x9e, 0x0b];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x + 0.5 - c, y + 0.5 - c);
      // Coverage by distance, one pixel of smoothing at each edge.
      const inRing = Math.max(0, Math.min(1, ring.w / 2 - Math.abs(d - ring.r) + 0.5));
      const inDot = Math.max(0, Math.min(1, dot - d + 0.5));
      const a = Math.max(inRing, inDot);
      const i = (y * size + x) * 4;
      for (let ch = 0; ch < 3; ch++) png.data[i + ch] = Math.round(bg[ch] * (1 - a) + fg[ch] * a);
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** The web app manifest and its icons, emitted by the build and served by the dev server. */
export function appManifest(): Plugin {
  const assets = (): Record<string, () => Buffer | string> => ({
    'manifest.webmanifest': () => JSON.stringify(APP_MANIFEST, null, 1),
    'icons/icon-192.png': () => iconPng(192),
    'icons/icon-512.png': () => iconPng(512),
    'icons/maskable-512.png': () => iconPng(512, true),
  });
  return {
    name: 'differnet:manifest',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = Object.keys(assets()).find((f) => req.url?.split('?')[0].endsWith(`/${f}`));
        if (!name) return next();
        res.setHeader('Content-Type', name.endsWith('.png') ? 'image/png' : 'application/manifest+json');
        res.end(assets()[name]());
      });
    },
    generateBundle() {
      for (const [fileName, make] of Object.entries(assets())) this.emitFile({ type: 'asset', fileName, source: make() });
    },
  };
}
