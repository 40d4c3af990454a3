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

/**
 * Reads a Blob, reporting bytes read; a local file still takes seconds at 233 MB. A byte stream is read
 * straight into the one buffer (BYOB), so the file is in memory once, without as many bytes again of
 * chunks waiting for the garbage collector; other streams are copied chunk by chunk.
 */
export async function readBlob(blob: Blob, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const total = blob.size;
  let done = 0;
  let last = 0;
  const report = () => {
    if (done - last > total / 100 || done === total) {
      last = done;
      onProgress(done, total);
    }
  };
  const cancelled = async (reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader) => {
    await reader.cancel();
    throw new CancelledError('reading the file');
  };
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = blob.stream().getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream here: read chunks below.
  }
  let out: Uint8Array;
  if (byob) {
    let buffer = new ArrayBuffer(total);
    while (done < total) {
      if (signal?.aborted) await cancelled(byob);
      const { value, done: end } = await byob.read(new Uint8Array(buffer, done, Math.min(1 << 22, total - done)));
      if (!value) break;
      // read() hands the buffer back as value.buffer (the view passed in is detached).
      buffer = value.buffer as ArrayBuffer;
      done += value.byteLength;
      report();
      if (end) break;
    }
    out = new Uint8Array(buffer);
  } else {
    out = new Uint8Array(total);
    const reader = blob.stream().getReader();
    for (;;) {
      if (signal?.aborted) await cancelled(reader);
      const { value, done: end } = await reader.read();
      if (end) break;
      out.set(value, done);
      done += value.length;
      report();
    }
  }
  if (done !== total) throw new Error(`the file changed while it was read (${done} of ${total} bytes)`);
  return out;
}

/** A standalone ArrayBuffer holding exactly these bytes, safe to transfer. */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}
