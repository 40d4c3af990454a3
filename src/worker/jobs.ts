import { CancelledError } from '../core/progress';

/**
 * One TF.js job at a time: interleaving a training run with live frames at their awaits would make both
 * slow and double the peak memory, so work queues here in arrival order.
 */
export class JobQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(what: string, signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    const start = this.tail.then(() => {
      if (signal?.aborted) throw new CancelledError(what);
      return job();
    });
    // The next job waits for this one to settle, whatever its outcome.
    this.tail = start.catch(() => undefined);
    return start;
  }
}

/** Reads a Blob, reporting bytes read; a local file still takes seconds at 233 MB. */
export async function readBlob(blob: Blob, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const total = blob.size;
  const out = new Uint8Array(total);
  const reader = blob.stream().getReader();
  let done = 0;
  let last = 0;
  for (;;) {
    if (signal?.aborted) {
      await reader.cancel();
      throw new CancelledError('reading the file');
    }
    const { value, done: end } = await reader.read();
    if (end) break;
    out.set(value, done);
    done += value.length;
    if (done - last > total / 100 || done === total) {
      last = done;
      onProgress(done, total);
    }
  }
  if (done !== total) throw new Error(`the file changed while it was read (${done} of ${total} bytes)`);
  return out;
}

/** A standalone ArrayBuffer holding exactly these bytes, safe to transfer. */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}
