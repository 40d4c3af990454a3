// The stores on the REAL engine: the app's EngineClient, the worker's protocol over a MessageChannel, an
// engine session on TF.js's WASM backend, SqueezeNet 1.1's ImageNet weights and a tiny flow trained on a
// few MTD tiles. The other store tests use a fake engine client for the stores' own rules; these hold the
// protocol's meaning: a trained model is saved and inspects, evaluate scores what inspect scores, a model
// exported and imported scores the same, and the engine's errors reach the user as messages.
// The tests run in order on one engine: the later ones use the model the first one trains.
import 'fake-indexeddb/auto';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../../../cli/io/decode';
import { installLocalStorage } from '../../../test/support/appStores';
import { readShared, sharedPath } from '../../../test/support/shared';
import { setupTf } from '../../../test/support/tf';
import { nodeEngineClient, pngBlob } from '../../../test/support/worker';
import { judge } from '../../core/inspection/verdict';
import { DEFAULT_SETTINGS, type ModelSettings } from '../../core/model/settings';
import type { EngineClient } from '../../worker/client';

const real = vi.hoisted(() => ({ engine: null as EngineClient | null, downloads: [] as { blob: Blob; name: string }[] }));
vi.mock('../engine', () => ({ engine: () => real.engine, wasmPaths: () => '' }));
vi.mock('../lib/download', async (original) => ({
  ...(await original<typeof import('../lib/download')>()),
  downloadBlob: (blob: Blob, name: string) => void real.downloads.push({ blob, name }),
}));
installLocalStorage();

const { useEngine } = await import('./engine');
const { importModelFile, loadWeightsFile, startEngine } = await import('../services/weightsAndModels');
const { listWeights } = await import('../persistence/weights');
const { useModels } = await import('./models');
const { useTeach } = await import('./teach');
const { useInspect } = await import('./inspect');
const { useEvaluate } = await import('./evaluate');
const { useNotices } = await import('./notices');
const { queryVerdicts } = await import('../persistence/history');

const SIZE = 64;
const tiny: ModelSettings = {
  ...DEFAULT_SETTINGS,
  features: { size: SIZE, scales: 1 },
  flow: { blocks: 2, hidden: 32, clamp: 3 },
  train: { ...DEFAULT_SETTINGS.train, epochs: 1, subEpochs: 2, batchSize: 4 },
};

/** The first `n` MTD tiles of a folder, as PNG files (Node's decoder here reads PNG only). */
function mtd(folder: string, n: number): File[] {
  const names = readdirSync(sharedPath('datasets', 'mtd', folder)).filter((f) => f.endsWith('.jpg')).sort().slice(0, n);
  return names.map((f) => new File([pngBlob(decodeImage(readShared('datasets', 'mtd', folder, f), f))], f.replace(/\.jpg$/, '.png'), { type: 'image/png' }));
}

const noticeMessages = () => useNotices.getState().notices.map((n) => n.message);
const inspected = async () => vi.waitFor(() => expect(useInspect.getState().running).toBe(false), { timeout: 60_000 });

let close = () => {};
let modelId: string;
const goods = mtd('train/good', 8);
const probes = [...mtd('test/good', 2), ...mtd('test/blowhole', 2)];

beforeAll(async () => {
  await setupTf();
  const c = nodeEngineClient();
  real.engine = c.client;
  close = c.close;
  localStorage.setItem('differnet.backend', 'wasm');
  await startEngine();
  expect(useEngine.getState()).toMatchObject({ status: 'ready', backend: { name: 'wasm' } });
}, 60_000);

afterAll(() => close());

