import { EngineClient } from '../worker/client';

let client: EngineClient | null = null;

/** The client of the page's engine instance: the one engine worker every screen uses. */
export function engine(): EngineClient {
  client ??= new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'differnet-engine' }));
  return client;
}

/**
 * A second engine instance (its own worker) for the Live screen's defect maps: a map back-propagates through the CNN and takes several
 * scores' time, which in the one engine would hold every verdict back until it finished. The caller
 * terminates it when its maps are no longer wanted.
 */
export function createMapEngine(): EngineClient {
  return new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'differnet-maps' }));
}

/** Where the built app serves TF.js's .wasm files (see scripts/vitePlugins.ts). */
export function wasmPaths(): string {
  return new URL('tfjs-wasm/', document.baseURI).href;
}
