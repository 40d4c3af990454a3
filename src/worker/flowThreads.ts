// Helper threads for the flow's training products, as Workers started from the helper's source. They need
// SharedArrayBuffer, which a cross-origin-isolated page has; elsewhere training runs on this thread alone.
import type { FlowThreads } from '../core/train/trainFlow';
import type { HelperThread, ThreadSpawner } from '../core/wasm/threads';

const spawnBrowserThread: ThreadSpawner = (source, init) =>
  new Promise<HelperThread>((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([`const next = (cb) => { self.onmessage = (e) => { self.onmessage = null; cb(e.data); }; };\nnext((init) => (${source})(init, (m) => self.postMessage(m), next));`], { type: 'text/javascript' }));
    const worker = new Worker(url);
    const done = () => {
      clearTimeout(timer);
      URL.revokeObjectURL(url);
      worker.onerror = null;
      worker.onmessage = null;
      worker.onmessageerror = null;
    };
    const fail = (why: string) => {
      done();
      worker.terminate();
      reject(new Error(`kernel helper thread failed to start: ${why}`));
    };
    const timer = setTimeout(() => fail('no answer within 30 s'), 30_000);
    worker.onerror = (e) => fail(e.message || 'the browser refused the worker');
    worker.onmessageerror = () => fail('it could not read its start-up message');
    worker.onmessage = () => {
      done();
      resolve({ post: (m) => worker.postMessage(m), terminate: () => worker.terminate() });
    };
    try {
      worker.postMessage(init);
    } catch (e) {
      fail((e as Error).message);
    }
  });

/** Every core but this one, when the page may share memory with workers; none otherwise. */
export function browserFlowThreads(): FlowThreads | undefined {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) return undefined;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return { helpers: Math.max(0, Math.min(cores, 8) - 1), spawn: spawnBrowserThread };
}
