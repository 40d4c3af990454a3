import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface BackendOptions {
  /** Folder (URL or path, ending in '/') holding the tfjs-backend-wasm .wasm files. */
  wasmPaths?: string;
  /** Threads for the WASM kernels (browser, cross-origin isolated only); TF.js's own default otherwise. */
  wasmThreads?: number;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

let wasmConfigured = false;

/** Switches TF.js to `name`; throws BackendError when that backend cannot start here. */
export async function useBackend(name: BackendName, opts: BackendOptions = {}): Promise<void> {
  let restoreCores = () => {};
  if (name === 'wasm' && !wasmConfigured) {
    if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
    if (opts.wasmThreads) {
      setThreadsCount(opts.wasmThreads);
      restoreCores = presentCoresFor(opts.wasmThreads);
    }
    wasmConfigured = true;
  }
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new BackendError(`the ${name} backend failed to start: ${(e as Error).message}`, { cause: e });
  } finally {
    restoreCores();
  }
  if (!ok || tf.getBackend() !== name) throw new BackendError(`the ${name} backend is not available here`);
}

/**
 * TF.js's WASM module caps its thread pool at half of navigator.hardwareConcurrency, read once when the
 * module starts (backend.cc assumes two hyperthreads per core), so a 2-core machine gets 1 thread whatever
 * setThreadsCount asks. While the module starts, the navigator reports twice the threads wanted, then its
 * own value again. Returns the undo; does nothing where the property cannot be shadowed (Node).
 */
function presentCoresFor(threads: number): () => void {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (!nav || typeof nav.hardwareConcurrency !== 'number') return () => {};
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => 2 * threads });
  } catch {
    return () => {};
  }
  return () => {
    delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

export function currentBackend(): string {
  return tf.getBackend();
}
