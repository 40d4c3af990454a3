import type { EngineClient } from '../../../worker/client';
import { mapEngine, wasmPaths } from '../../engine';
import { listWeights } from '../../persistence/weights';
import { readModelFile, type ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';

let started: Promise<void> | null = null;
let weightsHash: string | null = null;
let model: string | null = null;

/**
 * The map engine, holding `record`'s backbone and model: started on first use (one WASM thread, so the
 * verdict engine keeps the other cores), fed the cached weights and the stored model file.
 */
export async function mapEngineFor(record: ModelRecord): Promise<EngineClient> {
  const client = mapEngine();
  const backend = useEngine.getState().backend?.name;
  started ??= client
    .call('init', { wasmPaths: wasmPaths(), choice: backend === 'webgpu' || backend === 'webgl' ? backend : 'wasm', wasmThreads: 1 })
    .then(() => undefined)
    .catch((e) => {
      started = null;
      throw e;
    });
  await started;
  if (weightsHash !== record.weightsHash) {
    const cached = (await listWeights()).find((w) => w.id === record.backbone && (!record.weightsHash || w.hash === record.weightsHash));
    if (!cached) throw new Error(`the ${record.backbone} weights are not stored in this browser, so maps cannot be made beside the verdicts`);
    await client.call('loadWeights', { source: { kind: 'bytes', bytes: cached.bytes }, name: cached.source });
    weightsHash = record.weightsHash;
    model = null;
  }
  const key = `${record.id}@${record.version}`;
  if (model !== key) {
    const bytes = await readModelFile(record.id);
    if (!bytes) throw new Error(`the file of model "${record.name}" is missing from the browser's storage`);
    await client.call('loadModel', { modelId: record.id, bytes, calibration: record.calibration }, { transfer: [bytes] });
    model = key;
  }
  return client;
}
