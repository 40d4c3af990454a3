// Node-only: TF.js on the WASM backend, loading the .wasm binaries from node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../backend';
import { useHostForward } from '../features/hostForward';
import { enableRelaxedSimd } from './wasmFeatures';

const require = createRequire(import.meta.url);

export function nodeWasmPaths(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

/** WASM (SIMD; Node gets no WASM threads) unless DIFFERNET_BACKEND names another; feature rows on the host kernels. */
export async function initNodeBackend(name: BackendName = (process.env.DIFFERNET_BACKEND as BackendName) || 'wasm'): Promise<string> {
  // The pure-JS and WASM backends print a hint to install tfjs-node, which cannot be installed here.
  tf.env().set('IS_NODE', true);
  enableRelaxedSimd();
  // One thread per engine: the CLI runs an engine per core and splits the images between them.
  // DIFFERNET_HOST_BACKBONE=0 keeps feature rows on TF.js (for comparisons).
  useHostForward(process.env.DIFFERNET_HOST_BACKBONE === '0' ? null : { helpers: 0 });
  await useBackend(name, { wasmPaths: nodeWasmPaths() });
  return tf.getBackend();
}
