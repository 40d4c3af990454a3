// The engine's internals in one place, for the CLI, the benchmark and scripts, which drive the pipeline
// step by step (feature banks across worker threads, scoring rows, study runs). Apps use src/core/index.ts;
// the worker imports the modules it needs directly.
export { loadBackbone, train, type TrainOptions } from './index';
export { useBackend, currentBackend, BackendError, type BackendName, type BackendOptions } from './backend';
export type { RgbaImage } from './image';
export { readPth, PthError, type ReadPthOptions, type StateDict, type TensorData } from './torch';
export { createBackbone, detectBackbone, isBackboneKey, readBackboneWeights, WeightsError, BACKBONE_IDS, type Backbone, type BackboneId } from './backbones';
export { multiScaleFeatures, featureDim, PAPER_FEATURES, type FeatureConfig } from './features/extractor';
export { toUnitRgb, rotate, PREPROCESS_VERSION } from './features/preprocess';
export { resizeRgb } from './resample';
export { copyFeatures, transformCopies, type CopySpec } from './features/copies';
export { Flow, flowParamCount, type FlowConfig } from './flow';
export { PAPER_ADAM, type AdamConfig } from './train/adam';
export { extractFeatureBank, bankCopySpecs, arraySource, measureCopyRate, type FeatureBank, type ImageSource } from './train/featureBank';
export { featureBankCost, FEATURE_WIDTH, type BankCost } from './train/bankCost';
export { trainFlow, rowSchedule, type FlowTrainProgress, type FlowTrainReport, type ScheduledStep } from './train/trainFlow';
export { anomalyScore, scoreFeatureRows, scoreAngles, type ScoreOptions } from './score/score';
export { defectMap, gaussianBlur, DEFAULT_MAP_ORDER, type DefectMap, type MapOrder } from './score/defectMap';
export { evenAngles, randomAngles } from './transforms';
export { DifferNet, type TrainEvent, type TrainCallbacks, type TrainingRecord } from './model/differnet';
export { PAPER_SETTINGS, DEFAULT_SETTINGS, BACKBONE_FEATURES, forBackbone, bankCopies, withRotations, ROTATION_BANK_COPIES, type ModelSettings, type TrainSettings } from './model/settings';
export * from './inspection';
export { trainModel, trainInspectionModel, localFeatureWork, concatRows, CALIBRATION_MAPS, type FeatureWork, type PipelineOptions } from './train/pipeline';
export { saveModel, loadModel, readModelFile, ModelFileError, MODEL_VERSION, type ModelManifest } from './model/modelFile';
export { CancelledError, throwIfAborted, type Progress } from './progress';
export * from './metrics';
export { overlayHeatmap, heatColour, heatPalette } from './heatmap';
