// The robustness batch: 500 mixed files, good and bad, through one in-process JobRunner. Every file must get
// its own result, the good ones scored, the bad ones refused with their name and reason, and no tensor leak.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, DEFAULT_SETTINGS, DifferNet, Flow, isBackboneKey, readPth, saveModel } from '../../src/core/internal';
import { initNodeBackend } from '../../src/core/node/backend';
import { readShared, sharedPath } from '../../test/support/shared';
import { encodePng } from '../io/decode';
import { bytesOf, concat, handBmp, handPng } from '../../test/support/testImages';
import type { JobResult } from './protocol';
import { JobRunner } from './runner';
import type { ExecutionPlan } from '../../src/core/execution/executionPlan';

const FEATURE_DIM = 512; // SqueezeNet 1.1, one scale

let dir: string;
let plan: ExecutionPlan;
let modelBytes: Uint8Array;

beforeAll(async () => {
  plan = await initNodeBackend();
  dir = mkdtempSync(path.join(os.tmpdir(), 'runner-batch-'));
  const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
  const settings = { ...DEFAULT_SETTINGS, features: { size: 64, scales: 1 }, flow: { blocks: 2, hidden: 8, clamp: 3 } };
  const model = new DifferNet(plan.features, bb, Flow.random({ inputDim: FEATURE_DIM, ...settings.flow }, 1), settings);
  modelBytes = await saveModel(model, { name: 'batch', includeBackbone: true });
  model.dispose();
  bb.dispose();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Deterministic noise, so images differ from each other without a dependency on Math.random. */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 24);
}

function exifApp1(orientation: number): Uint8Array {
  const t = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(t.buffer);
  t.set(bytesOf('MM'));
  dv.setUint16(2, 42);
  dv.setUint32(4, 8);
  dv.setUint16(8, 1);
  dv.setUint16(10, 0x0112);
  dv.setUint16(12, 3);
  dv.setUint32(14, 1);
  dv.setUint16(18, orientation);
  const body = concat([bytesOf('Exif\0\0'), t]);
  return concat([new Uint8Array([0xff, 0xe1, 0, body.length + 2]), body]);
}

interface Case {
  path: string;
  /** Size the result should report (the file's, after EXIF orientation). */
  size?: [number, number];
  downscaledTo?: [number, number];
  /** For files that must be refused: what the reason says. */
  refused?: RegExp;
}

