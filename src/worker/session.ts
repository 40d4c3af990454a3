// The engine session living in the worker: the backend manager, the weights and model registries, and
// the request handlers over them (src/worker/handlers/), one module per kind of work.
import { BackendManager } from './backends';
import { decodeImage, decodeMask } from './decode';
import { analyzeHandler } from './handlers/analyze';
import { backendHandlers } from './handlers/backend';
import { compareBackendsHandler } from './handlers/compareBackends';
import { evaluateHandler } from './handlers/evaluate';
import { modelHandlers } from './handlers/models';
import { trainHandler } from './handlers/train';
import type { Decoder, Engine, Handlers } from './handlers/types';
import { weightsHandlers } from './handlers/weights';
import { ModelRegistry } from './modelRegistry';
import type { EngineEvent, GpuAdapterInfo } from './protocol';
import { WeightsRegistry } from './weightsRegistry';
import type { FlowThreads } from '../core/train/trainFlow';

export { DeviceLostError } from './backends';
export type { Ctx, Reply, Handlers } from './handlers/types';

export interface SessionOptions {
  /** How images become pixels; the browser's decoders by default. */
  decoder?: Decoder;
  /** WebGPU adapter probe; Node tests pass one that finds none. */
  probeGpu?: () => Promise<GpuAdapterInfo | null>;
  /** Helper threads for the WebAssembly kernels (BackendManagerOptions.threads). */
  threads?: FlowThreads;
}

export class EngineSession {
  readonly engine: Engine;
  readonly handlers: Handlers;

  constructor(emit: (e: EngineEvent) => void, opts: SessionOptions = {}) {
    const weights = new WeightsRegistry();
    const models = new ModelRegistry(weights, () => backends.plan);
    const backends: BackendManager = new BackendManager({
      emit,
      probeGpu: opts.probeGpu,
      threads: opts.threads,
      // Everything living on the current backend; it rebuilds lazily from bytes on the next one.
      release: () => {
        models.release();
        weights.release();
      },
    });
    this.engine = { backends, weights, models, decoder: opts.decoder ?? { image: decodeImage, mask: decodeMask }, emit };
    this.handlers = {
      ...backendHandlers(this.engine),
      ...weightsHandlers(this.engine),
      ...modelHandlers(this.engine),
      train: trainHandler(this.engine),
      analyze: analyzeHandler(this.engine),
      evaluate: evaluateHandler(this.engine),
      compareBackends: compareBackendsHandler(this.engine),
    };
  }
}
