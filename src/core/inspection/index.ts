// The engine's TF-free inspection policy: calibration, the verdict and displayed score, heatmap scale,
// hold-out and evaluation. Pure arithmetic, so the UI may import it without pulling in TF.js.
export * from './calibration';
export * from './evaluation';
export * from './labelledSet';
export * from './heatScale';
export * from './holdout';
export * from './mvtecLayout';
export * from './verdict';
export * from './framing';
export * from './station';
export * from './history';
export * from './csv';
export * from './drift';
export * from './learning';
export * from './report';
