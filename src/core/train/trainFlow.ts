import * as tf from '@tensorflow/tfjs';
import type { Flow } from '../flow/flow';
import { pauseForEvents, throwIfAborted, ProgressClock } from '../progress';
import { seededRandom } from '../random';
import { Adam, type AdamConfig } from './adam';
import type { FeatureBank } from './featureBank';
import { HostFlow, hostFlowSupported } from '../flow/hostFlow';
import type { ThreadSpawner } from '../wasm/threads';
import { whiteningLogDet, whitenRows } from '../flow/whitening';

/** Threads for the flow's products: `helpers` besides the calling one, started by `spawn`. */
export interface FlowThreads {
  helpers: number;
  spawn: ThreadSpawner;
}

export interface FlowTrainOptions {
  /** The official code's meta epochs x sub epochs: passes over the training images. */
  epochs: number;
  subEpochs: number;
  /** Images per step; each contributes `transforms` rows. */
  batchSize: number;
  /** Transformed copies of each image per step (n_transforms, 4 in the paper). */
  transforms: number;
  adam: AdamConfig;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: FlowTrainProgress) => void;
  /**
   * 'host' trains on the WebAssembly kernels (flow widths they tile, up to HOST_FLOW_MAX_PARAMS), 'tfjs'
   * on the TF.js graph; 'auto' (the default) takes the host path where it can.
   */
  engine?: 'auto' | 'host' | 'tfjs';
  threads?: FlowThreads;
}

export interface FlowTrainProgress {
  epoch: number;
  subEpoch: number;
  step: number;
  totalSteps: number;
  /** Threads working on the flow's products. */
  threads?: number;
  /** Mean loss of the last step. */
  loss: number;
  /** Image copies (feature rows) per second. */
  rowsPerSecond: number;
  etaSeconds: number;
}

export interface FlowTrainReport {
  /** Mean loss of each pass over the data, in order. */
  losses: number[];
  steps: number;
  seconds: number;
}

/** The bank rows one training step reads, and where in the run it is. */
export interface ScheduledStep {
  epoch: number;
  subEpoch: number;
  /** Step within the pass. */
  step: number;
  /** Bank rows (image * copies + copy), `transforms` consecutive ones per image of the batch. */
  rows: number[];
}

export type RowScheduleOptions = Pick<FlowTrainOptions, 'epochs' | 'subEpochs' | 'batchSize' | 'transforms' | 'seed'>;

/**
 * Which bank rows every step trains on: each pass shuffles the images into batches; each image of a batch
 * contributes `transforms` of its `copies` rows, all of them when copies <= transforms (the bank of the old
 * copies = transforms models, read the same every step), otherwise a fresh random subset each step, as the
 * official loader draws fresh random rotations each time it returns an image. Reproducible from the seed.
 */
export function* rowSchedule(count: number, copies: number, opts: RowScheduleOptions): Generator<ScheduledStep> {
  const rand = seededRandom(opts.seed);
  const t = Math.min(opts.transforms, copies);
  const stepsPerPass = Math.ceil(count / opts.batchSize);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let subEpoch = 0; subEpoch < opts.subEpochs; subEpoch++) {
      const order = shuffled(count, rand);
      for (let step = 0; step < stepsPerPass; step++) {
        const rows: number[] = [];
        for (const i of order.slice(step * opts.batchSize, (step + 1) * opts.batchSize)) {
          for (const j of pickCopies(copies, t, rand)) rows.push(i * copies + j);
        }
        yield { epoch, subEpoch, step, rows };
      }
    }
  }
}

/**
 * One training step's engine: the WebAssembly kernels (HostFlow) or TF.js's graph. The loop below is the
 * same for both; only how a batch of rows becomes a loss and an Adam update differs.
 */
interface FlowStepper {
  /** Threads working on the flow's products, where more than one can. */
  readonly threads?: number;
  /**
   * Whether it runs the coupling blocks alone and so reads rows already through the flow's whitening (the
   * host kernels have no whitening layer; the bank is whitened once instead of every step).
   */
  readonly blocksOnly: boolean;
  /** Fills the step's input rows (rows x dim, row-major) and returns where to write them. */
  rows(count: number): Float32Array;
  /** Loss of the rows just written, after one Adam update on them; `step` counts from 1. */
  step(count: number, step: number): Promise<number>;
  /** Writes the trained weights into the flow (the host engine trains a copy). */
  finish(): void;
  dispose(): void;
}

