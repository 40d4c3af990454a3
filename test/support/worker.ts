// Node stand-ins for the worker's browser parts: PNG blobs instead of camera frames and files, decoded with
// pngjs instead of createImageBitmap/OffscreenCanvas; an engine session on TF.js's WASM backend, called
// directly or through the app's EngineClient.
import { PNG } from 'pngjs';
import type { RgbaImage } from '../../src/core/image';
import { downscaleToFit } from '../../src/core/image';
import { ImageDecodeError } from '../../src/worker/decode';
import type { Decoder } from '../../src/worker/handlers/types';
import type { Ctx } from '../../src/worker/handlers/types';
import { EngineClient } from '../../src/worker/client';
import type { EngineEvent, ImageInput, ProgressEvent, ToWorker } from '../../src/worker/protocol';
import { serveEngine } from '../../src/worker/serve';
import { EngineSession } from '../../src/worker/session';

export function pngBlob(img: RgbaImage): Blob {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Blob([new Uint8Array(PNG.sync.write(png))], { type: 'image/png' });
}

async function pixels(input: ImageInput, name: string): Promise<RgbaImage> {
  if (!(input instanceof Blob)) throw new ImageDecodeError(`${name}: Node tests decode PNG blobs only`);
  try {
    const png = PNG.sync.read(Buffer.from(await input.arrayBuffer()));
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
  } catch {
    throw new ImageDecodeError(`${name}: not a readable image (${input.type || 'unknown type'}, ${input.size} bytes)`);
  }
}

/** The worker's decoders, for PNG blobs in Node (no ROI, nearest-pixel mask resize). */
export const nodeDecoder: Decoder = {
  async image(input, name, opts = {}) {
    if (opts.roi) throw new Error('nodeDecoder: no ROI support');
    return downscaleToFit(await pixels(input, name));
  },
  async mask(blob, name, width, height) {
    const img = await pixels(blob, name);
    const out = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
        const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
        out[y * width + x] = img.data[(sy * img.width + sx) * 4] > 127 ? 1 : 0;
      }
    }
    return out;
  },
};

/** A session as the worker runs it, with Node's decoders and no GPU; `events` collects what it emits. */
export function nodeSession(): { session: EngineSession; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  const session = new EngineSession((e) => events.push(e), { decoder: nodeDecoder, probeGpu: async () => null });
  return { session, events };
}

/** A request context: a signal (never aborted unless `signal` is given) and collected progress. */
export function ctx(signal: AbortSignal = new AbortController().signal): Ctx & { seen: ProgressEvent[] } {
  const seen: ProgressEvent[] = [];
  return { signal, progress: (p) => seen.push(p), seen };
}

/**
 * The app's EngineClient talking to a real engine session over a MessageChannel: the worker's protocol
 * (structured clone, transfers, progress, cancellation, errors by name) with Node's decoders in place of
 * the browser's. `close` ends the channel so that the test process can exit.
 */
export function nodeEngineClient(): { client: EngineClient; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  const receive = serveEngine((msg, transfer = []) => port2.postMessage(msg, transfer as Transferable[]), { decoder: nodeDecoder, probeGpu: async () => null });
  port2.addEventListener('message', (e) => receive((e as MessageEvent<ToWorker>).data));
  port2.start();
  const page = {
    addEventListener: port1.addEventListener.bind(port1),
    postMessage: (msg: ToWorker, transfer: Transferable[]) => port1.postMessage(msg, transfer),
    terminate: () => port1.close(),
  };
  const client = new EngineClient(page as unknown as Worker);
  port1.start();
  return {
    client,
    close: () => {
      port1.close();
      port2.close();
    },
  };
}
