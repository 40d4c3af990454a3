import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { initNodeBackend } from '../../src/core/nodeBackend';
import type { Job, JobResult, WorkerInit, WorkerMessage } from './protocol';
import { JobRunner } from './runner';

type DistJob = Job extends infer J ? (J extends Job ? Omit<J, 'id'> : never) : never;

/**
 * Node gets no WASM threads from TF.js, so the CLI runs one TF.js engine per core in worker threads and
 * hands each a whole image at a time.
 */
export class EnginePool {
  private nextId = 0;
  private readonly pending = new Map<number, (r: JobResult) => void>();
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];

  private constructor(
    private readonly workers: Worker[],
    private readonly local: JobRunner | null,
    readonly backend: string,
  ) {
    this.idle.push(...workers);
    for (const w of workers) {
      w.on('message', (r: WorkerMessage) => {
        if ('ready' in r) return;
        this.pending.get(r.id)?.(r);
        this.pending.delete(r.id);
        this.idle.push(w);
        this.pump();
      });
    }
  }

  get size(): number {
    return Math.max(1, this.workers.length);
  }

  static async create(init: WorkerInit, threads = defaultThreads()): Promise<EnginePool> {
    if (threads <= 1) {
      const backend = await initNodeBackend();
      return new EnginePool([], JobRunner.create(init), backend);
    }
    const workers = Array.from({ length: threads }, () => new Worker(new URL('./workerEntry.mjs', import.meta.url), { workerData: init }));
    const backends = await Promise.all(
      workers.map(
        (w) =>
          new Promise<string>((resolve, reject) => {
            w.once('error', reject);
            w.once('message', (m: WorkerMessage) => ('ready' in m ? (m.ready ? resolve(m.backend) : reject(new Error(m.error))) : reject(new Error('worker spoke before ready'))));
          }),
      ),
    ).catch(async (e) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    });
    return new EnginePool(workers, null, backends[0]);
  }

  run(job: DistJob): Promise<JobResult> {
    const full = { ...job, id: this.nextId++ } as Job;
    if (this.local) return this.local.run(full);
    return new Promise((resolve) => {
      this.pending.set(full.id, resolve);
      this.queue.push(full);
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) this.idle.pop()!.postMessage(this.queue.shift()!);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function defaultThreads(): number {
  const env = Number(process.env.DIFFERNET_THREADS);
  return Number.isFinite(env) && env > 0 ? env : availableParallelism();
}
