// The worker's backend: which one runs (chosen, or measured at start-up), the WebGPU device-loss state
// machine, and `compute`, which queues a job on the backend and redoes it on WASM when the GPU goes away.
import { useBackend, type BackendName, type BackendOptions } from '../core/backend';
import { createExecutionPlan, type ExecutionPlan } from '../core/execution/executionPlan';
import { tfjsPoolThreads } from '../core/execution/tfjsThreads';
import { WasmFeatureEngine } from '../core/execution/wasmEngine';
import { simdSupported } from '../core/wasm/gemmKernels';
import type { FlowThreads } from '../core/train/trainFlow';
import { adapterLabel, forgetBackend, measure, probeWebGpu, webgpuDevice } from './backendChoice';
import { ImageDecodeError } from './decode';
import { JobQueue } from './jobs';
import type { BackendChoice, BackendInfo, BackendMeasurement, EngineEvent, GpuAdapterInfo } from './protocol';

/** The GPU device went away under a job (driver reset, GPU unplugged, browser reclaiming it). */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/** How long a job failed on the GPU waits for the device's loss to be reported before it counts as a plain failure. */
const LOSS_REPORT_GRACE_MS = 1000;

export interface BackendManagerOptions {
  /** Called before the backend changes: everything built on the current one must be freed. */
  release: () => void;
  emit: (e: EngineEvent) => void;
  /** Looks for a WebGPU adapter; injectable for Node, which has none (and, before Node 21, no `navigator`). */
  probeGpu?: () => Promise<GpuAdapterInfo | null>;
  /**
   * Helper threads for the WebAssembly kernels, the CNN's and the flow's (the engine worker: every core up
   * to 8 where memory can be shared); absent: this thread alone.
   */
  threads?: FlowThreads;
}

interface GpuWatch {
  token: number;
  lost: Promise<never>;
  fail: (e: DeviceLostError) => void;
  gone: DeviceLostError | null;
}

export class BackendManager {
  /** Folder (URL) of TF.js's .wasm files, set by `init`. */
  wasmPaths = '';
  /** Threads asked for the WASM backend; null: every core. */
  wasmThreads: number | null = null;
  private current: BackendInfo | null = null;
  private gpu: GpuAdapterInfo | null = null;
  private readonly queue = new JobQueue();
  private deviceWatch = 0;
  /** The WebGPU device in use: `lost` rejects with `gone` once it is known to be lost. Null on other backends. */
  private gpuWatch: GpuWatch | null = null;
  /** Settles once the engine is running again after the last device loss. */
  private recovery: Promise<unknown> = Promise.resolve();
  private readonly release: () => void;
  private readonly emit: (e: EngineEvent) => void;
  private readonly probeGpu: () => Promise<GpuAdapterInfo | null>;
  private readonly threads: FlowThreads | undefined;
  /** One for the worker's life, so that its compiled kernels outlive a visit to another backend. */
  private wasm: WasmFeatureEngine;
  /** The plan of the backend TF.js runs now (during `visit`, the one visited). */
  private active: ExecutionPlan | null = null;

  constructor(opts: BackendManagerOptions) {
    this.release = opts.release;
    this.emit = opts.emit;
    this.probeGpu = opts.probeGpu ?? probeWebGpu;
    this.threads = opts.threads;
    this.wasm = new WasmFeatureEngine(opts.threads ?? { helpers: 0 });
  }

  /**
   * Caps the WebAssembly kernels' threads (this one and its helpers) at `threads`, before the first backend
   * is chosen: the Live screen's map engine asks for one thread, and a helper beside it would contend with
   * the verdict engine's threads for the same cores.
   */
  capThreads(threads: number): void {
    if (this.active) throw new Error('the engine\'s threads are capped before its backend starts');
    const t = this.threads ?? { helpers: 0 };
    const helpers = Math.max(0, Math.min(t.helpers, threads - 1));
    if (helpers !== t.helpers) this.wasm = new WasmFeatureEngine({ ...t, helpers });
  }

  /** Threads of the engine's WebAssembly kernels where they run (this one and its helpers), for the label. */
  private kernelThreads(): number | undefined {
    if (!simdSupported()) return undefined;
    // Helpers need shared memory (a cross-origin isolated page) and a way to start them, as GemmRunner.create.
    const t = this.wasm.threads;
    return t.spawn && typeof SharedArrayBuffer !== 'undefined' ? t.helpers + 1 : 1;
  }

  /** The execution plan of the backend in use: what models and training run on. */
  get plan(): ExecutionPlan {
    if (!this.active) throw new Error('the engine has no backend yet: it is still starting');
    return this.active;
  }

  /** The backend in use, or null before the first choice. */
  get info(): BackendInfo | null {
    return this.current;
  }

