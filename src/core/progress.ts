export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(what = 'operation') {
    super(`${what} cancelled`);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

export interface Progress {
  done: number;
  total: number;
  /** Images (or image copies, where stated) processed per second so far. */
  rate: number;
  etaSeconds: number;
}

/** Rate and ETA from wall time since start. */
export class ProgressClock {
  private readonly start = now();
  constructor(readonly total: number) {}

  at(done: number): Progress {
    const elapsed = Math.max(1e-9, (now() - this.start) / 1000);
    const rate = done / elapsed;
    return { done, total: this.total, rate, etaSeconds: rate > 0 ? (this.total - done) / rate : Infinity };
  }

  elapsedSeconds(): number {
    return (now() - this.start) / 1000;
  }
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

let lastPause = now();

/**
 * Lets queued events run (in a worker: the Cancel message) at most every 50 ms. A loop whose every await
 * resolves at once (TF.js on WASM reads results synchronously) never yields to the event loop otherwise,
 * and a cancel arriving during flow training would wait for the whole phase.
 */
export async function pauseForEvents(): Promise<void> {
  if (now() - lastPause < 50) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  lastPause = now();
}
