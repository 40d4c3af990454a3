// Loads a backbone from a weights file in a fresh Node process and prints, as JSON, the time to read and
// to parse it and the process's peak RSS against its RSS before reading: what `npm run bench:browser --
// --alexnet` reports for the CLI. Usage: tsx scripts/weightsLoadProbe.ts FILE.pth
import { readFileSync } from 'node:fs';
import { loadBackbone } from '../src/core';
import { initNodeBackend } from '../src/core/node/backend';

await initNodeBackend();
const before = process.memoryUsage().rss;
const t0 = performance.now();
const bytes = readFileSync(process.argv[2]);
const t1 = performance.now();
const backbone = loadBackbone(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
const t2 = performance.now();
process.stdout.write(
  JSON.stringify({ id: backbone.id, fileBytes: bytes.length, readSeconds: (t1 - t0) / 1000, parseSeconds: (t2 - t1) / 1000, rssBeforeBytes: before, peakRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n',
);
backbone.dispose();