  options(): BackendOptions {
    // The cores (TF.js's pool has at most 8), where the page may share memory with workers; of those, TF.js's
    // pool takes what core's policy gives it. An explicit count is passed even when it is 1: left out, TF.js
    // would take half the cores.
    const cores = globalThis.crossOriginIsolated ? Math.min(8, this.wasmThreads ?? globalThis.navigator?.hardwareConcurrency ?? 1) : 0;
    return { wasmPaths: this.wasmPaths, ...(cores > 0 ? { wasmThreads: tfjsPoolThreads(cores, simdSupported()) } : {}) };
  }

  adapter(name: BackendName): string {
    return adapterLabel(name, this.gpu, this.kernelThreads());
  }

  /** A job that does not compute on the device (a backend change, a comparison): queued, never retried. */
  run<T>(what: string, signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    return this.queue.run(what, signal, job);
  }

  /** Switches to `choice` (measuring for 'auto'); callers queue it with `run`. */
  async choose(choice: BackendChoice, why?: string): Promise<BackendInfo> {
    this.release();
    this.active = null;
    if (!this.gpu) this.gpu = await this.probeGpu();
    const measurements: BackendMeasurement[] = [];
    let name: BackendName;
    let reason: string;
    if (choice !== 'auto') {
      await this.switchTo(choice, this.options());
      name = choice;
      reason = why ?? 'chosen by you';
    } else if (this.gpu && !this.gpu.software && (await this.tryBackend('webgpu', measurements))) {
      name = 'webgpu';
      reason = 'a hardware WebGPU adapter is available';
    } else {
      if (this.gpu?.software) measurements.push({ backend: 'webgpu', ms: null, note: 'skipped: software adapter (CPU emulation)' });
      else measurements.push({ backend: 'webgpu', ms: null, note: 'no WebGPU adapter' });
      for (const b of ['wasm', 'webgl'] as const) measurements.push(await measure(b, this.options()));
      const ran = measurements.filter((m) => m.ms !== null).sort((a, b) => a.ms! - b.ms!);
      name = ran[0]?.backend ?? 'cpu';
      reason = ran.length > 0 ? `fastest in a start-up measurement (${ran.map((m) => `${m.backend} ${m.ms!.toFixed(0)} ms`).join(', ')})` : 'neither WASM nor WebGL could start';
      await this.switchTo(name, this.options());
    }
    this.current = {
      name,
      adapter: adapterLabel(name, this.gpu, this.kernelThreads()),
      reason,
      choice,
      measurements,
      webgpu: this.gpu,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
    this.watchDevice();
    return this.current;
  }

  /**
   * Runs `each` on every backend in turn, then goes back to the backend in use before without measuring
   * again. Everything built is released before each switch.
   */
  async visit(backends: BackendName[], each: (name: BackendName) => Promise<void>): Promise<void> {
    const previous = this.current;
    try {
      for (const b of backends) {
        this.release();
        await this.switchTo(b, this.options());
        await each(b);
      }
    } finally {
      this.release();
      if (previous) {
        await this.switchTo(previous.name, this.options());
        this.current = previous;
        this.watchDevice();
      }
    }
  }

  /**
   * A job that computes on the current backend, queued. When the GPU device is lost under it, the job
   * stops (its signal aborts) and, with `retry`, runs again once the engine is on WASM; without, it fails
   * with a message saying so. Either way it is never dropped silently.
   */
  async compute<T>(what: string, signal: AbortSignal, retry: boolean, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
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

  /** TF.js onto `name`, and the plan for it, chosen here and nowhere else in the worker. */
  private async switchTo(name: BackendName, opts: BackendOptions): Promise<void> {
    this.active = null;
    await useBackend(name, opts);
    this.active = createExecutionPlan({ backend: name, featureThreads: this.wasm.threads, flowThreads: this.threads, wasm: this.wasm });
  }

  private async tryBackend(name: BackendName, measurements: BackendMeasurement[]): Promise<boolean> {
    try {
      await this.switchTo(name, this.options());
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
    if (this.current?.name !== 'webgpu') return;
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
        this.release();
        // The dead device stays in TF.js's backend registry: a later WebGPU choice must ask for a new one.
        forgetBackend('webgpu');
        const info = await this.choose('wasm', `the WebGPU device was lost (${why})`);
        this.emit({ event: 'backendChanged', backend: info, message: `The GPU was lost (${why}); the engine switched to WASM.` });
      })
      .catch((e: unknown) => this.emit({ event: 'log', level: 'warn', message: `The GPU was lost (${why}) and WASM could not start: ${(e as Error).message}` }));
    watch.gone = new DeviceLostError(`the GPU was lost (${why})`);
    watch.fail(watch.gone);
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
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
