import { parentPort, workerData } from 'node:worker_threads';
import { initNodeBackend } from '../../src/core/node/backend';
import type { Job, WorkerInit, WorkerMessage } from './protocol';
import { JobRunner } from './runner';

const port = parentPort!;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const backend = await initNodeBackend();
  const runner = JobRunner.create(workerData as WorkerInit);
  port.on('message', async (job: Job) => {
    const r = await runner.run(job);
    post(r, r.ok ? [(r.kind === 'copies' ? r.rows : r.map).buffer as ArrayBuffer] : []);
  });
  post({ ready: true, backend });
} catch (e) {
  post({ ready: false, error: (e as Error).message });
}
