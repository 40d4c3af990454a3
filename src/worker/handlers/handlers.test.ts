// The worker's request handlers in Node, through the session as the worker builds it, on TF.js's WASM
// backend, with a tiny model trained on synthetic parts.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SETTINGS, type ModelSettings } from '../../core/model/settings';
import { PAPER_ADAM } from '../../core/train/adamConfig';
import { syntheticPart } from '../../../test/support/images';
import type { RgbaImage } from '../../core/image';
import { readShared } from '../../../test/support/shared';
import { setupTf } from '../../../test/support/tf';
import { ctx, nodeSession, pngBlob } from '../../../test/support/worker';
import type { ModelSummary } from '../protocol';
import { GemmRunner } from '../../core/wasm/threads';

beforeAll(setupTf);

const SIZE = 64;
const settings: ModelSettings = {
  ...DEFAULT_SETTINGS,
  features: { size: SIZE, scales: 2 },
  flow: { blocks: 2, hidden: 32, clamp: 3 },
  train: { ...DEFAULT_SETTINGS.train, epochs: 2, subEpochs: 2, batchSize: 4, adam: { ...PAPER_ADAM, lr: 1e-3 } },
};
const bytesOf = (u8: Uint8Array): ArrayBuffer => u8.slice().buffer;

describe('engine request handlers (Node, WASM)', () => {
  const { session } = nodeSession();
  const h = session.handlers;
  let summary: ModelSummary;

  it('init starts the chosen backend and hands over the palette and presets', async () => {
    const r = await h.init({ wasmPaths: '', choice: 'wasm' }, ctx());
    expect(r.result.backend).toMatchObject({ name: 'wasm', choice: 'wasm', reason: 'chosen by you', webgpu: null });
    expect(r.result.palette.length).toBe(256 * 3);
    expect(r.result.presets.default).toEqual(DEFAULT_SETTINGS);
    // The session's plan, chosen with the backend: the CNN on the WebAssembly kernels on WASM.
    expect(session.engine.backends.plan.choice).toMatchObject({ backend: 'wasm', features: 'wasm' });
  });

  it('loadWeights adopts torchvision weights and returns a cache file, with no checkpoint', async () => {
    const c = ctx();
    const r = await h.loadWeights({ source: { kind: 'bytes', bytes: bytesOf(readShared('weights', 'squeezenet1_1-imagenet.pth')) }, name: 'sq.pth' }, c);
    expect(r.result.weights).toMatchObject({ id: 'squeezenet1_1', source: 'sq.pth' });
    expect(r.result.checkpoint).toBeNull();
    expect(r.result.cache!.byteLength).toBeGreaterThan(1e6);
    expect(c.seen.some((p) => p.phase === 'parse')).toBe(true);
    // The cache file loads back as the same weights.
    const again = await h.loadWeights({ source: { kind: 'bytes', bytes: r.result.cache! }, name: 'cache' }, ctx());
    expect(again.result).toMatchObject({ weights: { hash: r.result.weights.hash, source: 'sq.pth' }, cache: null, checkpoint: null });
    // Whatever they came from, the loaded weights go to a second engine as the same file.
    const out = await h.exportWeights({ backbone: 'squeezenet1_1' }, ctx());
    expect(out.result.weights.hash).toBe(r.result.weights.hash);
    const other = nodeSession().session.handlers;
    await other.init({ wasmPaths: '', choice: 'wasm' }, ctx());
    expect((await other.loadWeights({ source: { kind: 'bytes', bytes: out.result.bytes }, name: 'from the engine' }, ctx())).result.weights.hash).toBe(r.result.weights.hash);
    await expect(h.exportWeights({ backbone: 'alexnet' }, ctx())).rejects.toThrow(/no AlexNet weights are loaded in the engine/);
    await expect(h.exportWeights({ backbone: 'googlenet' }, ctx())).rejects.toThrow(/no GoogLeNet \(BVLC\) weights are loaded in the engine/);
  });

  it('train fits a model, calibrates it on held-out images and keeps it loaded', async () => {
    const images = Array.from({ length: 8 }, (_, i) => pngBlob(syntheticPart(SIZE, i)));
    const c = ctx();
    const r = await h.train({ modelId: 'm', backbone: 'squeezenet1_1', settings, images, names: images.map((_, i) => `g${i}.png`), falseAlarmRate: 0.05 }, c);
    summary = r.result.summary;
    // The trained model runs under the session's plan, as does the one the registry builds.
    expect(session.engine.models.model('m').engine).toBe(session.engine.backends.plan.features);
    expect(summary).toMatchObject({ backbone: 'squeezenet1_1', settings, fileBytes: r.result.bytes.byteLength });
    expect(summary.training).toMatchObject({ images: 6, heldOut: 2, backend: 'wasm' });
    expect(summary.calibration!.threshold).toBeGreaterThan(0);
    expect(new Set(c.seen.map((p) => p.phase))).toEqual(new Set(['features', 'flow', 'calibrate']));
    expect(c.seen.filter((p) => p.phase === 'flow').every((p) => Number.isFinite(p.loss))).toBe(true);
  });

  it('train without the backbone weights fails with a message saying what to load', async () => {
    await expect(h.train({ modelId: 'x', backbone: 'alexnet', settings, images: [], names: [], falseAlarmRate: 0.05 }, ctx())).rejects.toThrow(/no AlexNet weights are loaded/);
  });

  it('analyze scores an image, with a defect map when asked, and a defect scores higher', async () => {
    const plain = await h.analyze({ modelId: 'm', image: pngBlob(syntheticPart(SIZE, 50)), map: false }, ctx());
    expect(plain.result).toMatchObject({ mapWidth: 0, mapHeight: 0, width: SIZE, height: SIZE });
    expect(plain.result.map).toBeUndefined();
    const withMap = await h.analyze({ modelId: 'm', image: pngBlob(syntheticPart(SIZE, 50)), map: true }, ctx());
    expect(withMap.result.score).toBeCloseTo(plain.result.score, 3);
    expect(withMap.result.map!.length).toBe(withMap.result.mapWidth * withMap.result.mapHeight);
    expect(withMap.transfer).toEqual([withMap.result.map!.buffer]);
    await expect(h.analyze({ modelId: 'nope', image: pngBlob(syntheticPart(SIZE, 1)), map: false }, ctx())).rejects.toThrow(/not loaded in the engine/);
    // An image that does not decode is named in the error; without a name it is "image".
    await expect(h.analyze({ modelId: 'm', image: new Blob([new Uint8Array([1, 2, 3])]), name: 'crack-17.jpg', map: false }, ctx())).rejects.toThrow(/^crack-17\.jpg: not a readable image/);
    await expect(h.analyze({ modelId: 'm', image: new Blob([new Uint8Array([1, 2, 3])]), map: false }, ctx())).rejects.toThrow(/^image: not a readable image/);
  });

  it("analyze's thread limit reaches the host kernels for that job only, with the same score and map", async () => {
    const image = () => pngBlob(syntheticPart(SIZE, 51, true));
    const plain = await h.analyze({ modelId: 'm', image: image(), map: false }, ctx());
    const plainMap = await h.analyze({ modelId: 'm', image: image(), map: true }, ctx());
    // Called through: the kernels run as they would, and the calls show the limit each job asked for.
    const spy = vi.spyOn(GemmRunner.prototype, 'limited');
    const asked = () => new Set(spy.mock.calls.map(([maxThreads]) => maxThreads));
    try {
      const one = await h.analyze({ modelId: 'm', image: image(), map: false, threads: 1 }, ctx());
      const oneMap = await h.analyze({ modelId: 'm', image: image(), map: true, threads: 1 }, ctx());
      expect(one.result.score).toBe(plain.result.score);
      expect(oneMap.result.score).toBe(plainMap.result.score);
      expect(Array.from(oneMap.result.map!)).toEqual(Array.from(plainMap.result.map!));
      // Each scale's forward for the score, and the map's forward and backward: all under the limit.
      expect(spy.mock.calls.length).toBeGreaterThan(0);
      expect(asked()).toEqual(new Set([1]));
      spy.mockClear();
      // The next job without one has all the engine's threads again.
      await h.analyze({ modelId: 'm', image: image(), map: false }, ctx());
      expect(asked()).toEqual(new Set([undefined]));
    } finally {
      spy.mockRestore();
    }
    await expect(h.analyze({ modelId: 'm', image: image(), map: false, threads: 0 }, ctx())).rejects.toThrow(/thread limit must be a whole number of at least 1, not 0/);
  });

  it('evaluate scores a labelled set, reports undecodable items per item, and calibrates when asked', async () => {
    const items = [
      ...[60, 61, 62].map((s) => ({ image: pngBlob(syntheticPart(SIZE, s)), name: `good${s}.png`, label: 0 as const })),
      ...[60, 61].map((s) => ({ image: pngBlob(syntheticPart(SIZE, s, true)), name: `bad${s}.png`, label: 1 as const, defect: 'scratch' })),
      { image: new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }), name: 'broken.png', label: 1 as const, defect: 'scratch' },
    ];
    const c = ctx();
    const r = await h.evaluate({ modelId: 'm', items, maps: false, calibrate: { kind: 'f1-max' } }, c);
    const { scores, errors, calibration, pixelAuroc } = r.result;
    expect(scores.slice(0, 5).every(Number.isFinite)).toBe(true);
    expect(scores[5]).toBeNaN();
    expect(errors.slice(0, 5)).toEqual([null, null, null, null, null]);
    expect(errors[5]).toMatch(/broken\.png: not a readable image/);
    // The defective images score above the good ones: the scores are the model's, not placeholders.
    expect(Math.min(scores[3], scores[4])).toBeGreaterThan(Math.max(scores[0], scores[1], scores[2]));
    expect(pixelAuroc).toBeNull();
    expect(calibration).not.toBeNull();
    expect(calibration!.threshold).toBeGreaterThan(0);
    expect(c.seen.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('evaluate with masks: pixel AUROC from the maps of the images that count, the same scores as without maps', async () => {
    // The scratch's pixels, as the mask that marks it.
    const scratchMask = (seed: number): RgbaImage => {
      const part = syntheticPart(SIZE, seed, true);
      const data = new Uint8ClampedArray(part.data.length);
      for (let i = 0; i < data.length; i += 4) {
        data.fill(part.data[i] === 255 ? 255 : 0, i, i + 3);
        data[i + 3] = 255;
      }
      return { width: SIZE, height: SIZE, data };
    };
    const items = [
      ...[90, 91].map((s) => ({ image: pngBlob(syntheticPart(SIZE, s)), name: `good${s}.png`, label: 0 as const })),
      ...[90, 91].map((s) => ({ image: pngBlob(syntheticPart(SIZE, s, true)), name: `bad${s}.png`, label: 1 as const, defect: 'scratch', mask: pngBlob(scratchMask(s)) })),
      { image: pngBlob(syntheticPart(SIZE, 92, true)), name: 'bad92.png', label: 1 as const, defect: 'scratch' },
    ];
    const withMaps = (await h.evaluate({ modelId: 'm', items, maps: true }, ctx())).result;
    const plain = (await h.evaluate({ modelId: 'm', items, maps: false }, ctx())).result;
    expect(withMaps.scores).toEqual(plain.scores);
    expect(plain.pixelAuroc).toBeNull();
    // A tiny model on synthetic parts: its maps need only rank the scratch above chance.
    expect(withMaps.pixelAuroc).toBeGreaterThan(0.5);
    expect(withMaps.pixelAuroc).toBeLessThanOrEqual(1);
  });

  it('evaluate stops when cancelled', async () => {
    const ac = new AbortController();
    const items = Array.from({ length: 4 }, (_, i) => ({ image: pngBlob(syntheticPart(SIZE, 70 + i)), name: `g${i}`, label: 0 as const }));
    const c = ctx(ac.signal);
    const run = h.evaluate({ modelId: 'm', items, maps: false }, { ...c, progress: () => ac.abort() });
    await expect(run).rejects.toMatchObject({ name: 'CancelledError' });
  });

  it('setCalibration, exportModel and importModel round-trip the model', async () => {
    await h.setCalibration({ modelId: 'm', calibration: { ...summary.calibration!, threshold: 123 } }, ctx());
    const exported = await h.exportModel({ modelId: 'm', name: 'exported', includeBackbone: true }, ctx());
    const imported = await h.importModel({ bytes: exported.result }, ctx());
    expect(imported.result.name).toBe('exported');
    expect(imported.result.weights).toBeNull(); // the engine has these weights already
    expect(imported.result.summary.calibration!.threshold).toBe(123);
    await h.loadModel({ modelId: 'copy', bytes: imported.result.bytes, calibration: imported.result.summary.calibration }, ctx());
    const a = await h.analyze({ modelId: 'm', image: pngBlob(syntheticPart(SIZE, 80)), map: false }, ctx());
    const b = await h.analyze({ modelId: 'copy', image: pngBlob(syntheticPart(SIZE, 80)), map: false }, ctx());
    expect(b.result.score).toBeCloseTo(a.result.score, 5);
    await h.unloadModel({ modelId: 'copy' }, ctx());
    await expect(h.analyze({ modelId: 'copy', image: pngBlob(syntheticPart(SIZE, 80)), map: false }, ctx())).rejects.toThrow(/not loaded/);
  });

  it('compareBackends runs the same features on two backends and goes back to the first', async () => {
    const r = await h.compareBackends({ modelId: null, backbone: 'squeezenet1_1', size: SIZE, backends: ['wasm', 'cpu'] }, ctx());
    expect(r.result.rows.map((row) => row.backend)).toEqual(['wasm', 'cpu']);
    expect(r.result.featureRelDiff).toBeLessThan(1e-3);
    expect(session.engine.backends.info!.name).toBe('wasm');
    expect(session.engine.backends.plan.backend, 'the plan is back with the backend').toBe('wasm');
    // Models rebuild on the backend they are back on.
    expect(Number.isFinite((await h.analyze({ modelId: 'm', image: pngBlob(syntheticPart(SIZE, 3)), map: false }, ctx())).result.score)).toBe(true);
  });

  it('an official DifferNet checkpoint gives its backbone, then, asked explicitly, its flow as a model', async () => {
    const r = await h.loadWeights({ source: { kind: 'bytes', bytes: bytesOf(readShared('reference', 'differnet-reference-small.pth')) }, name: 'ref.pth' }, ctx());
    expect(r.result.weights.id).toBe('alexnet');
    expect(r.result.checkpoint).toMatchObject({ id: expect.any(String) });
    expect(r.result.checkpoint!.tensors).toBeGreaterThan(0);
    const flow = await h.importCheckpoint({ checkpoint: r.result.checkpoint!.id }, ctx());
    expect(flow.result.summary).toMatchObject({ backbone: 'alexnet', weightsHash: r.result.weights.hash, calibration: null });
    expect(flow.transfer).toEqual([flow.result.bytes]);
    // Held once: a second import (or a stale id) is refused with a message.
    await expect(h.importCheckpoint({ checkpoint: r.result.checkpoint!.id }, ctx())).rejects.toThrow(/no longer held/);
    const loaded = await h.loadModel({ modelId: 'ck', bytes: flow.result.bytes, calibration: null }, ctx());
    expect(loaded.result.flow.inputDim).toBe(flow.result.summary.flow.inputDim);
  });
});
