// The engine session living in the worker: backend, backbone weights, models, and the request handlers.
import {
  calibrate,
  CancelledError,
  createBackbone,
  currentBackend,
  DEFAULT_SETTINGS,
  DifferNet,
  evaluationReport,
  featureDim,
  Flow,
  heatPalette,
  isBackboneKey,
  mapScaleFromGood,
  loadModel,
  multiScaleFeatures,
  PAPER_SETTINGS,
  pixelAuroc,
  readModelFile,
  readPth,
  saveModel,
  scoreFeatureRows,
  trainModel,
  useBackend,
  CALIBRATION_MAPS,
  withRotations,
  type Backbone,
  type BackboneId,
  type BackendName,
  type Calibration,
  type ImageSource,
  type TrainEvent,
  type ModelManifest,
  type ModelSettings,
  type StateDict,
} from '../core';
import * as tf from '@tensorflow/tfjs';
import { adapterLabel, forgetBackend, measure, probeWebGpu, webgpuDevice } from './backendChoice';
import { decodeImage, decodeMask, downsampleMap, ImageDecodeError } from './decode';
import { JobQueue, readBlob } from './jobs';
import {
  type BackendChoice,
  type BackendInfo,
  type BackendMeasurement,
  type EngineApi,
  type EngineEvent,
  type GpuAdapterInfo,
  type ModelSummary,
  type ProgressEvent,
  type RequestType,
  type WeightsInfo,
} from './protocol';
import { decodeWeightsFile, encodeWeightsFile, isWeightsFile } from '../core/model/weightsFile';

export interface Ctx {
  signal: AbortSignal;
  progress: (p: ProgressEvent) => void;
}

export interface Reply<T> {
  result: T;
  transfer?: Transferable[];
}

type Handlers = { [K in RequestType]: (args: EngineApi[K][0], ctx: Ctx) => Promise<Reply<EngineApi[K][1]>> };

interface ModelEntry {
  bytes: Uint8Array;
  manifest: ModelManifest;
  calibration: Calibration | null;
  /** Built lazily on the current backend; dropped when the backend changes. */
  built: { model: DifferNet; ownsBackbone: boolean } | null;
}

const FLOW_KEY = /(^|\.)module_list\.\d+\./;

function summaryOf(manifest: ModelManifest, calibration: Calibration | null, fileBytes: number): ModelSummary {
  return {
    backbone: manifest.backbone.id,
    weightsHash: manifest.backbone.weightsHash,
    flow: manifest.flow,
    settings: manifest.settings,
    calibration,
    training: manifest.training,
    fileBytes,
  };
}

/** A standalone ArrayBuffer holding exactly these bytes, safe to transfer. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}

/** The GPU device went away under a job (driver reset, GPU unplugged, browser reclaiming it). */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/** How long a job failed on the GPU waits for the device's loss to be reported before it counts as a plain failure. */
const LOSS_REPORT_GRACE_MS = 1000;

function paramCount(sd: StateDict): number {
  let n = 0;
  for (const t of sd.values()) n += t.data.length;
  return n;
}

export class EngineSession {
  private wasmPaths = '';
  private info: BackendInfo | null = null;
  private gpu: GpuAdapterInfo | null = null;
  private readonly weights = new Map<BackboneId, { sd: StateDict; info: WeightsInfo }>();
  private readonly backbones = new Map<BackboneId, Backbone>();
  private readonly models = new Map<string, ModelEntry>();
  private readonly queue = new JobQueue();
  private deviceWatch = 0;
  /** The WebGPU device in use: `lost` rejects with `gone` once it is known to be lost. Null on other backends. */
  private gpuWatch: { token: number; lost: Promise<never>; fail: (e: DeviceLostError) => void; gone: DeviceLostError | null } | null = null;
  /** Settles once the engine is running again after the last device loss. */
  private recovery: Promise<unknown> = Promise.resolve();

  constructor(private readonly emit: (e: EngineEvent) => void) {}

