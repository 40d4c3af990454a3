import type { EngineClient } from '../../../worker/client';
import { createMapEngine, engine, wasmPaths } from '../../engine';
import { readModelFile, type ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';
import { BACKBONE_LABEL } from '../../../core/backbones/types';

interface MapEngine {
  client: EngineClient;
  /** The last preparation: each waits for the one before, so overlapping calls never load twice. */
  ready: Promise<void>;
  weightsHash: string | null;
  model: string | null;
}

let current: MapEngine | null = null;

/**
 * The map engine, holding `record`'s backbone and model: started on first use (one WASM thread, so the
 * verdict engine keeps the other cores), fed the cached weights and the stored model file.
 */
export async function mapEngineFor(record: ModelRecord): Promise<EngineClient> {
  if (!current) {
    const client = createMapEngine();
    const backend = useEngine.getState().backend?.name;
    const ready = client.call('init', { wasmPaths: wasmPaths(), choice: backend === 'webgpu' || backend === 'webgl' ? backend : 'wasm', wasmThreads: 1 }).then(() => undefined);
    current = { client, ready, weightsHash: null, model: null };
  }
  const me = current;
  const step = me.ready.then(() => prepare(me, record));
  // A failed preparation is reported to its caller; the next one starts afresh from the same engine.
  me.ready = step.catch(() => undefined);
  await step;
  return me.client;
}

async function prepare(me: MapEngine, record: ModelRecord): Promise<void> {
  if (me.weightsHash !== record.weightsHash) {
    // The weights the verdict engine holds, whatever they came from (the server's models/, a download, a
    // dropped file, this browser's cache): it writes its kept tensors once and hands them over, so the
    // page keeps no copy of its own.
    const loaded = useEngine.getState().weights[record.backbone];
    if (!loaded) throw new Error(`no ${BACKBONE_LABEL[record.backbone]} weights are loaded, so no maps can be made: load them on the Models screen`);
    if (record.weightsHash && loaded.hash !== record.weightsHash) {
      throw new Error(`the loaded ${BACKBONE_LABEL[record.backbone]} weights (${loaded.hash.slice(0, 8)}) are not the ones this model was trained on (${record.weightsHash.slice(0, 8)})`);
    }
    const { bytes } = await engine().call('exportWeights', { backbone: record.backbone });
    await me.client.call('loadWeights', { source: { kind: 'bytes', bytes }, name: loaded.source }, { transfer: [bytes] });
    me.weightsHash = record.weightsHash;
    me.model = null;
  }
  const key = `${record.id}@${record.version}`;
  if (me.model !== key) {
    if (me.model) await me.client.call('unloadModel', { modelId: me.model.slice(0, me.model.lastIndexOf('@')) });
    const bytes = await readModelFile(record.id);
    if (!bytes) throw new Error(`the file of model "${record.name}" is missing from the browser's storage`);
    await me.client.call('loadModel', { modelId: record.id, bytes, calibration: record.calibration }, { transfer: [bytes] });
    me.model = key;
  }
}

/** Ends the map engine and everything it holds (its worker, backbone and model). */
export function releaseMapEngine(): void {
  current?.client.terminate();
  current = null;
}
