// Models the worker holds: each one's file bytes and calibration, and the model built from them on the
// current backend (lazily; dropped when the backend or its backbone weights change).
import type { DifferNet } from '../core/model/differnet';
import type { ExecutionPlan } from '../core/execution/executionPlan';
import { loadModel, readModelFile, type ModelManifest } from '../core/model/modelFile';
import type { Calibration } from '../core/inspection';
import type { ModelSummary } from './protocol';
import type { WeightsRegistry } from './weightsRegistry';

export interface ModelEntry {
  bytes: Uint8Array;
  manifest: ModelManifest;
  calibration: Calibration | null;
  /** Built lazily on the current backend; dropped when the backend changes. */
  built: { model: DifferNet; ownsBackbone: boolean } | null;
}

export function summaryOf(manifest: ModelManifest, calibration: Calibration | null, fileBytes: number): ModelSummary {
  return {
    backbone: manifest.backbone.id,
    weightsHash: manifest.backbone.weightsHash,
    flow: manifest.flow,
    settings: manifest.settings,
    calibration,
    training: manifest.training,
    fileBytes,
  };
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();

  constructor(
    private readonly weights: WeightsRegistry,
    /** The execution plan of the backend in use, which every model built here runs under. */
    private readonly plan: () => ExecutionPlan,
  ) {
    // Models built on replaced weights must rebuild on the new ones.
    weights.onReplaced((id) => {
      for (const entry of this.models.values()) {
        if (entry.built && entry.manifest.backbone.id === id && !entry.built.ownsBackbone) this.unbuild(entry);
      }
    });
  }

  /**
   * Holds the model file `bytes` as `modelId`, replacing any model of that id; `built` is the model
   * already built from them (a training's result), which the registry then owns.
   */
  put(modelId: string, bytes: Uint8Array, calibration: Calibration | null, built?: DifferNet): ModelSummary {
    const { manifest } = readModelFile(bytes);
    this.drop(modelId);
    this.models.set(modelId, { bytes, manifest, calibration, built: built ? { model: built, ownsBackbone: false } : null });
    return summaryOf(manifest, calibration, bytes.length);
  }

  has(modelId: string): boolean {
    return this.models.has(modelId);
  }

  entry(modelId: string): ModelEntry {
    const entry = this.models.get(modelId);
    if (!entry) throw new Error('this model is not loaded in the engine (reload the page or import it again)');
    return entry;
  }

  setCalibration(modelId: string, calibration: Calibration): void {
    const entry = this.entry(modelId);
    entry.calibration = calibration;
    if (entry.built) entry.built.model.calibration = calibration;
  }

  /** The model on the current backend, built if needed, on the loaded backbone when its weights match. */
  model(modelId: string): DifferNet {
    const entry = this.entry(modelId);
    if (!entry.built) {
      const id = entry.manifest.backbone.id;
      const ours = this.weights.info(id)?.hash === entry.manifest.backbone.weightsHash ? this.weights.backbone(id) : undefined;
      const { model, ownsBackbone } = loadModel(entry.bytes, this.plan().features, ours);
      model.calibration = entry.calibration;
      entry.built = { model, ownsBackbone };
    }
    return entry.built.model;
  }

  drop(modelId: string): void {
    const entry = this.models.get(modelId);
    if (entry) this.unbuild(entry);
    this.models.delete(modelId);
  }

  /** Frees every model living on the current backend; they rebuild lazily from bytes on the next one. */
  release(): void {
    for (const entry of this.models.values()) {
      try {
        this.unbuild(entry);
      } catch {
        entry.built = null; // a lost GPU device cannot free its buffers; forget them
      }
    }
  }

  private unbuild(entry: ModelEntry): void {
    if (!entry.built) return;
    entry.built.model.dispose();
    if (entry.built.ownsBackbone) entry.built.model.backbone.dispose();
    entry.built = null;
  }
}