  readonly handlers: Handlers = {
    init: async ({ wasmPaths, choice }) => {
      this.wasmPaths = wasmPaths;
      const backend = await this.queue.run('start-up', undefined, () => this.chooseBackend(choice));
      const palette = heatPalette();
      return { result: { backend, palette, presets: { default: DEFAULT_SETTINGS, paper: PAPER_SETTINGS } } };
    },

    setBackend: async ({ choice }, ctx) => ({ result: await this.queue.run('backend change', ctx.signal, () => this.chooseBackend(choice)) }),

    loadWeights: async ({ source, name }, ctx) => {
      const bytes =
        source.kind === 'bytes'
          ? new Uint8Array(source.bytes)
          : await readBlob(source.blob, (done, total) => ctx.progress({ phase: 'read', done, total }), ctx.signal);
      ctx.progress({ phase: 'parse', done: 0, total: 1, message: 'reading tensors' });
      return this.compute('loading weights', ctx.signal, true, async () => {
        if (isWeightsFile(bytes)) {
          const { manifest, stateDict } = decodeWeightsFile(bytes);
          const info = this.adoptWeights(stateDict, manifest.id, manifest.source || name);
          if (info.hash !== manifest.hash) throw new Error(`${name}: damaged weights file (content hash ${info.hash}, expected ${manifest.hash})`);
          return { result: { weights: info, cache: null, flow: null } };
        }
        let sd: StateDict;
        try {
          let shown = 0;
          sd = readPth(bytes, {
            include: (k) => isBackboneKey(k) || FLOW_KEY.test(k),
            onProgress: (f) => {
              if (f - shown < 0.02 && f < 1) return;
              shown = f;
              ctx.progress({ phase: 'parse', done: f, total: 1 });
            },
          });
        } catch (e) {
          throw prefixed(name, e);
        }
        let info: WeightsInfo;
        try {
          info = this.adoptWeights(sd, undefined, name);
        } catch (e) {
          throw prefixed(name, e);
        }
        const cache = encodeWeightsFile(info.id, info.hash, name, this.weights.get(info.id)!.sd);
        const flow = [...sd.keys()].some((k) => FLOW_KEY.test(k)) ? await this.importFlow(sd, info.id, name) : null;
        const transfer: Transferable[] = [cache.buffer as ArrayBuffer];
        if (flow) transfer.push(flow.bytes);
        return { result: { weights: info, cache: cache.buffer as ArrayBuffer, flow }, transfer };
      });
    },

    loadModel: async ({ modelId, bytes, calibration }) => {
      const u8 = new Uint8Array(bytes);
      const { manifest } = readModelFile(u8);
      this.dropModel(modelId);
      this.models.set(modelId, { bytes: u8, manifest, calibration, built: null });
      return { result: summaryOf(manifest, calibration, u8.length) };
    },

    unloadModel: async ({ modelId }) => {
      this.dropModel(modelId);
      return { result: undefined };
    },

    // A training interrupted by a lost GPU is reported, not restarted: redoing minutes of work unasked,
    // with a loss curve starting over, would surprise more than a message saying to press Train again.
    train: async (args, ctx) =>
      this.compute('training', ctx.signal, false, async (signal) => {
        const backbone = this.backbone(args.backbone);
        const source: ImageSource = { count: args.images.length, load: (i) => decodeImage(args.images[i], args.names[i]) };
        const model = await trainModel(backbone, source, args.settings, {
          signal,
          backend: currentBackend(),
          falseAlarmRate: args.falseAlarmRate,
          onProgress: (e: TrainEvent) => {
            if (e.phase === 'flow') ctx.progress({ phase: 'flow', done: e.progress.step, total: e.progress.totalSteps, etaSeconds: e.progress.etaSeconds, loss: e.progress.loss });
            else ctx.progress({ phase: e.phase, done: e.progress.done, total: e.progress.total, etaSeconds: e.progress.etaSeconds });
          },
        });
        try {
          const bytes = await saveModel(model, { name: args.modelId, includeBackbone: false });
          const { manifest } = readModelFile(bytes);
          // Only now, with everything done, does the new version replace the old one.
          this.dropModel(args.modelId);
          this.models.set(args.modelId, { bytes, manifest, calibration: model.calibration, built: { model, ownsBackbone: false } });
          const copy = bytes.slice();
          return { result: { bytes: copy.buffer, summary: summaryOf(manifest, model.calibration, bytes.length) }, transfer: [copy.buffer] };
        } catch (e) {
          model.dispose();
          throw e;
        }
      }),

    setCalibration: async ({ modelId, calibration }) => {
      const entry = this.entry(modelId);
      entry.calibration = calibration;
      if (entry.built) entry.built.model.calibration = calibration;
      return { result: undefined };
    },

    analyze: async ({ modelId, image, map, transforms, roi }, ctx) =>
      this.compute('inspection', ctx.signal, true, async () => {
        const t0 = performance.now();
        const model = this.model(modelId);
        const img = await decodeImage(image, 'image', { roi });
        const opts = transforms ? { transforms } : undefined;
        if (!map) {
          const score = await model.score(img, opts);
          return { result: { score, mapWidth: 0, mapHeight: 0, width: img.width, height: img.height, ms: performance.now() - t0 } };
        }
        const dm = await model.defectMap(img, opts);
        const small = downsampleMap(dm.map, dm.width, dm.height);
        return {
          result: { score: dm.score, map: small.map, mapWidth: small.width, mapHeight: small.height, width: img.width, height: img.height, ms: performance.now() - t0 },
          transfer: [small.map.buffer as ArrayBuffer],
        };
      }),

    evaluate: async ({ modelId, items, maps, calibrate: method }, ctx) =>
      this.compute('evaluation', ctx.signal, true, async (signal) => {
        const model = this.model(modelId);
        const scores: number[] = [];
        const errors: (string | null)[] = [];
        const pixelMaps: Float32Array[] = [];
        const pixelMasks: Uint8Array[] = [];
        const withMasks = (maps && items.some((it) => it.mask)) || !!method;
        const goodMaps: Float32Array[] = [];
        const clock = performance.now();
        for (let i = 0; i < items.length; i++) {
          if (signal.aborted) throw new CancelledError('evaluation');
          const it = items[i];
          try {
            const img = await decodeImage(it.image, it.name);
            if (withMasks) {
              const dm = await model.defectMap(img);
              if (it.label === 0 && goodMaps.length < CALIBRATION_MAPS) goodMaps.push(dm.map);
              const small = downsampleMap(dm.map, dm.width, dm.height);
              // MVTec convention: good images count with an all-clear mask; defects without one are left out.
              if (it.mask || it.label === 0) {
                pixelMaps.push(small.map);
                pixelMasks.push(it.mask ? await decodeMask(it.mask, `${it.name} mask`, small.width, small.height) : new Uint8Array(small.map.length));
              }
              scores.push(dm.score);
            } else {
              scores.push(await model.score(img));
            }
            errors.push(null);
          } catch (e) {
            if (!(e instanceof ImageDecodeError)) throw e;
            scores.push(NaN);
            errors.push(e.message);
          }
          const elapsed = (performance.now() - clock) / 1000;
          ctx.progress({ phase: 'evaluate', done: i + 1, total: items.length, itemScore: scores[i], etaSeconds: (elapsed / (i + 1)) * (items.length - i - 1) });
        }
        const report = evaluationReport(
          items.map((it, i) => ({ score: scores[i], label: it.label, defect: it.defect ?? (it.label === 0 ? 'good' : 'defect') })),
          model.calibration?.threshold ?? null,
        );
        const pixel = pixelMasks.some((mk) => mk.some((v) => v === 1)) ? pixelAuroc(pixelMaps, pixelMasks) : null;
        let calibration: Calibration | null = null;
        if (method) {
          const goodScores = scores.filter((s, i) => items[i].label === 0 && Number.isFinite(s));
          const labelled = { scores: scores.filter(Number.isFinite), labels: items.filter((_, i) => Number.isFinite(scores[i])).map((it) => it.label) };
          if (goodScores.length > 0) calibration = calibrate({ goodScores, source: 'labelled', labelled, mapScale: mapScaleFromGood(goodMaps) }, method);
        }
        return { result: { scores, errors, report, pixelAuroc: pixel, calibration } };
      }),

    exportModel: async ({ modelId, name, includeBackbone }, ctx) =>
      this.compute('export', ctx.signal, true, async () => {
        const bytes = await saveModel(this.model(modelId), { name, includeBackbone });
        return { result: ownBuffer(bytes), transfer: [ownBuffer(bytes)] };
      }),

    importModel: async ({ bytes }, ctx) =>
      this.compute('import', ctx.signal, true, async () => {
        const u8 = new Uint8Array(bytes);
        const { manifest, tensors } = readModelFile(u8);
        let weights: { info: WeightsInfo; cache: ArrayBuffer } | null = null;
        if (manifest.backbone.included && !this.weights.has(manifest.backbone.id)) {
          const sd: StateDict = new Map();
          for (const [k, v] of tensors) if (k.startsWith('backbone.')) sd.set(k.slice('backbone.'.length), v);
          const info = this.adoptWeights(sd, manifest.backbone.id, `model file "${manifest.name}"`);
          weights = { info, cache: encodeWeightsFile(info.id, info.hash, info.source, this.weights.get(info.id)!.sd).buffer as ArrayBuffer };
        }
        const copy = u8.slice();
        const transfer: Transferable[] = [copy.buffer];
        if (weights) transfer.push(weights.cache);
        return { result: { bytes: copy.buffer, summary: summaryOf(manifest, manifest.calibration, u8.length), name: manifest.name, weights }, transfer };
      }),

    compareBackends: async (args, ctx) => this.queue.run('backend comparison', ctx.signal, () => this.compareBackends(args)),
  };