describe('stores on the real engine', () => {
  it('loads weights from a file, trains a model, saves it, and inspects with verdicts on the trail', async () => {
    const w = await loadWeightsFile(new File([new Uint8Array(readShared('weights', 'squeezenet1_1-imagenet.pth'))], 'squeezenet1_1-imagenet.pth'));
    expect(w).toMatchObject({ id: 'squeezenet1_1' });
    // In use, and kept for the next visit.
    expect(useEngine.getState().weights.squeezenet1_1).toEqual(w);
    expect((await listWeights()).map((k) => [k.id, k.hash, k.source])).toEqual([['squeezenet1_1', w!.hash, 'squeezenet1_1-imagenet.pth']]);
    const rec = await useModels.getState().create('Tile', 'squeezenet1_1');
    modelId = rec.id;
    await useModels.getState().update(modelId, { settings: tiny });
    useModels.getState().setActive(modelId);
    useTeach.setState({ modelId, images: goods.map((f, i) => ({ id: `g${i}`, name: f.name, blob: f, url: '', addedAt: i })), job: null, trainAbort: null });

    // The worker's progress messages drive the training job the screen shows.
    const phases = new Set<string>();
    const unsubscribe = useTeach.subscribe((s) => s.job && phases.add(s.job.phase));
    expect(await useTeach.getState().train()).toBe(true);
    unsubscribe();
    expect(phases).toEqual(new Set(['features', 'flow', 'calibrate']));
    const trained = useModels.getState().active()!;
    expect(trained).toMatchObject({ version: 1, settings: tiny, training: { images: 6, heldOut: 2, backend: 'wasm' } });
    expect(trained.calibration!.threshold).toBeGreaterThan(0);
    expect(noticeMessages()).toContain('"Tile" trained on 6 images; 2 more were held out to set the threshold.');

    useInspect.getState().add([...probes.map((file) => ({ file, path: file.name })), { file: new File([new Uint8Array([1, 2, 3])], 'broken.png', { type: 'image/png' }), path: 'broken.png' }]);
    await inspected();
    const items = useInspect.getState().items;
    expect(items.map((i) => i.status)).toEqual(['done', 'done', 'done', 'done', 'error']);
    // The engine's decode error reaches the row, naming the dropped file.
    expect(items[4].error).toMatch(/^broken\.png: not a readable image \(image\/png, 3 bytes\)/);
    for (const it of items.slice(0, 4)) {
      expect(it.score).toBeGreaterThan(0);
      expect(it.map!.length).toBe(it.mapWidth! * it.mapHeight!);
      expect(it.judgedBy).toMatchObject({ modelId, version: 1, calibration: trained.calibration });
    }
    // Each score went to the trail as a verdict by the calibrated threshold.
    await vi.waitFor(async () => expect(await queryVerdicts()).toHaveLength(4));
    const trail = await queryVerdicts();
    for (const it of items.slice(0, 4)) {
      const v = trail.find((r) => r.imageName === it.name)!;
      expect(v).toMatchObject({ rawScore: it.score, rawThreshold: trained.calibration!.threshold, model: { id: modelId, version: 1 } });
      expect(v.verdict).toBe(judge(it.score!, trained.calibration!).verdict === 'defect' ? 'DEFECT' : 'OK');
    }
  }, 240_000);

  it('evaluate scores an MVTec-style folder as inspect scored it, with pixel AUROC from its masks and per-image errors', async () => {
    const [g1, g2, d1, d2] = probes;
    const mask = (f: File) => {
      const name = f.name.replace(/\.png$/, '_mask.png');
      return new File([new Uint8Array(readShared('datasets', 'mtd', 'ground_truth', 'blowhole', name))], name, { type: 'image/png' });
    };
    const broken = new File([new Uint8Array([1, 2, 3])], 'broken.png', { type: 'image/png' });
    useEvaluate.getState().addFolder([
      ...[g1, g2].map((file) => ({ file, path: `mtd/test/good/${file.name}` })),
      ...[d1, d2, broken].map((file) => ({ file, path: `mtd/test/blowhole/${file.name}` })),
      ...[d1, d2].map((f) => ({ file: mask(f), path: `mtd/ground_truth/blowhole/${mask(f).name}` })),
    ]);
    await useEvaluate.getState().run();
    const items = useEvaluate.getState().items;
    expect(items.map((i) => [i.label, i.category, Boolean(i.mask)])).toEqual([
      [0, 'good', false],
      [0, 'good', false],
      [1, 'blowhole', true],
      [1, 'blowhole', true],
      [1, 'blowhole', false],
    ]);
    const inspectScore = (name: string) => useInspect.getState().items.find((i) => i.name === name)!.score!;
    for (const it of items.slice(0, 4)) expect(it.score).toBeCloseTo(inspectScore(it.name.split('/').at(-1)!), 4);
    expect(items[4].score).toBeNaN();
    expect(items[4].error).toMatch(/broken\.png: not a readable image/);
    const { pixelAuroc } = useEvaluate.getState().metrics!;
    expect(pixelAuroc).toBeGreaterThan(0);
    expect(pixelAuroc).toBeLessThanOrEqual(1);
    expect(useEvaluate.getState()).toMatchObject({ running: false, scoredBy: { id: modelId, version: 1 } });
  }, 120_000);

  it('a model exported and imported back is offered as a copy, and the copy scores the same', async () => {
    await useModels.getState().exportModel(modelId);
    expect(real.downloads.map((d) => d.name)).toEqual(['Tile.differnet']);
    const file = new File([real.downloads[0].blob], 'Tile.differnet');
    const importing = importModelFile(file);
    await vi.waitFor(() => expect(useModels.getState().duplicate).toMatchObject({ fileName: 'Tile.differnet', existing: 'Tile' }));
    await useModels.getState().duplicate!.finish(true);
    await importing;
    const copy = useModels.getState().records.find((r) => r.id !== modelId)!;
    expect(copy).toMatchObject({ version: 1, settings: tiny, calibration: useModels.getState().records.find((r) => r.id === modelId)!.calibration });
    expect(await useModels.getState().ensureLoaded(copy.id)).toBe(true);
    const { score } = await real.engine!.call('analyze', { modelId: copy.id, image: probes[0], map: false });
    expect(score).toBeCloseTo(useInspect.getState().items[0].score!, 4);
  }, 120_000);

  it('cancelling a training stops the engine\'s run and keeps the model as it was', async () => {
    useModels.getState().setActive(modelId);
    useNotices.setState({ notices: [] });
    useTeach.setState({ modelId, images: goods.map((f, i) => ({ id: `c${i}`, name: f.name, blob: f, url: '', addedAt: i })), job: null, trainAbort: null });
    // Cancel once the worker has reported its first image: the request is under way in the engine.
    const unsubscribe = useTeach.subscribe((s) => {
      if (s.job && s.job.done > 0) useTeach.getState().cancel();
    });
    const trained = await useTeach.getState().train();
    unsubscribe();
    expect(trained).toBe(false);
    expect(noticeMessages()).toEqual(['Training cancelled; the previous version of the model is unchanged.']);
    expect(useModels.getState().active()).toMatchObject({ version: 1 });
    // The engine is free again and still holds version 1.
    const { score } = await real.engine!.call('analyze', { modelId, image: probes[0], map: false });
    expect(score).toBeCloseTo(useInspect.getState().items[0].score!, 4);
  }, 120_000);

  it('the engine\'s errors surface as messages and leave the models as they were', async () => {
    const before = useModels.getState().records;
    useNotices.setState({ notices: [] });
    await importModelFile(new File([new Uint8Array([1, 2, 3, 4])], 'junk.differnet'));
    expect(noticeMessages()).toHaveLength(1);
    expect(noticeMessages()[0]).toMatch(/^junk\.differnet was not imported: not a DifferNet Inspector model file \(expected a zip with manifest\.json\)/);
    expect(useModels.getState().records).toEqual(before);

    useModels.getState().setActive(modelId);
    useTeach.setState({ modelId, images: [...goods.slice(0, 3), new File([new Uint8Array([9])], 'bad.png', { type: 'image/png' })].map((f, i) => ({ id: `t${i}`, name: f.name, blob: f, url: '', addedAt: i })) });
    expect(await useTeach.getState().train()).toBe(false);
    expect(noticeMessages().at(-1)).toBe('Training failed (the previous version of the model is unchanged): bad.png: not a readable image (image/png, 1 bytes)');
    expect(useModels.getState().active()).toMatchObject({ version: 1 });
  }, 120_000);
});
