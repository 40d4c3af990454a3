// Helper threads for the flow's training products, as Workers started from the helper's source. They need
// SharedArrayBuffer, which a cross-origin-isolated page has; elsewhere training runs on this thread alone.
import type { FlowThreads } from '../core/train/trainFlow';
import type { HelperThread, ThreadSpawner } from '../core/wasm/threads';

const spawnBrowserThread: ThreadSpawner = (source, init) =>
  new Promise<HelperThread>((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([`self.onmessage = (e) => { self.onmessage = null; (${source})(e.data, (m) => self.postMessage(m)); };`], { type: 'text/javascript' }));
    const worker = new Worker(url);
    const done = () => URL.revokeObjectURL(url);
    worker.onerror = (e) => {
      done();
      worker.terminate();
      reject(new Error(`flow helper thread failed to start: ${e.message || 'the browser refused the worker'}`));
    };
    worker.onmessage = () => {
      done();
      worker.onerror = null;
      worker.onmessage = null;
      resolve({ terminate: () => worker.terminate() });
    };
    worker.postMessage(init);
  });

/** Every core but this one, when the page may share memory with workers; none otherwise. */
export function browserFlowThreads(): FlowThreads | undefined {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) return undefined;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return { helpers: Math.max(0, Math.min(cores, 8) - 1), spawn: spawnBrowserThread };
}
