// What every request handler gets: the engine's parts, and per request a signal and a progress channel.
import type { BackendManager } from '../backends';
import type { decodeImage, decodeMask } from '../decode';
import type { ModelRegistry } from '../modelRegistry';
import type { EngineApi, EngineEvent, ProgressEvent, RequestType } from '../protocol';
import type { WeightsRegistry } from '../weightsRegistry';

export interface Ctx {
  signal: AbortSignal;
  progress: (p: ProgressEvent) => void;
}

export interface Reply<T> {
  result: T;
  transfer?: Transferable[];
}

export type Handler<K extends RequestType> = (args: EngineApi[K][0], ctx: Ctx) => Promise<Reply<EngineApi[K][1]>>;
export type Handlers = { [K in RequestType]: Handler<K> };

/** Turns the protocol's images into pixels: the browser's decoders in the worker, a PNG reader in Node tests. */
export interface Decoder {
  image: typeof decodeImage;
  mask: typeof decodeMask;
}

export interface Engine {
  backends: BackendManager;
  weights: WeightsRegistry;
  models: ModelRegistry;
  decoder: Decoder;
  emit: (e: EngineEvent) => void;
}