/** Writes the batch: mostly small valid images of every kind the decoder reads, and every kind of bad file. */
function writeBatch(n: number): Case[] {
  const mtdGood = sharedPath('datasets', 'mtd', 'test', 'good');
  const mtdFiles = readdirSync(mtdGood).sort();
  const cases: Case[] = [];
  const file = (name: string, bytes: Uint8Array | string) => {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const rgba = (w: number, h: number, seed: number) => {
    const r = noise(seed);
    return Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : r()));
  };
  const random = (length: number, seed: number) => {
    const r = noise(seed);
    return Uint8Array.from({ length }, r);
  };
  const goodJpeg = new Uint8Array(jpeg.encode({ width: 48, height: 40, data: rgba(48, 40, 7) }, 85).data);
  const goodPng = encodePng({ width: 40, height: 40, data: rgba(40, 40, 8) });
  const sof = goodJpeg.findIndex((v, i) => v === 0xff && goodJpeg[i + 1] === 0xc0);
  const hugeJpeg = goodJpeg.slice();
  hugeJpeg.set([0x2e, 0xe0, 0x2e, 0xe0], sof + 5);
  const crcPng = goodPng.slice();
  crcPng[goodPng.length - 20] ^= 0xff;
  const gif = concat([bytesOf('GIF89a'), new Uint8Array([4, 0, 4, 0, 0xf0, 0, 0]), new Uint8Array(6), new Uint8Array([0x21, 0xff, 0x0b]), bytesOf('NETSCAPE2.0'), new Uint8Array([3, 1, 0, 0, 0, 0x3b])]);
  const bad: [string, Uint8Array | null, RegExp][] = [
    ['empty.png', new Uint8Array(0), /^empty file: .* \(0 bytes\)$/],
    ['notes.png', bytesOf('id,score\n1,0.25\n'), /^not an image: .* \(expected JPEG, PNG or BMP\)$/],
    ['cut.jpg', goodJpeg.subarray(0, goodJpeg.length >> 1), /^truncated image: .* \(JPEG data ends early/],
    ['cut.png', goodPng.subarray(0, goodPng.length - 30), /^truncated image: .* \(PNG data ends early/],
    ['spinner.gif', gif, /^unsupported image format: .* is GIF/],
    ['pano.png', handPng({ width: 12_000, height: 12_000, bitDepth: 8, colorType: 2, rows: [] }), /^image too large: .* is 12000 x 12000 = 144\.0 megapixels/],
    ['pano.jpg', hugeJpeg, /^image too large: .* is 12000 x 12000 = 144\.0 megapixels/],
    ['photo.webp', bytesOf('RIFF\x10\x00\x00\x00WEBPVP8 '), /^unsupported image format: .* is WebP/],
    ['crc.png', crcPng, /^corrupt image: .* \(PNG: /],
    ['missing.jpg', null, /^cannot read image: .* \(ENOENT\)$/],
  ];
  let nBad = 0;
  for (let i = 0; i < n - 1; i++) {
    const w = 16 + ((i * 7) % 50);
    const h = 16 + ((i * 11) % 45);
    const kind = i % 10;
    if (kind === 9 || (i % 50 === 4 && i > 0)) {
      // About one in nine files is bad, spread through the batch.
      const [name, bytes, refused] = bad[nBad++ % bad.length];
      const p = path.join(dir, `${i}-${name}`);
      if (bytes) writeFileSync(p, bytes);
      cases.push({ path: p, refused });
    } else if (i === 3 || i === 250) {
      const row = Uint8Array.from({ length: 5000 }, (_, x) => (x * 13) % 256);
      cases.push({ path: file(`${i}-wide.png`, handPng({ width: 5000, height: 8, bitDepth: 8, colorType: 0, rows: Array(8).fill(row) })), size: [5000, 8], downscaledTo: [4096, 7] });
    } else if (kind === 0) {
      cases.push({ path: file(`${i}.png`, encodePng({ width: w, height: h, data: rgba(w, h, i) })), size: [w, h] });
    } else if (kind === 1) {
      const rows = Array.from({ length: h }, (_, y) => random(w * 6, i * 100 + y));
      cases.push({ path: file(`${i}-16bit.png`, handPng({ width: w, height: h, bitDepth: 16, colorType: 2, rows })), size: [w, h] });
    } else if (kind === 2) {
      const rows = Array.from({ length: h }, (_, y) => random(w, i * 100 + y));
      cases.push({ path: file(`${i}-grey.png`, handPng({ width: w, height: h, bitDepth: 8, colorType: 0, rows })), size: [w, h] });
    } else if (kind === 3) {
      cases.push({ path: file(`${i}.jpg`, new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba(w, h, i) }, 75).data)), size: [w, h] });
    } else if (kind === 4) {
      const o = 1 + (i % 8);
      const plain = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba(w, h, i) }, 75).data);
      cases.push({ path: file(`${i}-exif${o}.jpg`, concat([plain.subarray(0, 2), exifApp1(o), plain.subarray(2)])), size: o >= 5 ? [h, w] : [w, h] });
    } else if (kind === 5) {
      const rows = Array.from({ length: h }, (_, y) => random(w * 3, i * 100 + y));
      cases.push({ path: file(`${i}.bmp`, handBmp({ width: w, height: h, bpp: 24, rows })), size: [w, h] });
    } else if (kind === 6 && i % 20 === 6) {
      const rows = Array.from({ length: h }, (_, y) => random(w * 4, i * 100 + y));
      cases.push({ path: file(`${i}-ga16.png`, handPng({ width: w, height: h, bitDepth: 16, colorType: 4, rows })), size: [w, h] });
    } else {
      // Real greyscale JPEGs, read in place from the shared folder.
      cases.push({ path: path.join(mtdGood, mtdFiles[i % mtdFiles.length]) });
    }
  }
  mkdirSync(path.join(dir, 'folder.png'));
  cases.push({ path: path.join(dir, 'folder.png'), refused: /^cannot read image: .* \(EISDIR\)$/ });
  return cases;
}

