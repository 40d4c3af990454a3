// `npm start`'s weights preparation: GoogLeNet's caffemodel and AlexNet's .pth are downloaded with a
// progress bar or taken from a local copy, converted to the app's weights files, and every failure
// (no network, a truncated download, a bad local file) is one plain sentence that leaves the other weights
// and what was prepared before as they were. The downloads are served from this machine: no internet here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareModels } from './prepareModels';
import { sharedPath } from '../test/support/shared';

const caffemodel = readFileSync(sharedPath('weights', 'bvlc_googlenet.caffemodel'));
const squeezenet = sharedPath('weights', 'squeezenet1_1-imagenet.pth');

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const index = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { weights: { id: string; file: string; source: string; hash: string }[] };
const tmp = (name: string) => mkdtempSync(path.join(tmpdir(), `differnet-prepare-${name}-`));

describe('prepareModels', () => {
  let zoo: { server: Server; url: string };
  /** A port where nothing listens: a refused connection, as on a machine without network. */
  let refused: string;
  let prepared: string;
  let lines: string[];
  let first: Awaited<ReturnType<typeof prepareModels>>;

  beforeAll(async () => {
    zoo = await listen((req, res) => {
      if (req.url === '/bvlc_googlenet.caffemodel') {
        res.writeHead(200, { 'content-length': caffemodel.length });
        res.end(caffemodel);
      } else if (req.url === '/cut/bvlc_googlenet.caffemodel') {
        // Announces the whole file, then the connection drops after 1 MB.
        res.writeHead(200, { 'content-length': caffemodel.length });
        res.write(caffemodel.subarray(0, 1 << 20), () => res.destroy());
      } else {
        res.writeHead(404).end();
      }
    });
    const closed = await listen(() => undefined);
    refused = closed.url;
    await new Promise((r) => closed.server.close(r));
    prepared = tmp('zoo');
    lines = [];
    first = await prepareModels({
      dir: prepared,
      urls: { googlenet: `${zoo.url}/bvlc_googlenet.caffemodel`, alexnet: `${refused}/alexnet-owt-7be5be79.pth` },
      log: (l) => lines.push(l),
    });
  });
  afterAll(() => new Promise<void>((r) => (zoo ? zoo.server.close(() => r()) : r())));

  it('downloads GoogLeNet with a progress bar and converts it to the app weights file', () => {
    expect(lines.join('\n')).toMatch(/downloading the official GoogLeNet file from http:\/\/127\.0\.0\.1:\d+\/bvlc_googlenet\.caffemodel/);
    expect(lines.join('\n')).toMatch(/\[#{30}\] 100% {2}\d+\.\d \/ \d+\.\d MB/);
    expect(first.ready).toEqual(['googlenet']);
    const entry = index(prepared).weights.find((w) => w.id === 'googlenet')!;
    expect(entry).toMatchObject({ file: 'googlenet.weights', source: 'bvlc_googlenet.caffemodel' });
    expect(readFileSync(path.join(prepared, entry.file)).length).toBeGreaterThan(1e6);
  });

  it('says plainly that AlexNet could not be downloaded, and how to give a local copy', () => {
    expect(first.problems).toHaveLength(1);
    expect(first.problems[0]).toMatch(/^Could not download the AlexNet weights from http:\/\/127\.0\.0\.1:\d+\/alexnet-owt-7be5be79\.pth \(ECONNREFUSED\); this machine seems to be offline\.\n {2}The app starts anyway\./);
    expect(first.problems[0]).toContain('DIFFERNET_ALEXNET=/path/to/alexnet-owt-7be5be79.pth npm start');
  });

  it('offline, explains both downloads and still returns (the app starts without weights)', async () => {
    const dir = tmp('offline');
    const r = await prepareModels({ dir, urls: { googlenet: `${refused}/bvlc_googlenet.caffemodel`, alexnet: `${refused}/alexnet.pth` }, log: () => undefined });
    expect(r.ready).toEqual([]);
    expect(r.problems.map((p) => p.split('\n')[0])).toEqual([
      expect.stringMatching(/^Could not download the GoogLeNet weights from .*\(ECONNREFUSED\); this machine seems to be offline\.$/),
      expect.stringMatching(/^Could not download the AlexNet weights from .*\(ECONNREFUSED\); this machine seems to be offline\.$/),
    ]);
    expect(r.problems[0]).toContain('DIFFERNET_GOOGLENET=/path/to/bvlc_googlenet.caffemodel npm start');
  });

  it('gives up on a server that never answers after the connect timeout', async () => {
    const silent = await listen(() => undefined);
    try {
      const r = await prepareModels({ dir: tmp('silent'), urls: { googlenet: `${silent.url}/g.caffemodel`, alexnet: `${refused}/a.pth` }, connectTimeoutMs: 200, log: () => undefined });
      expect(r.problems[0]).toMatch(/^Could not download the GoogLeNet weights from .* \(no answer within 0\.2 s\); this machine seems to be offline\./);
    } finally {
      silent.server.closeAllConnections();
      await new Promise((r) => silent.server.close(r));
    }
  });

  it('a download cut short is reported and leaves nothing behind', async () => {
    const dir = tmp('cut');
    const r = await prepareModels({ dir, urls: { googlenet: `${zoo.url}/cut/bvlc_googlenet.caffemodel`, alexnet: `${refused}/a.pth` }, log: () => undefined });
    expect(r.ready).toEqual([]);
    expect(r.problems[0]).toMatch(/^Could not download the GoogLeNet weights from .*\((the download ended early \(1048576 of \d+ bytes\)|terminated|ECONNRESET)\)/);
    expect(existsSync(path.join(dir, 'googlenet.weights'))).toBe(false);
    // The partial download is removed from the temp folder too.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`differnet-${process.pid}-`))).toEqual([]);
  });

  it.each([
    ['the first 1 MB of the caffemodel', 'bvlc_googlenet.caffemodel', () => caffemodel.subarray(0, 1 << 20)],
    ['random bytes', 'x.caffemodel', () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
  ])('a local GoogLeNet file of %s is one sentence; the prepared GoogLeNet and the other weights stay', async (_what, name, bytes) => {
    const bad = path.join(tmp('bad'), name);
    writeFileSync(bad, bytes());
    const before = readFileSync(path.join(prepared, 'googlenet.weights'));
    const r = await prepareModels({ dir: prepared, googlenet: bad, squeezenet, urls: { alexnet: `${refused}/a.pth` }, log: () => undefined });
    const own = r.problems.filter((p) => /GoogLeNet/.test(p));
    expect(own).toHaveLength(1);
    expect(own[0]).toMatch(new RegExp(`^The GoogLeNet weights were not prepared \\(the ones prepared before are kept\\): ${bad.replace(/[.\\\\/]/g, '\\$&')} is unusable \\([^\\n]+\\)\\.$`));
    expect(r.ready.sort()).toEqual(['googlenet', 'squeezenet1_1']);
    expect(readFileSync(path.join(prepared, 'googlenet.weights')).equals(before)).toBe(true);
  });

  it('a local file of another network given as GoogLeNet is named as such', async () => {
    const dir = tmp('other');
    const r = await prepareModels({ dir, googlenet: squeezenet, urls: { alexnet: `${refused}/a.pth` }, log: () => undefined });
    expect(r.ready).toEqual([]);
    expect(r.problems[0]).toMatch(/^The GoogLeNet weights were not prepared: .*squeezenet1_1-imagenet\.pth is unusable \(it holds SqueezeNet 1\.1 weights, not GoogLeNet\)\.$/);
  });
});
