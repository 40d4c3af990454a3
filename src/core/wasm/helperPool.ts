import { I32, type ValType } from './emit';
import { KERNELS, KERNEL_NAMES, type KernelName } from './gemmKernels';
import type { Kernel } from './kernelSpec';

/*
 * One pool of helper threads per spawner, i.e. per worker or process: the backbone's runner and the flow's
 * (threads.ts GemmRunner) share its threads instead of each starting its own. Each runner's module and
 * memory are attached to every helper as a numbered instance; a job names its instance, its kernel (by
 * opcode, its place in the kernel table) and the kernel's arguments, all in the helper's shared control
 * block. Jobs never overlap: a runner's call posts, computes its own part and waits, all synchronously on
 * the one thread that owns the pool.
 *
 * TF.js's WebAssembly backend keeps its own thread pool (its own module, built with Emscripten's pthreads);
 * it is not ours to share. Where both run at once (training: TF.js for the backbone's gradient, these kernels
 * for the flow), the cores are shared between the two pools.
 */

/** A started helper thread; the adapters (Node worker_threads, browser Workers) make them. */
export interface HelperThread {
  /** Posts a message that the helper's `next` callback receives (the instances it attaches). */
  post(message: unknown): void;
  terminate(): void;
}

/**
 * Starts a thread running `source`, a function expression `(init, post, next) => void`, with `init` posted
 * to it; `next(cb)` hands the thread's next message to cb. Resolves once the thread posts 'ready'.
 */
export type ThreadSpawner = (source: string, init: HelperInit) => Promise<HelperThread>;

export interface HelperInit {
  control: SharedArrayBuffer;
}

/** A module and memory to attach as instance `slot`. */
interface AttachMessage {
  slot: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const SEQ = 0;
const DONE = 1;
const OP = 2;
/** Set by a helper whose job threw; the caller then fails instead of waiting for it. */
const ERR = 3;
/** The instance a job runs on. */
const SLOT = 4;
const ARGS = 5;

const isInt = (t: ValType) => t === I32;
const count = (k: Kernel, int: boolean) => k.types.filter((t) => isInt(t) === int).length;
const KERNEL_LIST = KERNEL_NAMES.map((name) => [name, KERNELS[name] as Kernel] as const);
/** The control block holds the arguments of the kernel with the most (ints, then floats as float64). */
const INT_ARGS = Math.max(...KERNEL_LIST.map(([, k]) => count(k, true)));
const FLOAT_ARGS = Math.max(...KERNEL_LIST.map(([, k]) => count(k, false)));
const CONTROL_INTS = ARGS + INT_ARGS + ((ARGS + INT_ARGS) % 2);
const FLOATS_AT = 4 * CONTROL_INTS;
const CONTROL_BYTES = FLOATS_AT + 8 * FLOAT_ARGS;

const OP_STOP = 0;
/** Leave the job loop for one message (an instance to attach), then come back. */
const OP_ATTACH = 1;
/** Drop instance ctl[SLOT]. */
const OP_DETACH = 2;
/** A kernel's opcode: its place in the table, after the pool's own. */
const OPCODE = new Map<KernelName, number>(KERNEL_NAMES.map((name, i) => [name, i + 3]));

/** The helper's call of one kernel: ints from the control block's ints, floats from its floats, in parameter order. */
function dispatchLine([name, k]: readonly [KernelName, Kernel]): string {
  let ints = 0;
  let floats = 0;
  const args = k.types.map((t) => (isInt(t) ? `ctl[a + ${ints++}]` : `fl[${floats++}]`));
  return `if (op === ${OPCODE.get(name)}) k.${name}(${args.join(', ')});`;
}

/**
 * The helper's program, written out from the kernel table. It is a string, not a function of this module,
 * so that no bundler or loader can rewrite it into something that needs this module's scope.
 */
export const HELPER_SOURCE = `(init, post, next) => {
  const ctl = new Int32Array(init.control, 0, ${CONTROL_INTS});
  const fl = new Float64Array(init.control, ${FLOATS_AT}, ${FLOAT_ARGS});
  const instances = [];
  let seen = 0;
  const done = () => {
    Atomics.store(ctl, ${DONE}, seen);
    Atomics.notify(ctl, ${DONE});
  };
  const attach = (m) => {
    try {
      instances[m.slot] = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
    } catch (e) {
      Atomics.store(ctl, ${ERR}, 1);
    }
    done();
    serve();
  };
  const serve = () => {
    for (;;) {
      let spins = 0;
      while (Atomics.load(ctl, ${SEQ}) === seen) {
        if (++spins > 20000) Atomics.wait(ctl, ${SEQ}, seen);
      }
      seen = Atomics.load(ctl, ${SEQ});
      const op = ctl[${OP}];
      const a = ${ARGS};
      if (op === ${OP_STOP}) return;
      // The attach message waits in this thread's queue: return to the event loop to receive it.
      if (op === ${OP_ATTACH}) return next(attach);
      try {
        if (op === ${OP_DETACH}) instances[ctl[${SLOT}]] = undefined;
        else {
          const k = instances[ctl[${SLOT}]];
          ${KERNEL_LIST.filter(([, k]) => k.split).map(dispatchLine).join('\n          else ')}
          else throw new Error('unknown opcode ' + op);
        }
      } catch (e) {
        Atomics.store(ctl, ${ERR}, 1);
      }
      done();
    }
  };
  post('ready');
  serve();
}`;

/** One helper thread and its control block. */
export class Helper {
  private readonly ctl: Int32Array;
  private readonly floats: Float64Array;
  private seq = 0;