describe('JobRunner on a mixed batch', () => {
  it('scores 500 mixed files: every good one scored, every bad one refused by name and reason, no tensors left', async () => {
    const cases = writeBatch(500);
    expect(cases.length).toBe(500);
    const refused = cases.filter((c) => c.refused).length;
    expect(refused).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.filter((c) => c.refused).map((c) => path.basename(c.path).replace(/^\d+-/, ''))).size).toBe(11);

    const runner = JobRunner.create({ kind: 'model', modelBytes }, plan.features);
    const specs = [{ angle: 0 }];
    // Warm-up: the first run sets up kernels and caches that stay for the life of the engine.
    await runner.run({ id: -1, kind: 'copies', imagePath: cases.find((c) => !c.refused)!.path, specs });
    await runner.run({ id: -2, kind: 'copies', imagePath: cases.find((c) => c.downscaledTo)!.path, specs });
    const before = tf.memory();

    const results: JobResult[] = [];
    for (const [id, c] of cases.entries()) results.push(await runner.run({ id, kind: 'copies', imagePath: c.path, specs }));

    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);

    let scored = 0;
    let downscaled = 0;
    results.forEach((r, id) => {
      const c = cases[id];
      expect(r.id).toBe(id);
      if (c.refused) {
        expect(r.ok, c.path).toBe(false);
        if (r.ok) return;
        expect(r.error).toContain(c.path);
        expect(r.error, c.path).toMatch(c.refused);
        return;
      }
      expect(r.ok, `${c.path}: ${r.ok ? '' : r.error}`).toBe(true);
      if (!r.ok || r.kind !== 'copies') return;
      expect(r.rows.length).toBe(FEATURE_DIM);
      expect(r.rows.every(Number.isFinite), c.path).toBe(true);
      if (c.size) expect([r.width, r.height], c.path).toEqual(c.size);
      expect(r.downscaledTo, c.path).toEqual(c.downscaledTo);
      if (r.downscaledTo) downscaled++;
      scored++;
    });
    expect(scored + refused).toBe(500);
    expect(downscaled).toBe(2);
    // Different pictures give different features (a runner stuck on one input would not).
    const rows = results.flatMap((r) => (r.ok && r.kind === 'copies' ? [r.rows.reduce((a, v) => a + v, 0)] : []));
    expect(new Set(rows).size).toBeGreaterThan(rows.length / 2);
    runner.dispose();
  });

  it('returns a map over the whole file for a downscaled image, and a refusal for a bad one', async () => {
    const row = Uint8Array.from({ length: 4200 }, (_, x) => (x >> 4) % 256);
    const wide = path.join(dir, 'map-wide.png');
    writeFileSync(wide, handPng({ width: 4200, height: 6, bitDepth: 8, colorType: 0, rows: Array(6).fill(row) }));
    const runner = JobRunner.create({ kind: 'model', modelBytes }, plan.features);
    const r = await runner.run({ id: 1, kind: 'map', imagePath: wide, transforms: 1 });
    expect(r.ok && r.kind === 'map').toBe(true);
    if (!r.ok || r.kind !== 'map') return;
    expect([r.width, r.height, r.map.length]).toEqual([4200, 6, 4200 * 6]);
    expect(r.downscaledTo).toEqual([4096, 6]);
    expect(Number.isFinite(r.score) && r.map.every(Number.isFinite)).toBe(true);
    const bad = await runner.run({ id: 2, kind: 'map', imagePath: path.join(dir, 'nowhere.png'), transforms: 1 });
    expect(bad).toEqual({ id: 2, ok: false, error: `cannot read image: ${path.join(dir, 'nowhere.png')} (ENOENT)` });
    runner.dispose();
  });

  it('names the file in errors that do not come from decoding', async () => {
    const ok = path.join(dir, 'plain.png');
    writeFileSync(ok, encodePng({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }));
    const runner = JobRunner.create({ kind: 'backbone', weightsPath: sharedPath('weights', 'squeezenet1_1-imagenet.pth'), features: { size: 64, scales: 1 } }, plan.features);
    expect(await runner.run({ id: 3, kind: 'map', imagePath: ok, transforms: 1 })).toEqual({ id: 3, ok: false, error: `${ok}: defect maps need a model` });
    runner.dispose();
  });
});
