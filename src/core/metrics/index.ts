export { auroc, downsampleRoc, rocCurve, type RocCurve } from './roc';
export { pixelAuroc } from './pixel';
export { confusion, f1MaxThreshold, percentileThreshold, thresholdForFalseAlarmRate, type Confusion, type F1Max } from './threshold';
export { scoreStats, type ScoreStats } from './stats';
export type { BinaryLabel } from './split';
