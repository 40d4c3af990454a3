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
