// Node-only: helper threads for the flow kernels, as worker_threads running the helper's source.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { FlowThreads } from '../train/trainFlow';
import type { HelperThread, ThreadSpawner } from '../wasm/threads';

export const nodeThreadSpawner: ThreadSpawner = (source, init) =>
  new Promise<HelperThread>((resolve, reject) => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');\nparentPort.once('message', (init) => (${source})(init, (m) => parentPort.postMessage(m), (cb) => parentPort.once('message', cb)));`,
      { eval: true },
    );
    let started = false;
    const fail = (e: Error) => {
      clearTimeout(timer);
      void worker.terminate();
      reject(new Error(`kernel helper thread failed to start: ${e.message}`));
    };
    const timer = setTimeout(() => fail(new Error('no answer within 30 s')), 30_000);
    // Kept after start-up too: an error event without a listener would end the process. A helper that fails
    // mid-training is noticed by the runner (its product never finishes, and the wait gives up).
    worker.on('error', (e: Error) => (started ? undefined : fail(e)));
    worker.once('exit', (code) => (started ? undefined : fail(new Error(`exited with code ${code}`))));
    worker.once('message', () => {
      started = true;
      clearTimeout(timer);
      // A helper never keeps the process alive on its own.
      worker.unref();
      resolve({ post: (m) => worker.postMessage(m), terminate: () => void worker.terminate() });
    });
    worker.postMessage(init);
  });

/** Every core but this thread's, for the flow's products; DIFFERNET_FLOW_THREADS (total threads) overrides. */
export function nodeFlowThreads(): FlowThreads {
  const asked = Number(process.env.DIFFERNET_FLOW_THREADS);
  const total = Number.isInteger(asked) && asked >= 1 ? asked : availableParallelism();
  return { helpers: Math.max(0, total - 1), spawn: nodeThreadSpawner };
}
