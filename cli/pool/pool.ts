import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ExecutionPlan } from '../../src/core/internal';
import type { Job, JobResult, WorkerInit, WorkerMessage } from './protocol';
import { JobRunner } from './runner';

type DistJob = Job extends infer J ? (J extends Job ? Omit<J, 'id'> : never) : never;

/** Starts a worker thread and waits for its engine; a worker that fails to start is terminated. */
function startWorker(init: WorkerInit): Promise<{ worker: Worker; backend: string }> {
  const worker = new Worker(new URL('./workerEntry.mjs', import.meta.url), { workerData: init });
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      worker.off('exit', onExit);
      void worker.terminate();
      reject(e);
    };
    const onExit = (code: number) => fail(new Error(`worker thread stopped (exit code ${code}) while starting`));
    worker.once('error', fail);
    worker.once('exit', onExit);
    worker.once('message', (m: WorkerMessage) => {
      worker.off('error', fail);
      worker.off('exit', onExit);
      if (!('ready' in m)) fail(new Error('worker spoke before ready'));
      else if (!m.ready) fail(new Error(m.error));
      else resolve({ worker, backend: m.backend });
    });
  });
}

/**
 * Node gets no WASM threads from TF.js, so the CLI runs one TF.js engine per core in worker threads and
 * hands each a whole image at a time. A worker that dies (say, an out-of-memory abort on a huge image)
 * fails the job it held with an error naming the file, and a new worker takes its place.
 */
export class EnginePool {
  private nextId = 0;
  private readonly pending = new Map<number, (r: JobResult) => void>();
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  /** The job each busy worker holds. */
  private readonly busy = new Map<Worker, Job>();
  /** Workers being started in place of dead ones. */
  private starting = 0;
  private closed = false;
  /** Why the last replacement failed to start, for jobs left with no worker. */
  private startError: Error | null = null;
  private readonly workers: Worker[] = [];

  private constructor(
    workers: Worker[],
    private readonly init: WorkerInit | null,
    private readonly local: JobRunner | null,
    readonly backend: string,
    private readonly threads: number,
  ) {
    for (const w of workers) this.adopt(w);
  }

  get size(): number {
    return Math.max(1, this.threads);
  }

  /** `threads` worker threads (each choosing its plan as this process did), or with one, this thread on `plan`. */
  static async create(init: WorkerInit, plan: ExecutionPlan, threads = defaultThreads()): Promise<EnginePool> {
    if (threads <= 1) {
      return new EnginePool([], null, JobRunner.create(init, plan.features), plan.backend, 1);
    }
    const started = await Promise.allSettled(Array.from({ length: threads }, () => startWorker(init)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.worker.terminate() : undefined)));
      throw failed.reason;
    }
    const workers = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; backend: string }>).value);
    return new EnginePool(
      workers.map((w) => w.worker),
      init,
      null,
      workers[0].backend,
      threads,
    );
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

  /**
   * Test seam: the live worker threads and those holding a job, so that a test can stop one as an
   * out-of-memory abort would. Nothing in the CLI reads it.
   */
  threadsForTest(): { all: readonly Worker[]; busy: readonly Worker[] } {
    return { all: [...this.workers], busy: [...this.busy.keys()] };
  }

  private adopt(w: Worker): void {
    this.workers.push(w);
    this.idle.push(w);
    let error: Error | null = null;
    w.on('message', (r: WorkerMessage) => {
      if ('ready' in r) return;
      this.busy.delete(w);
      this.settle(r);
      this.idle.push(w);
      this.pump();
    });
    // An uncaught exception in the worker: 'exit' follows, and says it to the job.
    w.on('error', (e: Error) => (error = e));
    w.once('exit', (code) => this.lost(w, code, error));
  }

  private settle(r: JobResult): void {
    this.pending.get(r.id)?.(r);
    this.pending.delete(r.id);
  }

  private lost(w: Worker, code: number, error: Error | null): void {
    this.workers.splice(this.workers.indexOf(w), 1);
    if (this.idle.includes(w)) this.idle.splice(this.idle.indexOf(w), 1);
    const job = this.busy.get(w);
    this.busy.delete(w);
    if (this.closed) return;
    if (job) {
      const why = error ? `: ${error.message}` : ' (out of memory on a large image, or killed)';
      this.settle({ id: job.id, ok: false, error: `${job.imagePath}: the worker thread running this image stopped (exit code ${code})${why}` });
    }
    this.replace();
  }

  private replace(): void {
    if (!this.init) return;
    this.starting++;
    startWorker(this.init).then(
      ({ worker }) => {
        this.starting--;
        if (this.closed) {
          void worker.terminate();
          return;
        }
        this.adopt(worker);
        this.pump();
      },
      (e: Error) => {
        this.starting--;
        this.startError = e;
        this.pump();
      },
    );
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(w, job);
      w.postMessage(job);
    }
    // Nothing left to run the queue on: say so instead of waiting for ever.
    if (!this.workers.length && !this.starting) {
      const why = this.startError ? ` (a new one failed to start: ${this.startError.message})` : '';
      for (const job of this.queue.splice(0)) this.settle({ id: job.id, ok: false, error: `${job.imagePath}: no worker thread left to run it${why}` });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function defaultThreads(): number {
  const env = Number(process.env.DIFFERNET_THREADS);
  return Number.isFinite(env) && env > 0 ? env : availableParallelism();
}