  constructor(
    readonly thread: HelperThread,
    control: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control, 0, CONTROL_INTS);
    this.floats = new Float64Array(control, FLOATS_AT, FLOAT_ARGS);
  }

  /** Hands kernel `name` on instance `slot` to the helper, with its arguments in parameter order. */
  post(slot: number, name: KernelName, args: number[]): void {
    const k = KERNELS[name] as Kernel;
    const ints: number[] = [];
    const floats: number[] = [];
    args.forEach((x, i) => (isInt(k.types[i]) ? ints : floats).push(x));
    // Sized from the table, so this means a kernel was added without the block growing with it.
    if (ints.length > INT_ARGS || floats.length > FLOAT_ARGS) {
      throw new Error(`kernel ${name}: ${ints.length} int and ${floats.length} float arguments do not fit the helpers' control block (${INT_ARGS} and ${FLOAT_ARGS})`);
    }
    ints.forEach((x, i) => (this.ctl[ARGS + i] = x));
    floats.forEach((x, i) => (this.floats[i] = x));
    this.signal(OPCODE.get(name)!, slot);
  }

  attach(m: AttachMessage): void {
    this.thread.post(m);
    this.signal(OP_ATTACH, m.slot);
  }

  detach(slot: number): void {
    this.signal(OP_DETACH, slot);
  }

  stop(): void {
    this.signal(OP_STOP, 0);
    this.thread.terminate();
  }

  private signal(op: number, slot: number): void {
    this.ctl[OP] = op;
    this.ctl[SLOT] = slot;
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.ctl, SEQ, this.seq);
    Atomics.notify(this.ctl, SEQ);
  }

  /** Waits for the job last posted; `what` names it in errors. */
  wait(what: string): void {
    let spins = 0;
    let waited = 0;
    while (Atomics.load(this.ctl, DONE) !== this.seq) {
      if (++spins > 20000) {
        // Waits on the value that means "still working" (DONE lags SEQ by one while a job is out): a value
        // read afresh here could already be the finished one, and the wait would sleep through its notify.
        // Timed, so that a helper that died (its thread gone, nothing to notify us) is noticed.
        if (Atomics.wait(this.ctl, DONE, (this.seq - 1) | 0, 1000) === 'timed-out' && ++waited >= 30) {
          throw new Error(`a kernel helper thread stopped answering (30 s without finishing its share of ${what})`);
        }
      }
    }
    if (Atomics.load(this.ctl, ERR)) throw new Error(`a kernel helper thread failed while computing its share of ${what}`);
  }
}

/** The helper threads of one worker or process, and the instances attached to them. */
export class HelperPool {
  readonly helpers: Helper[] = [];
  private readonly attached = new Map<number, AttachMessage>();
  private nextSlot = 0;
  /** Set when a helper failed: the pool is then retired, and the next runner gets a fresh one. */
  broken = false;

  constructor(private readonly spawn: ThreadSpawner) {}

  /** Starts helpers until there are `n`, each with the instances attached so far. */
  async grow(n: number): Promise<void> {
    while (this.helpers.length < n) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const helper = new Helper(await this.spawn(HELPER_SOURCE, { control }), control);
      this.helpers.push(helper);
      for (const m of this.attached.values()) this.settle(helper, () => helper.attach(m), 'attaching kernels');
    }
  }

  /** Attaches a module and its memory to every helper; the slot that jobs on it name. */
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): number {
    const m = { slot: this.nextSlot++, module, memory };
    this.attached.set(m.slot, m);
    for (const h of this.helpers) this.settle(h, () => h.attach(m), 'attaching kernels');
    return m.slot;
  }

  /** Lets the helpers drop a released runner's instance (and so its memory). */
  detach(slot: number): void {
    if (!this.attached.delete(slot) || this.broken) return;
    for (const h of this.helpers) this.settle(h, () => h.detach(slot), 'releasing kernels');
  }

  /** Waits for every helper to finish, retiring the pool if one failed. */
  settle(h: Helper, post: () => void, what: string): void {
    try {
      post();
      h.wait(what);
    } catch (e) {
      this.retire();
      throw e;
    }
  }

  /** Stops every helper and forgets the pool, so that the next runner starts a new one. */
  retire(): void {
    this.broken = true;
    for (const h of this.helpers) h.stop();
    if (pools.get(this.spawn) === this) pools.delete(this.spawn);
  }
}

const pools = new Map<ThreadSpawner, HelperPool>();
const growing = new Map<ThreadSpawner, Promise<HelperPool>>();

/**
 * The pool of `spawn`'s helper threads, with at least `helpers` of them: one pool per spawner (the worker's
 * or the process's), shared by every runner. A pool whose helpers cannot start is not kept.
 */
export async function helperPool(spawn: ThreadSpawner, helpers: number): Promise<HelperPool> {
  const before = growing.get(spawn);
  const next = (async () => {
    await before?.catch(() => undefined);
    const pool = pools.get(spawn) ?? new HelperPool(spawn);
    pools.set(spawn, pool);
    try {
      await pool.grow(helpers);
    } catch (e) {
      // Threads this environment will not start: none are kept, and the runner works alone.
      pool.retire();
      throw e;
    }
    return pool;
  })();
  growing.set(spawn, next);
  return next;
}

/** Stops every pool's helpers (tests, and a worker shutting down). */
export function stopHelperPools(): void {
  for (const pool of [...pools.values()]) pool.retire();
}
