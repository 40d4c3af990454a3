import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, isBackboneKey } from '../backbones';
import { Flow } from '../flow/flow';
import { fitWhitening } from '../flow/whitening';
import { readShared } from '../../../test/support/shared';
import { syntheticPart } from '../../../test/support/images';
import { setupTf } from '../../../test/support/tf';
import type { ExecutionPlan } from '../execution/executionPlan';
import { readPth } from '../torch';
import { calibrate } from '../inspection/calibration';
import { DifferNet } from './differnet';
import { loadModel, ModelFileError, readModelFile, saveModel, withoutBackbone } from './modelFile';
import { DEFAULT_SETTINGS, type ModelSettings } from './settings';

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

const settings: ModelSettings = { ...DEFAULT_SETTINGS, features: { size: 64, scales: 2 }, flow: { blocks: 2, hidden: 16, clamp: 3 } };

function model() {
  const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
  const flow = Flow.random({ inputDim: 1024, ...settings.flow }, 4);
  const m = new DifferNet(plan.features, bb, flow, settings, calibrate({ goodScores: [0.9, 1, 1.1], source: 'held-out', mapScale: { mapLow: 0.01, mapHigh: 0.2 } }, { kind: 'false-alarm-rate', rate: 0.3 }));
  return { bb, m };
}

function rezip(bytes: Uint8Array, edit: (files: Record<string, Uint8Array>) => void): Uint8Array {
  const files = unzipSync(bytes);
  edit(files);
  return zipSync(files);
}

type EditableManifest = { version: number; settings: ModelSettings };

/** The file with its manifest changed by `edit` (checksums of the tensors untouched). */
function withManifest(bytes: Uint8Array, edit: (man: EditableManifest) => void): Uint8Array {
  return rezip(bytes, (f) => {
    const man = JSON.parse(strFromU8(f['manifest.json']));
    edit(man);
    f['manifest.json'] = strToU8(JSON.stringify(man));
  });
}

