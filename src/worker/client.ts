import type { EngineEvent, FromWorker, ProgressEvent, RequestArgs, RequestResult, RequestType, SerializedError, ToWorker } from './protocol';

export interface CallOptions {
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Buffers and bitmaps handed over to the worker instead of copied. */
  transfer?: Transferable[];
}

/** An error raised in the worker, with its original name (CancelledError, PthError, WeightsError, ...). */
export class EngineError extends Error {
  constructor(e: SerializedError) {
    super(e.message);
    this.name = e.name;
  }
}

export function isCancelled(e: unknown): boolean {
  return e instanceof Error && (e.name === 'CancelledError' || e.name === 'AbortError');
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: ProgressEvent) => void;
}

/** Promise-per-request client of the engine worker, with progress callbacks and cancellation. */
export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.receive(e.data));
    worker.addEventListener('error', (e) => this.failAll(new Error(`the engine worker crashed: ${e.message || 'unknown error'}`)));
  }

  call<K extends RequestType>(type: K, args: RequestArgs<K>, opts: CallOptions = {}): Promise<RequestResult<K>> {
    const id = this.nextId++;
    if (opts.signal?.aborted) return Promise.reject(new EngineError({ name: 'CancelledError', message: `${type} cancelled` }));
    const signal = opts.signal;
    const onAbort = () => this.post({ kind: 'cancel', id });
    // A long-lived signal (the Live screen's lanes) sees thousands of calls: each removes its listener when it settles.
    const settle = <T,>(f: (v: T) => void) => (v: T) => {
      signal?.removeEventListener('abort', onAbort);
      f(v);
    };
    return new Promise<RequestResult<K>>((resolve, reject) => {
      this.pending.set(id, { resolve: settle(resolve as (v: unknown) => void), reject: settle(reject), onProgress: opts.onProgress });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.post({ kind: 'request', id, type, args } as ToWorker, opts.transfer ?? []);
    });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll(new Error('the engine was stopped'));
  }

  private post(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  private receive(msg: FromWorker): void {
    if (msg.kind === 'event') {
      for (const l of this.listeners) l(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.kind === 'progress') {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve(msg.result);
    else p.reject(new EngineError(msg.error));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
