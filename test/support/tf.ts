import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/core/node/backend';
import type { ExecutionPlan } from '../../src/core/execution/executionPlan';

export { tf };

/** TF.js as the CLI starts it, and the plan it chose (the WebAssembly engine for feature rows unless DIFFERNET_HOST_BACKBONE=0). */
export function setupTf(): Promise<ExecutionPlan> {
  return initNodeBackend();
}

/** Runs fn and reports how many tensors it left behind. */
export async function leakedTensors(fn: () => Promise<unknown> | unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
