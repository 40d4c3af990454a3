import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface BackendOptions {
  /** Folder (URL or path, ending in '/') holding the tfjs-backend-wasm .wasm files. */
  wasmPaths?: string;
  wasmThreads?: number;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

let wasmConfigured = false;

/** Switches TF.js to `name`; throws BackendError when that backend cannot start here. */
export async function useBackend(name: BackendName, opts: BackendOptions = {}): Promise<void> {
  if (name === 'wasm' && !wasmConfigured) {
    if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
    if (opts.wasmThreads) setThreadsCount(opts.wasmThreads);
    wasmConfigured = true;
  }
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new BackendError(`the ${name} backend failed to start: ${(e as Error).message}`, { cause: e });
  }
  if (!ok || tf.getBackend() !== name) throw new BackendError(`the ${name} backend is not available here`);
}

export function currentBackend(): string {
  return tf.getBackend();
}