  // ---- backends ----

  private backendOptions() {
    // No thread count: TF.js's WASM kernels cap it at half the logical cores (1 on a 2-core machine) whatever is asked.
    return { wasmPaths: this.wasmPaths };
  }

  private async chooseBackend(choice: BackendChoice, why?: string): Promise<BackendInfo> {
    this.dropBuilt();
    if (!this.gpu) this.gpu = await probeWebGpu();
    const measurements: BackendMeasurement[] = [];
    let name: BackendName;
    let reason: string;
    if (choice !== 'auto') {
      await useBackend(choice, this.backendOptions());
      name = choice;
      reason = why ?? 'chosen by you';
    } else if (this.gpu && !this.gpu.software && (await this.tryBackend('webgpu', measurements))) {
      name = 'webgpu';
      reason = 'a hardware WebGPU adapter is available';
    } else {
      if (this.gpu?.software) measurements.push({ backend: 'webgpu', ms: null, note: 'skipped: software adapter (CPU emulation)' });
      else measurements.push({ backend: 'webgpu', ms: null, note: 'no WebGPU adapter' });
      for (const b of ['wasm', 'webgl'] as const) measurements.push(await measure(b, this.backendOptions()));
      const ran = measurements.filter((m) => m.ms !== null).sort((a, b) => a.ms! - b.ms!);
      name = ran[0]?.backend ?? 'cpu';
      reason = ran.length > 0 ? `fastest in a start-up measurement (${ran.map((m) => `${m.backend} ${m.ms!.toFixed(0)} ms`).join(', ')})` : 'neither WASM nor WebGL could start';
      await useBackend(name, this.backendOptions());
    }
    this.info = {
      name,
      adapter: adapterLabel(name, this.gpu),
      reason,
      choice,
      measurements,
      webgpu: this.gpu,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
    this.watchDevice();
    return this.info;
  }

  private async tryBackend(name: BackendName, measurements: BackendMeasurement[]): Promise<boolean> {
    try {
      await useBackend(name, this.backendOptions());
      return true;
    } catch (e) {
      measurements.push({ backend: name, ms: null, note: (e as Error).message });
      return false;
    }
  }

  /**
   * WebGPU devices can be lost (driver reset, GPU unplugged, the browser reclaiming it): fall back to WASM,
   * say so, and fail the job running on the device with DeviceLostError so `compute` can redo it there.
   */
  private watchDevice(): void {
    const token = ++this.deviceWatch;
    this.gpuWatch = null;
    if (this.info?.name !== 'webgpu') return;
    const device = webgpuDevice();
    if (!device) return;
    let fail: (e: DeviceLostError) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => (fail = reject));
    // Handled here so a loss with no job running is not an unhandled rejection.
    lost.catch(() => undefined);
    this.gpuWatch = { token, lost, fail, gone: null };
    void device.lost.then((info) => this.deviceGone(token, info.message || 'unknown reason'));
  }

