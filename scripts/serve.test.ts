// The static server of `npm start` and the e2e tests: it serves only what is inside its folders, with
// the headers the app needs on every response.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from './headers';
import { serve, type RunningServer } from './serve';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path goes on the wire as written (fetch would normalise `..` away). */
function get(url: string, rawPath: string, method = 'GET'): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scripts/serve', () => {
  let base: string;
  let server: RunningServer;
  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'differnet-serve-'));
    const dist = path.join(base, 'dist');
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(path.join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(path.join(dist, 'sw.js'), '// sw');
    // Siblings whose names start with the served folder's name: a prefix check without a separator lets them through.
    mkdirSync(path.join(base, 'dist-x'));
    writeFileSync(path.join(base, 'dist-x', 'secret'), 'TOP SECRET');
    mkdirSync(path.join(base, 'models'));
    writeFileSync(path.join(base, 'models', 'a.weights'), 'weights');
    mkdirSync(path.join(base, 'models-x'));
    writeFileSync(path.join(base, 'models-x', 'secret'), 'TOP SECRET');
    server = await serve({ root: dist, mounts: { '/models/': path.join(base, 'models') } });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it.each([
    '/..%2fdist-x/secret',
    '/..%2Fdist-x%2Fsecret',
    '/../dist-x/secret',
    '/%2e%2e/dist-x/secret',
    '/%2e%2e%2fdist-x%2fsecret',
    '/models/..%2fmodels-x/secret',
    '/models/../models-x/secret',
    '/models/%2e%2e%2fmodels-x%2fsecret',
    '/..%5cdist-x%5csecret',
  ])('does not serve a file outside its folders: %s', async (p) => {
    const r = await get(server.url, p);
    expect(r.body).not.toContain('TOP SECRET');
    expect(r.status).toBeGreaterThanOrEqual(400);
  });

  it('serves index.html at / with every security header', async () => {
    const r = await get(server.url, '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>app</title>');
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(r.headers[k.toLowerCase()], k).toBe(v);
    expect(r.headers['cache-control']).toBe('no-cache');
  });

  it('serves hashed assets as immutable and the service worker fresh', async () => {
    const asset = await get(server.url, '/assets/app-1234.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect(asset.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const sw = await get(server.url, '/sw.js');
    expect(sw.status).toBe(200);
    expect(sw.headers['cache-control']).toBe('no-cache');
  });

  it('serves mounted folders under their prefix', async () => {
    const r = await get(server.url, '/models/a.weights');
    expect(r.status).toBe(200);
    expect(r.body).toBe('weights');
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
  });

  it('answers a missing file with 404 and still sends the headers', async () => {
    const r = await get(server.url, '/nope.js');
    expect(r.status).toBe(404);
    expect(r.headers['content-security-policy']).toBe(SECURITY_HEADERS['Content-Security-Policy']);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses methods other than GET and HEAD', async () => {
    expect((await get(server.url, '/', 'POST')).status).toBe(405);
    const head = await get(server.url, '/', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});
