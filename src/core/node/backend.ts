// Node-only: TF.js on the WASM backend, loading the .wasm binaries from node_modules, and the process's plan.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../backend';
import { createExecutionPlan, type ExecutionPlan } from '../execution/executionPlan';
import type { FlowThreads } from '../train/trainFlow';
import { enableRelaxedSimd } from './wasmFeatures';

const require = createRequire(import.meta.url);

export function nodeWasmPaths(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

export interface NodeBackendOptions {
  /** The TF.js backend; DIFFERNET_BACKEND, else WASM (SIMD; Node gets no WASM threads). */
  backend?: BackendName;
  /** Helper threads for training the flow (node/threads.ts nodeFlowThreads); none: this thread alone. */
  flowThreads?: FlowThreads;
}

/**
 * Starts TF.js and returns the process's execution plan, chosen once here from the backend,
 * DIFFERNET_HOST_BACKBONE ('0' keeps feature rows on TF.js, for comparisons) and the threads.
 */
export async function initNodeBackend(opts: NodeBackendOptions = {}): Promise<ExecutionPlan> {
  const name = opts.backend ?? ((process.env.DIFFERNET_BACKEND as BackendName) || 'wasm');
  // The pure-JS and WASM backends print a hint to install tfjs-node, which cannot be installed here.
  tf.env().set('IS_NODE', true);
  enableRelaxedSimd();
  await useBackend(name, { wasmPaths: nodeWasmPaths() });
  return createExecutionPlan({
    backend: tf.getBackend(),
    hostBackbone: process.env.DIFFERNET_HOST_BACKBONE,
    // One thread per process: the CLI runs one per core and splits the images between them.
    featureThreads: { helpers: 0 },
    flowThreads: opts.flowThreads,
  });
}
