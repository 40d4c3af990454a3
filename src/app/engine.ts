import { EngineClient } from '../worker/client';

let client: EngineClient | null = null;

/** The one engine worker of the page. */
export function engine(): EngineClient {
  client ??= new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'differnet-engine' }));
  return client;
}

/** Where the built app serves TF.js's .wasm files (see scripts/vitePlugins.ts). */
export function wasmPaths(): string {
  return new URL('tfjs-wasm/', document.baseURI).href;
}
