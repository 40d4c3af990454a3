// Which engine runs what, decided from explicit inputs; TF-free, so the decision can be tested and shown
// without starting anything.
import type { FeatureEngineName } from './featureEngine';

/** The TF.js backends that run on the CPU, where the WebAssembly kernels take over the CNN. */
const CPU_BACKENDS: ReadonlySet<string> = new Set(['wasm', 'cpu']);

export interface PlanInputs {
  /** The TF.js backend this worker or process runs on. */
  backend: string;
  /** The value of DIFFERNET_HOST_BACKBONE where the process has one: '0' keeps feature rows on TF.js (for comparisons). */
  hostBackbone?: string;
}

export interface PlanChoice {
  backend: string;
  features: FeatureEngineName;
  /** Why, in words, for logs and reports. */
  reason: string;
}

/**
 * Feature rows and map gradients on the WebAssembly kernels on TF.js's CPU backends, unless turned off;
 * on WebGPU and WebGL the GPU keeps them.
 */
export function choosePlan(inputs: PlanInputs): PlanChoice {
  const { backend } = inputs;
  if (!CPU_BACKENDS.has(backend)) return { backend, features: 'tfjs', reason: `the ${backend} backend computes the CNN on its device` };
  if (inputs.hostBackbone === '0') return { backend, features: 'tfjs', reason: 'DIFFERNET_HOST_BACKBONE=0 keeps the CNN on TF.js' };
  return { backend, features: 'wasm', reason: `the WebAssembly kernels replace TF.js's ${backend} backend for the CNN` };
}
