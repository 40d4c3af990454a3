// The engine's public API, small on purpose (in the manner of tfjs-models' createDetector): pick a backend
// and the execution plan on it (createExecutionPlan, passed to `train` and `loadModel`), load a backbone,
// train a model or load one, score images and make defect maps with it (`model.score`, `model.defectMap`),
// save it, dispose of it; plus the types and the TF-free inspection policy.
// The pipeline's parts (features, flow, training steps, scoring rows) are deep imports, or
// src/core/internal.ts for the CLI and the benchmark.
import { createBackbone, readBackboneWeights, type Backbone, type BackboneId } from './backbones';
import type { RgbaImage } from './image';
import type { DifferNet } from './model/differnet';
import { trainModel, type PipelineOptions } from './train/pipeline';
import type { ModelSettings } from './model/settings';
import { decodeWeightsFile, isWeightsFile } from './model/weightsFile';
import { arraySource, type ImageSource } from './train/featureBank';

export { useBackend, currentBackend, BackendError, type BackendName, type BackendOptions } from './backend';
export type { RgbaImage } from './image';
export { PthError } from './torch';
export { WeightsError, BACKBONE_IDS, type Backbone, type BackboneId } from './backbones';
export type { FlowConfig } from './flow';
export type { ImageSource } from './train/featureBank';
export type { DefectMap, MapOrder } from './score/defectMap';
export type { ScoreOptions } from './score/score';
export type { DifferNet, TrainEvent, TrainingRecord } from './model/differnet';
export { PAPER_SETTINGS, DEFAULT_SETTINGS, forBackbone, withRotations, type ModelSettings, type TrainSettings } from './model/settings';
export { saveModel, loadModel, ModelFileError, type ModelManifest, type SaveOptions } from './model/modelFile';
export { CancelledError, type Progress } from './progress';
export { overlayHeatmap, heatColour, heatPalette } from './heatmap';
export * from './inspection';

/**
 * A backbone from PyTorch weights (a torchvision .pth or an official DifferNet checkpoint; only the
 * backbone's tensors are read), BVLC GoogLeNet's .caffemodel, or this engine's own weights file. The architecture is detected
 * unless `id` is given.
 */
export function loadBackbone(bytes: Uint8Array, id?: BackboneId): Backbone {
  if (isWeightsFile(bytes)) {
    const { manifest, stateDict } = decodeWeightsFile(bytes);
    return createBackbone(stateDict, id ?? manifest.id);
  }
  return createBackbone(readBackboneWeights(bytes), id);
}

export type TrainOptions = PipelineOptions;
export { createExecutionPlan, type ExecutionPlan, type ExecutionInputs } from './execution/executionPlan';
export type { PlanChoice, PlanInputs } from './execution/choose';
export type { FeatureEngine } from './execution/featureEngine';

/**
 * Trains a model on images of good parts and calibrates its threshold on a held-out share of them.
 * The model uses `backbone` without owning it: dispose of the model, then of the backbone. `opts.plan`
 * (createExecutionPlan) says where it computes.
 */
export function train(backbone: Backbone, images: RgbaImage[] | ImageSource, settings: ModelSettings, opts: TrainOptions): Promise<DifferNet> {
  return trainModel(backbone, Array.isArray(images) ? arraySource(images) : images, settings, opts);
}