  /**
   * The device of watch `token` is gone: once per device, queue the switch to WASM (before any retry of the
   * interrupted job) and fail whatever job still waits on the device.
   */
  private deviceGone(token: number, why: string): void {
    // Our own backend switches bump the token, so a loss reported now is real whatever its reason.
    const watch = this.gpuWatch;
    if (token !== this.deviceWatch || !watch) return;
    this.deviceWatch++;
    this.gpuWatch = null;
    this.recovery = this.queue
      .run('fallback', undefined, async () => {
        this.dropBuilt();
        // The dead device stays in TF.js's backend registry: a later WebGPU choice must ask for a new one.
        forgetBackend('webgpu');
        const info = await this.chooseBackend('wasm', `the WebGPU device was lost (${why})`);
        this.emit({ event: 'backendChanged', backend: info, message: `The GPU was lost (${why}); the engine switched to WASM.` });
      })
      .catch((e: unknown) => this.emit({ event: 'log', level: 'warn', message: `The GPU was lost (${why}) and WASM could not start: ${(e as Error).message}` }));
    watch.gone = new DeviceLostError(`the GPU was lost (${why})`);
    watch.fail(watch.gone);
  }

  /**
   * A job that computes on the current backend, queued. When the GPU device is lost under it, the job
   * stops (its signal aborts) and, with `retry`, runs again once the engine is on WASM; without, it fails
   * with a message saying so. Either way it is never dropped silently.
   */
  private async compute<T>(what: string, signal: AbortSignal, retry: boolean, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.queue.run(what, signal, () => this.unlessLost(signal, job));
    } catch (e) {
      if (!(e instanceof DeviceLostError) || signal.aborted) throw e;
      await this.recovery;
      if (!retry) throw new DeviceLostError(`${capitalised(what)} was interrupted: ${e.message}, and the engine switched to WASM. Start it again.`);
      this.emit({ event: 'log', level: 'info', message: `The ${what} interrupted by the GPU loss is being redone on WASM.` });
      return this.queue.run(what, signal, () => job(signal));
    }
  }

  private async unlessLost<T>(signal: AbortSignal, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const watch = this.gpuWatch;
    if (!watch) return job(signal);
    const stop = new AbortController();
    try {
      return await Promise.race([job(AbortSignal.any([signal, stop.signal])), watch.lost]);
    } catch (e) {
      if (e instanceof DeviceLostError || signal.aborted || e instanceof ImageDecodeError) throw e;
      // The device's own report can come seconds after its reads start failing (Chrome resolves `lost`
      // lazily): a GPU read aborted under us means the device went, and it is then declared gone here.
      if ((e as Error).name === 'AbortError') this.deviceGone(watch.token, 'a GPU read was aborted');
      else await Promise.race([watch.lost, new Promise((r) => setTimeout(r, LOSS_REPORT_GRACE_MS))]).catch(() => undefined);
      throw watch.gone ?? e;
    } finally {
      stop.abort();
    }
  }

  // ---- weights and models ----

  private adoptWeights(sd: StateDict, id: BackboneId | undefined, source: string): WeightsInfo {
    const bb = createBackbone(sd, id);
    const kept = bb.stateDict();
    const info: WeightsInfo = { id: bb.id, hash: bb.weightsHash, tensors: kept.size, params: paramCount(kept), source };
    // Models built on the replaced weights must rebuild on the new ones.
    for (const entry of this.models.values()) {
      if (entry.built && entry.manifest.backbone.id === bb.id && !entry.built.ownsBackbone) this.unbuild(entry);
    }
    this.backbones.get(bb.id)?.dispose();
    this.backbones.set(bb.id, bb);
    this.weights.set(bb.id, { sd: kept, info });
    return info;
  }

  private async importFlow(sd: StateDict, id: BackboneId, name: string): Promise<{ bytes: ArrayBuffer; summary: ModelSummary }> {
    const backbone = this.backbone(id);
    const flow = Flow.fromStateDict(sd, PAPER_SETTINGS.flow.clamp);
    try {
      const scales = flow.config.inputDim / backbone.featureWidth;
      if (!Number.isInteger(scales) || scales < 1) {
        throw new Error(`${name}: the flow takes ${flow.config.inputDim} features, which ${id} (${backbone.featureWidth} per scale) cannot produce`);
      }
      // The paper's features, flow and rotations (they come with the checkpoint), but the interactive
      // number of test rotations: 64 back-propagated copies per image take about a minute on a CPU.
      const settings: ModelSettings = {
        ...withRotations(PAPER_SETTINGS, true),
        features: { ...PAPER_SETTINGS.features, scales },
        flow: { blocks: flow.config.blocks, hidden: flow.config.hidden, clamp: flow.config.clamp },
      };
      const model = new DifferNet(backbone, flow, settings);
      const bytes = await saveModel(model, { name, includeBackbone: false });
      const { manifest } = readModelFile(bytes);
      return { bytes: ownBuffer(bytes), summary: summaryOf(manifest, null, bytes.length) };
    } finally {
      flow.dispose();
    }
  }

  private backbone(id: BackboneId): Backbone {
    let bb = this.backbones.get(id);
    if (!bb) {
      const w = this.weights.get(id);
      if (!w) throw new Error(`no ${id === 'alexnet' ? 'AlexNet' : 'SqueezeNet 1.1'} weights are loaded: add the PyTorch weights file first`);
      bb = createBackbone(w.sd, id);
      this.backbones.set(id, bb);
    }
    return bb;
  }

  private entry(modelId: string): ModelEntry {
    const entry = this.models.get(modelId);
    if (!entry) throw new Error('this model is not loaded in the engine (reload the page or import it again)');
    return entry;
  }

  private model(modelId: string): DifferNet {
    const entry = this.entry(modelId);
    if (!entry.built) {
      const id = entry.manifest.backbone.id;
      const ours = this.weights.get(id)?.info.hash === entry.manifest.backbone.weightsHash ? this.backbone(id) : undefined;
      const { model, ownsBackbone } = loadModel(entry.bytes, ours);
      model.calibration = entry.calibration;
      entry.built = { model, ownsBackbone };
    }
    return entry.built.model;
  }

  private unbuild(entry: ModelEntry): void {
    if (!entry.built) return;
    entry.built.model.dispose();
    if (entry.built.ownsBackbone) entry.built.model.backbone.dispose();
    entry.built = null;
  }

  private dropModel(modelId: string): void {
    const entry = this.models.get(modelId);
    if (entry) this.unbuild(entry);
    this.models.delete(modelId);
  }

  /** Frees everything living on the current backend; it rebuilds lazily from bytes on the next one. */
  private dropBuilt(): void {
    for (const entry of this.models.values()) {
      try {
        this.unbuild(entry);
      } catch {
        entry.built = null; // a lost GPU device cannot free its buffers; forget them
      }
    }
    for (const bb of this.backbones.values()) {
      try {
        bb.dispose();
      } catch {
        // as above
      }
    }
    this.backbones.clear();
  }

  // ---- diagnostics ----

  private async compareBackends(args: EngineApi['compareBackends'][0]): Promise<Reply<EngineApi['compareBackends'][1]>> {
    const previous = this.info;
    const entry = args.modelId ? this.entry(args.modelId) : null;
    // A model's flow needs its number of scales, and the smallest scale must stay big enough for the CNN.
    const cfg = entry ? { size: args.size * 2 ** (entry.manifest.settings.features.scales - 1), scales: entry.manifest.settings.features.scales } : { size: args.size, scales: 1 };
    const image = testPattern(cfg.size);
    const rows: EngineApi['compareBackends'][1]['rows'] = [];
    try {
      for (const b of args.backends) {
        this.dropBuilt();
        await useBackend(b, this.backendOptions());
        const t0 = performance.now();
        const backbone = this.backbone(args.backbone);
        const flow = entry ? this.model(args.modelId!).flow : Flow.random({ inputDim: featureDim(backbone, cfg), blocks: 2, hidden: 64, clamp: 3 }, 7);
        try {
          const f = tf.tidy(() => multiScaleFeatures(backbone, tf.tensor4d(image, [1, cfg.size, cfg.size, 3]), cfg));
          const features = Array.from((await f.data()) as Float32Array);
          f.dispose();
          const score = (await scoreFeatureRows(flow, Float32Array.from(features), features.length, 1))[0];
          rows.push({ backend: b, adapter: adapterLabel(b, this.gpu), features, score, ms: performance.now() - t0 });
        } finally {
          if (!entry) flow.dispose();
        }
      }
    } finally {
      // Back to the backend in use before, without measuring again.
      this.dropBuilt();
      if (previous) {
        await useBackend(previous.name, this.backendOptions());
        this.info = previous;
        this.watchDevice();
      }
    }
    const [a, b] = rows;
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < a.features.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a.features[i]));
      maxDiff = Math.max(maxDiff, Math.abs(a.features[i] - (b?.features[i] ?? a.features[i])));
    }
    return {
      result: {
        rows,
        featureRelDiff: maxDiff / Math.max(maxAbs, 1e-12),
        scoreRelDiff: b ? Math.abs(a.score - b.score) / Math.max(Math.abs(a.score), 1e-12) : 0,
        size: cfg.size,
      },
    };
  }
}

/** A deterministic, textured RGB image in [0, 1] so backend comparisons do not depend on user files. */
function testPattern(size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      out[i] = 0.5 + 0.5 * Math.sin(x * 0.37 + y * 0.11);
      out[i + 1] = 0.5 + 0.5 * Math.cos(x * 0.05 - y * 0.29);
      out[i + 2] = ((x * 7 + y * 13) % 17) / 16;
    }
  }
  return out;
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function prefixed(name: string, e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const out = new Error(`${name}: ${err.message}`);
  out.name = err.name;
  return out;
}
