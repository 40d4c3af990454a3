// The static server of the built app with the headers it needs (cross-origin isolation, CSP), used by
// `npm start` and the end-to-end tests: sirv does the file serving (it keeps every request inside its
// folder), this module adds the headers, the cache policy and the extra mounts.
// Usage: tsx scripts/serve.ts [--port N] [--host H] [dir]
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { SECURITY_HEADERS } from './headers';

/** The app's file types; any other extension goes out as octet-stream (and, with nosniff, is not run). */
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
  /** URL prefix (starting and ending with '/') -> folder served under it, tried before `root` (e.g. freshly prepared weights). */
  mounts?: Record<string, string>;
  log?: boolean;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

function folder(dir: string): Handler {
  return sirv(path.resolve(dir), {
    // Files are looked up on every request (weights may be prepared while the server runs) and
    // `dir + path.sep` bounds every look-up, so `..` in any spelling stays inside.
    dev: true,
    dotfiles: false,
    // No single-page fallback: an unknown path is a 404, as the service worker expects.
    single: false,
    setHeaders(res, pathname) {
      // `pathname` is the URL's; one without an extension was answered with an index.html (sirv says text/html).
      const ext = path.extname(pathname);
      if (ext) res.setHeader('Content-Type', MIME[ext] ?? 'application/octet-stream');
      // Hashed assets never change; index.html, sw.js and the precache list must always be fresh.
      res.setHeader('Cache-Control', pathname.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** Serves `dir` for URLs under `prefix`, as if they were at the root of `dir`. */
function mounted(prefix: string, dir: string): Handler {
  const inner = folder(dir);
  return (req, res, next) => {
    const url = req.url ?? '/';
    if (!url.startsWith(prefix)) return next();
    req.url = url.slice(prefix.length - 1);
    inner(req, res, () => {
      req.url = url;
      next();
    });
  };
}

export function serve(opts: ServeOptions): Promise<RunningServer> {
  const handlers: Handler[] = [...Object.entries(opts.mounts ?? {}).map(([prefix, dir]) => mounted(prefix, dir)), folder(opts.root)];
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const notFound = () => {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      if (opts.log) console.log(`404 ${req.url}`);
    };
    const run = (i: number): void => {
      if (i === handlers.length) return notFound();
      handlers[i](req, res, () => run(i + 1));
    };
    try {
      run(0);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('server error');
      if (opts.log) console.error(e);
    }
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
