// Node stand-ins for what the app's stores touch in a browser: the client of the engine worker (a fake
// answering requests in-process), localStorage, and model records.
import type { Calibration } from '../../src/core/inspection';
import type { ModelRecord } from '../../src/app/persistence/models';
import { DEFAULT_SETTINGS } from '../../src/core/model/settings';
import type { CallOptions } from '../../src/worker/client';
import type { EngineEvent, RequestArgs, RequestResult, RequestType } from '../../src/worker/protocol';

type Answer<K extends RequestType> = (args: RequestArgs<K>, opts: CallOptions) => Promise<RequestResult<K>> | RequestResult<K>;

/** An EngineClient look-alike: each request type answered by a function the test sets; calls recorded. */
export class FakeEngineClient {
  readonly calls: { type: RequestType; args: unknown }[] = [];
  private readonly answers = new Map<RequestType, Answer<RequestType>>();

  answer<K extends RequestType>(type: K, fn: Answer<K>): this {
    this.answers.set(type, fn as unknown as Answer<RequestType>);
    return this;
  }

  async call<K extends RequestType>(type: K, args: RequestArgs<K>, opts: CallOptions = {}): Promise<RequestResult<K>> {
    this.calls.push({ type, args });
    const fn = this.answers.get(type);
    if (!fn) throw new Error(`FakeEngineClient: no answer for ${type}`);
    return (await fn(args, opts)) as RequestResult<K>;
  }

  onEvent(_listener: (e: EngineEvent) => void): () => void {
    return () => undefined;
  }

  callsOf(type: RequestType): unknown[] {
    return this.calls.filter((c) => c.type === type).map((c) => c.args);
  }
}

/** A rejection as the client gives it for a cancelled request. */
export function cancelled(): Error {
  const e = new Error('cancelled');
  e.name = 'CancelledError';
  return e;
}

/** Resolves when `signal` aborts, rejecting like a cancelled request: a request that runs until cancelled. */
export function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (signal?.aborted) reject(cancelled());
    signal?.addEventListener('abort', () => reject(cancelled()), { once: true });
  });
}

/** Node 20 has no localStorage: a Map-backed one. */
export function installLocalStorage(): void {
  if (typeof globalThis.localStorage !== 'undefined') return;
  const m = new Map<string, string>();
  globalThis.localStorage = {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, String(v)),
    removeItem: (k: string) => void m.delete(k),
    clear: () => m.clear(),
    key: (i: number) => [...m.keys()][i] ?? null,
    get length() {
      return m.size;
    },
  } as Storage;
}

export function calibrationAt(threshold: number, method: Calibration['method'] = { kind: 'false-alarm-rate', rate: 0.05 }): Calibration {
  return {
    threshold,
    method,
    source: 'held-out',
    goodScores: [threshold / 2, threshold * 0.9],
    good: { n: 2, mean: threshold * 0.7, std: 0.1, min: threshold / 2, max: threshold * 0.9, median: threshold * 0.7 },
    guarantee: null,
    mapLow: 1,
    mapHigh: 2,
  } as unknown as Calibration;
}

export function modelRecord(patch: Partial<ModelRecord> = {}): ModelRecord {
  const now = new Date().toISOString();
  return {
    id: 'model-1',
    name: 'Part',
    backbone: 'squeezenet1_1',
    settings: DEFAULT_SETTINGS,
    createdAt: now,
    updatedAt: now,
    version: 1,
    calibration: calibrationAt(10),
    training: null,
    weightsHash: 'hash',
    fileBytes: 100,
    ...patch,
  };
}

/** A File with an image name (its bytes are never decoded by the stores under test). */
export function imageFile(name: string): File {
  return new File([new Uint8Array([1, 2, 3])], name, { type: 'image/png' });
}