/** Maximum-likelihood training of the flow on a feature bank, as the official train loop. */
export async function trainFlow(flow: Flow, bank: FeatureBank, opts: FlowTrainOptions): Promise<FlowTrainReport> {
  if (bank.count === 0) throw new Error('no training images');
  const engine = opts.engine ?? 'auto';
  if (engine === 'host' && !hostFlowSupported(flow.config)) throw new Error(`the WebAssembly flow kernels cannot train a flow of ${flow.config.inputDim} features and width ${flow.config.hidden}`);
  const maxRows = opts.batchSize * Math.min(opts.transforms, bank.copies);
  let stepper: FlowStepper | null = null;
  if (engine !== 'tfjs' && hostFlowSupported(flow.config)) {
    const host = await startHostFlow(flow.config, maxRows, opts.threads, engine === 'host');
    if (host) stepper = await hostStepper(host, flow, opts);
  }
  const s = stepper ?? tfjsStepper(flow, bank.dim, maxRows, opts);
  let rows = bank;
  if (s.blocksOnly && flow.whitening) {
    try {
      rows = { ...bank, data: await whitenRows(flow.whitening, bank.data, bank.count * bank.copies) };
    } catch (e) {
      s.dispose();
      throw e;
    }
  }
  return runSteps(s, rows, opts);
}

/**
 * The host engine with its helper threads; if they cannot start (or the memory cannot be had), on this
 * thread alone; and, when the caller left the choice to us, null (the TF.js path) if even that fails.
 */
async function startHostFlow(config: Flow['config'], rows: number, threads: FlowThreads | undefined, required: boolean): Promise<HostFlow | null> {
  let failure: unknown;
  for (const t of threads?.helpers ? [threads, undefined] : [undefined]) {
    try {
      return await HostFlow.create(config, rows, t);
    } catch (e) {
      failure = e;
    }
  }
  if (required) throw failure;
  return null;
}

/** HostFlow: no TF.js op per step, products split across threads; weights written back at the end. */
async function hostStepper(host: HostFlow, flow: Flow, opts: FlowTrainOptions): Promise<FlowStepper> {
  try {
    host.load(await flow.toStateDict());
  } catch (e) {
    host.dispose();
    throw e;
  }
  // The official loss includes every layer's log-determinant; the whitening's is a constant the kernels never see.
  const whiteningLoss = flow.whitening ? -whiteningLogDet(flow.whitening) / flow.config.inputDim : 0;
  return {
    threads: host.threads,
    blocksOnly: true,
    rows: (count) => host.inputRows(count),
    step: async (count, step) => (await host.step(count, opts.adam, step)) + whiteningLoss,
    finish: () => flow.assignStateDict(host.toStateDict()),
    dispose: () => host.dispose(),
  };
}

/** TF.js's autodiff through flow.loss and its Adam. */
function tfjsStepper(flow: Flow, dim: number, maxRows: number, opts: FlowTrainOptions): FlowStepper {
  const vars = flow.trainableVariables();
  const adam = new Adam(vars, opts.adam);
  const buf = new Float32Array(maxRows * dim);
  return {
    blocksOnly: false,
    rows: (count) => buf.subarray(0, count * dim),
    step: async (count) => {
      const lossValue = tf.tidy(() => {
        const x = tf.tensor2d(buf.subarray(0, count * dim), [count, dim]);
        const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
        adam.step(grads);
        return value;
      });
      const loss = (await lossValue.data())[0];
      lossValue.dispose();
      return loss;
    },
    finish: () => undefined,
    dispose: () => adam.dispose(),
  };
}

/** The official loop: passes of shuffled batches, progress and cancel between steps, a mean loss per pass. */
async function runSteps(stepper: FlowStepper, bank: FeatureBank, opts: FlowTrainOptions): Promise<FlowTrainReport> {
  const t = Math.min(opts.transforms, bank.copies);
  const stepsPerPass = Math.ceil(bank.count / opts.batchSize);
  const totalSteps = stepsPerPass * opts.epochs * opts.subEpochs;
  const clock = new ProgressClock(totalSteps);
  const losses: number[] = [];
  let step = 0;
  let passLoss = 0;
  try {
    for (const s of rowSchedule(bank.count, bank.copies, opts)) {
      await pauseForEvents();
      throwIfAborted(opts.signal, 'training');
      const x = stepper.rows(s.rows.length);
      s.rows.forEach((r, k) => x.set(bank.data.subarray(r * bank.dim, (r + 1) * bank.dim), k * bank.dim));
      const loss = await stepper.step(s.rows.length, step + 1);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step + 1}`);
      passLoss += loss;
      step++;
      const p = clock.at(step);
      opts.onProgress?.({ epoch: s.epoch, subEpoch: s.subEpoch, step, totalSteps, threads: stepper.threads, loss, rowsPerSecond: p.rate * opts.batchSize * t, etaSeconds: p.etaSeconds });
      if (s.step === stepsPerPass - 1) {
        losses.push(passLoss / stepsPerPass);
        passLoss = 0;
      }
    }
    stepper.finish();
  } finally {
    stepper.dispose();
  }
  return { losses, steps: step, seconds: clock.elapsedSeconds() };
}

function shuffled(n: number, rand: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** t distinct copies out of n: every copy when t == n, otherwise a fresh random subset each step. */
function pickCopies(n: number, t: number, rand: () => number): number[] {
  if (t >= n) return Array.from({ length: n }, (_, i) => i);
  return shuffled(n, rand).slice(0, t);
}
