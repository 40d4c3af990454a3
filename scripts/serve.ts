// A tiny static server for the built app with the headers it needs (cross-origin isolation, CSP), used by
// `npm start` and the end-to-end tests. Usage: tsx scripts/serve.ts [--port N] [--host H] [dir]
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECURITY_HEADERS } from './headers';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.weights': 'application/octet-stream',
};

export interface ServeOptions {
  root: string;
  port?: number;
  host?: string;
  /** URL prefix -> folder served under it, tried before `root` (e.g. freshly prepared weights). */
  mounts?: Record<string, string>;
  log?: boolean;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function resolveFile(opts: ServeOptions, urlPath: string): string | null {
  const candidates: string[] = [];
  for (const [prefix, dir] of Object.entries(opts.mounts ?? {})) {
    if (urlPath.startsWith(prefix)) candidates.push(path.join(dir, urlPath.slice(prefix.length)));
  }
  candidates.push(path.join(opts.root, urlPath));
  for (const c of candidates) {
    const base = path.resolve(c);
    const allowed = [opts.root, ...Object.values(opts.mounts ?? {})].some((d) => base.startsWith(path.resolve(d)));
    if (!allowed) continue;
    if (existsSync(base) && statSync(base).isFile()) return base;
    const index = path.join(base, 'index.html');
    if (existsSync(index)) return index;
  }
  return null;
}

export function serve(opts: ServeOptions): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const file = resolveFile(opts, urlPath);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      if (opts.log) console.log(`404 ${urlPath}`);
      return;
    }
    const ext = path.extname(file);
    const size = statSync(file).size;
    // Hashed assets never change; index.html, sw.js and the precache list must always be fresh.
    const immutable = urlPath.includes('/assets/');
    res.writeHead(200, {
      'Content-Type': MIME[ext] ?? 'application/octet-stream',
      'Content-Length': size,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const host = !opts.host || opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
      resolve({
        url: `http://${host}:${port}/`,
        server,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let port = 4173;
  let host = '127.0.0.1';
  let root = 'dist';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else if (args[i] === '--host') host = args[++i];
    else root = args[i];
  }
  const s = await serve({ root: path.resolve(root), port, host, log: true });
  console.log(`Serving ${root} at ${s.url}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
