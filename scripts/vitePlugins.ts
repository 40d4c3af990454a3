// Vite plugins of the app: TF.js's .wasm binaries served beside the app, the CSP meta tag for static
// hosts that send no headers, and the service worker's precache list.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
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

/** Writes precache.json (every built file but weights, with a content version) for public/sw.js. */
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
      const manifest = { version: hash.digest('hex').slice(0, 16), files: ['./', ...files] };
      writeFileSync(path.join(outDir, 'precache.json'), JSON.stringify(manifest, null, 1));
    },
  };
}
