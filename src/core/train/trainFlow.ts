import * as tf from '@tensorflow/tfjs';
import type { Flow } from '../flow/flow';
import { pauseForEvents, throwIfAborted, ProgressClock } from '../progress';
import { seededRandom } from '../random';
import { Adam, type AdamConfig } from './adam';
import type { FeatureBank } from './featureBank';

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
}

export interface FlowTrainProgress {
  epoch: number;
  subEpoch: number;
  step: number;
  totalSteps: number;
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

/** Maximum-likelihood training of the flow on a feature bank, as the official train loop. */
export async function trainFlow(flow: Flow, bank: FeatureBank, opts: FlowTrainOptions): Promise<FlowTrainReport> {
  if (bank.count === 0) throw new Error('no training images');
  const vars = flow.trainableVariables();
  const adam = new Adam(vars, opts.adam);
  const rand = seededRandom(opts.seed);
  const t = Math.min(opts.transforms, bank.copies);
  const stepsPerPass = Math.ceil(bank.count / opts.batchSize);
  const totalSteps = stepsPerPass * opts.epochs * opts.subEpochs;
  const clock = new ProgressClock(totalSteps);
  const losses: number[] = [];
  const rowBuf = new Float32Array(opts.batchSize * t * bank.dim);
  let step = 0;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      for (let sub = 0; sub < opts.subEpochs; sub++) {
        const order = shuffled(bank.count, rand);
        let passLoss = 0;
        for (let s = 0; s < stepsPerPass; s++) {
          await pauseForEvents();
          throwIfAborted(opts.signal, 'training');
          const idx = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
          let rows = 0;
          for (const i of idx) {
            for (const j of pickCopies(bank.copies, t, rand)) {
              const src = (i * bank.copies + j) * bank.dim;
              rowBuf.set(bank.data.subarray(src, src + bank.dim), rows * bank.dim);
              rows++;
            }
          }
          const lossValue = tf.tidy(() => {
            const x = tf.tensor2d(rowBuf.subarray(0, rows * bank.dim), [rows, bank.dim]);
            const { value, grads } = tf.variableGrads(() => flow.loss(x), vars);
            adam.step(grads);
            return value;
          });
          const loss = (await lossValue.data())[0];
          lossValue.dispose();
          if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step + 1}`);
          passLoss += loss;
          step++;
          const p = clock.at(step);
          opts.onProgress?.({ epoch, subEpoch: sub, step, totalSteps, loss, rowsPerSecond: (p.rate * opts.batchSize * t), etaSeconds: p.etaSeconds });
        }
        losses.push(passLoss / stepsPerPass);
      }
    }
  } finally {
    adam.dispose();
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
