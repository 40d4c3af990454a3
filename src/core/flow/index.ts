export { Flow, type FlowOutput } from './flow';
export { type FlowConfig, flowParamCount } from './config';
