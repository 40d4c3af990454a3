import { parentPort, workerData } from 'node:worker_threads';
import { initNodeBackend } from '../../src/core/node/backend';
import type { Job, WorkerInit, WorkerMessage } from './protocol';
import { JobRunner } from './runner';

const port = parentPort!;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  // Each worker thread is a process of its own to TF.js: it chooses its plan from the same inputs.
  const plan = await initNodeBackend();
  const runner = JobRunner.create(workerData as WorkerInit, plan.features);
  port.on('message', async (job: Job) => {
    const r = await runner.run(job);
    post(r, r.ok ? [(r.kind === 'copies' ? r.rows : r.map).buffer as ArrayBuffer] : []);
  });
  post({ ready: true, backend: plan.backend });
} catch (e) {
  post({ ready: false, error: (e as Error).message });
}
