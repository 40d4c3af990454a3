// Backbone weights in: a torchvision .pth, an official DifferNet checkpoint (backbone and flow), BVLC
// GoogLeNet's .caffemodel, or the app's own cached weights file. A checkpoint's flow is held until `importCheckpoint` makes it a model.
import type { FeatureEngine } from '../../core/execution/featureEngine';
import { isBackboneKey, readBackboneWeights, type BackboneId } from '../../core/backbones';
import { Flow } from '../../core/flow';
import { DifferNet } from '../../core/model/differnet';
import { readModelFile, saveModel } from '../../core/model/modelFile';
import { PAPER_SETTINGS, withRotations, type ModelSettings } from '../../core/model/settings';
import { decodeWeightsFile, isWeightsFile } from '../../core/model/weightsFile';
import type { StateDict } from '../../core/torch';
import { ownBuffer, readBlob } from '../jobs';
import { summaryOf } from '../modelRegistry';
import type { ImportedFlow, WeightsInfo } from '../protocol';
import { backboneName, type WeightsRegistry } from '../weightsRegistry';
import type { Engine, Handlers } from './types';

/** The flow's tensors in an official DifferNet checkpoint (`module_list.<i>.…`). */
export const FLOW_KEY = /(^|\.)module_list\.\d+\./;

interface HeldFlow {
  id: string;
  sd: StateDict;
  backbone: BackboneId;
  name: string;
}

export function weightsHandlers({ backends, weights }: Engine): Pick<Handlers, 'loadWeights' | 'importCheckpoint' | 'exportWeights'> {
  /** The flow of the last checkpoint loaded, until imported: at most one, so a forgotten one costs little. */
  let held: HeldFlow | null = null;
  let nextId = 1;

  return {
    loadWeights: async ({ source, name }, ctx) => {
      const bytes =
        source.kind === 'bytes'
          ? new Uint8Array(source.bytes)
          : await readBlob(source.blob, (done, total) => ctx.progress({ phase: 'read', done, total }), ctx.signal);
      ctx.progress({ phase: 'parse', done: 0, total: 1, message: 'reading tensors' });
      return backends.compute('loading weights', ctx.signal, true, async () => {
        held = null;
        if (isWeightsFile(bytes)) {
          const { manifest, stateDict } = decodeWeightsFile(bytes);
          const info = weights.adopt(stateDict, manifest.id, manifest.source || name);
          if (info.hash !== manifest.hash) throw new Error(`${name}: damaged weights file (content hash ${info.hash}, expected ${manifest.hash})`);
          return { result: { weights: info, cache: null, checkpoint: null } };
        }
        let sd: StateDict;
        try {
          let shown = 0;
          // A .pth keeps a checkpoint's flow beside the backbone; a .caffemodel holds GoogLeNet alone.
          sd = readBackboneWeights(bytes, {
            include: (k) => isBackboneKey(k) || FLOW_KEY.test(k),
            onProgress: (f) => {
              if (f - shown < 0.02 && f < 1) return;
              shown = f;
              ctx.progress({ phase: 'parse', done: f, total: 1 });
            },
          });
        } catch (e) {
          throw prefixed(name, e);
        }
        let info: WeightsInfo;
        try {
          info = weights.adopt(sd, undefined, name);
        } catch (e) {
          throw prefixed(name, e);
        }
        const cache = weights.cacheFile(info.id);
        const flow: StateDict = new Map([...sd].filter(([k]) => FLOW_KEY.test(k)));
        let checkpoint = null;
        if (flow.size > 0) {
          held = { id: `checkpoint-${nextId++}`, sd: flow, backbone: info.id, name };
          checkpoint = { id: held.id, tensors: flow.size };
        }
        return { result: { weights: info, cache: cache.buffer as ArrayBuffer, checkpoint }, transfer: [cache.buffer as ArrayBuffer] };
      });
    },

    exportWeights: async ({ backbone }) => {
      const info = weights.info(backbone);
      if (!info) throw new Error(`no ${backboneName(backbone)} weights are loaded in the engine: load them on the weights panel first`);
      const file = weights.cacheFile(backbone);
      return { result: { bytes: file.buffer as ArrayBuffer, weights: info }, transfer: [file.buffer as ArrayBuffer] };
    },

    importCheckpoint: async ({ checkpoint }, ctx) =>
      backends.compute('checkpoint import', ctx.signal, true, async () => {
        const h = held;
        if (!h || h.id !== checkpoint) throw new Error('the checkpoint is no longer held by the engine: add its file again');
        const flow = await importFlow(weights, backends.plan.features, h);
        held = null;
        return { result: flow, transfer: [flow.bytes] };
      }),
  };
}

/** The checkpoint's flow on its backbone, with the paper's settings, as a model file without a calibration. */
async function importFlow(weights: WeightsRegistry, engine: FeatureEngine, { sd, backbone: id, name }: HeldFlow): Promise<ImportedFlow> {
  const backbone = weights.backbone(id);
  const flow = Flow.fromStateDict(sd, PAPER_SETTINGS.flow.clamp);
  try {
    const scales = flow.config.inputDim / backbone.featureWidth;
    if (!Number.isInteger(scales) || scales < 1) {
      throw new Error(`${name}: the flow takes ${flow.config.inputDim} features, which ${id} (${backbone.featureWidth} per scale) cannot produce`);
    }
    // The paper's features, flow and rotations (they come with the checkpoint), but the interactive
    // number of test rotations: 64 back-propagated copies per image take about a minute on a CPU.
    const settings: ModelSettings = {
      ...withRotations(PAPER_SETTINGS, true),
      features: { ...PAPER_SETTINGS.features, scales },
      flow: { blocks: flow.config.blocks, hidden: flow.config.hidden, clamp: flow.config.clamp },
    };
    const model = new DifferNet(engine, backbone, flow, settings);
    const bytes = await saveModel(model, { name, includeBackbone: false });
    const { manifest } = readModelFile(bytes);
    return { bytes: ownBuffer(bytes), summary: summaryOf(manifest, null, bytes.length) };
  } finally {
    flow.dispose();
  }
}

function prefixed(name: string, e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const out = new Error(`${name}: ${err.message}`);
  out.name = err.name;
  return out;
}