describe('model file', () => {
  it('drops its bundled backbone into a flow-only file that loads on the same weights and scores alike', async () => {
    const { bb, m } = model();
    const full = await saveModel(m, { name: 'tiles', includeBackbone: true });
    const flowOnly = withoutBackbone(full);
    expect(flowOnly.length).toBeLessThan(full.length - 4 * 700_000);
    const { manifest, tensors } = readModelFile(flowOnly);
    expect(manifest.backbone.included).toBe(false);
    expect([...tensors.keys()].some((k) => k.startsWith('backbone.'))).toBe(false);
    expect(manifest.calibration).toEqual(m.calibration);
    expect(() => loadModel(flowOnly, plan.features)).toThrow(/load those weights first/);
    const { model: back } = loadModel(flowOnly, plan.features, bb);
    const img = syntheticPart(64, 2);
    expect(await back.score(img, { transforms: 2 })).toBe(await m.score(img, { transforms: 2 }));
    expect(withoutBackbone(flowOnly)).toBe(flowOnly);
    back.dispose();
    m.dispose();
    bb.dispose();
  });

  it('round-trips exactly, with and without the backbone', async () => {
    const { bb, m } = model();
    for (const includeBackbone of [true, false]) {
      const bytes = await saveModel(m, { name: 'tiles', includeBackbone });
      const { model: back, manifest, ownsBackbone } = loadModel(bytes, plan.features, includeBackbone ? undefined : bb);
      expect(manifest.name).toBe('tiles');
      expect(ownsBackbone).toBe(includeBackbone);
      expect(back.calibration).toEqual(m.calibration);
      expect(back.settings).toEqual(m.settings);
      const a = await m.flow.toStateDict();
      const b = await back.flow.toStateDict();
      for (const [k, v] of a) expect(b.get(k)!.data).toEqual(v.data);
      const img = syntheticPart(64, 1);
      expect(await back.score(img, { transforms: 2 })).toBe(await m.score(img, { transforms: 2 }));
      // Saving the loaded model gives the same tensors again.
      expect(readModelFile(await saveModel(back, { name: 'tiles', includeBackbone })).manifest.checksum).toBe(manifest.checksum);
      back.dispose();
      if (ownsBackbone) back.backbone.dispose();
    }
    m.dispose();
    bb.dispose();
  });

  it('keeps the framing of the training images; a file without one (older) loads and scores as before', async () => {
    const { bb, m } = model();
    const framing = { aspect: 4 / 3, aspectRange: [1.2, 1.5] as [number, number], region: { x: 0.125, y: 0, width: 0.75, height: 1 }, frame: { width: 640, height: 480 } };
    const framed = new DifferNet(plan.features, bb, m.flow, { ...settings, framing }, m.calibration);
    const { model: back, manifest } = loadModel(await saveModel(framed, { name: 'cam', includeBackbone: false }), plan.features, bb);
    expect(manifest.settings.framing).toEqual(framing);
    const old = loadModel(await saveModel(m, { name: 'old', includeBackbone: false }), plan.features, bb);
    expect(old.manifest.settings.framing).toBeUndefined();
    const img = syntheticPart(64, 3);
    // Scoring never reads the framing: the frame is cropped before the engine sees it.
    expect(await back.score(img)).toBe(await old.model.score(img));
    const bad = withManifest(await saveModel(framed, { name: 'x', includeBackbone: false }), (man) => void (man.settings.framing = { aspect: -1 }));
    expect(() => readModelFile(bad)).toThrow(/invalid framing/);
    back.dispose();
    old.model.dispose();
    m.dispose();
    bb.dispose();
  });

  it('keeps a whitened flow (version 2, scores exactly as before); a version 1 model is still written as version 1', async () => {
    const { bb, m } = model();
    expect(readModelFile(await saveModel(m, { name: 'plain', includeBackbone: false })).manifest.version).toBe(1);
    const rows = Float32Array.from({ length: 20 * 1024 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 1024) / 100) + Math.cos(i * 0.011));
    const whitening = await fitWhitening(rows, 20, 1024, { shrinkage: 0.05 });
    const ws: ModelSettings = { ...settings, flow: { ...settings.flow, whitening: 0.05 } };
    const wm = new DifferNet(plan.features, bb, Flow.random({ inputDim: 1024, ...settings.flow }, 4, { whitening }), ws, m.calibration);
    const bytes = await saveModel(wm, { name: 'whitened', includeBackbone: false });
    expect(readModelFile(bytes).manifest.version).toBe(2);
    const { model: back } = loadModel(bytes, plan.features, bb);
    expect(back.flow.whitening?.matrix).toEqual(whitening.matrix);
    const img = syntheticPart(64, 2);
    expect(await back.score(img, { transforms: 1 })).toBe(await wm.score(img, { transforms: 1 }));
    const editManifest = (edit: (man: EditableManifest) => void) => withManifest(bytes, edit);
    expect(() => loadModel(editManifest((man) => void delete man.settings.flow.whitening), plan.features, bb)).toThrow(/flow has a whitening its settings do not name/);
    expect(() => loadModel(editManifest((man) => (man.version = 1)), plan.features, bb)).toThrow(/whitened flow in a version 1 file/);
    expect(() => loadModel(editManifest((man) => (man.settings.flow.whitening = 7)), plan.features, bb)).toThrow(/invalid flow whitening/);
    back.dispose();
    wm.dispose();
    m.dispose();
    bb.dispose();
  });

  it('keeps a feature power (version 3, scores exactly as before); its settings and flow must agree', async () => {
    const { bb, m } = model();
    const rows = Float32Array.from({ length: 20 * 1024 }, (_, i) => Math.abs(Math.sin(i * 0.37) * (1 + (i % 1024) / 100) + Math.cos(i * 0.011)));
    const whitening = await fitWhitening(rows, 20, 1024, { shrinkage: 0.05, power: { exponent: 0.25, offset: 0.001 } });
    const ws: ModelSettings = { ...settings, flow: { ...settings.flow, whitening: 0.05, power: 0.25 } };
    const wm = new DifferNet(plan.features, bb, Flow.random({ inputDim: 1024, blocks: settings.flow.blocks, hidden: settings.flow.hidden, clamp: settings.flow.clamp }, 4, { whitening }), ws, m.calibration);
    const bytes = await saveModel(wm, { name: 'powered', includeBackbone: false });
    expect(readModelFile(bytes).manifest.version).toBe(3);
    const { model: back } = loadModel(bytes, plan.features, bb);
    expect(back.flow.whitening?.power).toEqual({ exponent: 0.25, offset: Math.fround(0.001) });
    const img = syntheticPart(64, 2);
    expect(await back.score(img, { transforms: 1 })).toBe(await wm.score(img, { transforms: 1 }));
    const editManifest = (edit: (man: EditableManifest) => void) => withManifest(bytes, edit);
    expect(() => loadModel(editManifest((man) => (man.version = 2)), plan.features, bb)).toThrow(/feature power in a version 2 file/);
    expect(() => loadModel(editManifest((man) => void delete man.settings.flow.power), plan.features, bb)).toThrow(/settings take the features to the power \(none\) but its flow to 0.25/);
    expect(() => loadModel(editManifest((man) => (man.settings.flow.power = 0.5)), plan.features, bb)).toThrow(/power 0.5 but its flow to 0.25/);
    expect(() => loadModel(editManifest((man) => (man.settings.flow.power = 3)), plan.features, bb)).toThrow(/invalid feature power/);
    expect(() => loadModel(editManifest((man) => void delete man.settings.flow.whitening), plan.features, bb)).toThrow(/invalid feature power/);
    back.dispose();
    wm.dispose();
    m.dispose();
    bb.dispose();
  });

  it('refuses an unknown version, a wrong checksum, and non-model files', async () => {
    const { bb, m } = model();
    const bytes = await saveModel(m, { name: 'x', includeBackbone: false });
    const future = withManifest(bytes, (man) => (man.version = 4));
    expect(() => readModelFile(future)).toThrow(/unsupported model file version 4/);
    const flipped = rezip(bytes, (f) => {
      f['tensors.bin'][100] ^= 0xff;
    });
    expect(() => readModelFile(flipped)).toThrow(/checksum/);
    expect(() => readModelFile(new Uint8Array([1, 2, 3]))).toThrow(ModelFileError);
    expect(() => readModelFile(bytes.subarray(0, bytes.length >> 1))).toThrow(ModelFileError);
    expect(() => loadModel(bytes, plan.features)).toThrow(/needs the squeezenet1_1 backbone/);
    m.dispose();
    bb.dispose();
  });
});
