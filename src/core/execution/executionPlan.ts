import type { HostThreads } from '../backbones/hostBackbone';
import type { FlowThreads } from '../train/trainFlow';
import { choosePlan, type PlanChoice, type PlanInputs } from './choose';
import type { FeatureEngine } from './featureEngine';
import { TFJS_ENGINE } from './tfjsEngine';
import { WasmFeatureEngine } from './wasmEngine';

/**
 * How one worker or one CLI process computes: chosen once from explicit inputs (createExecutionPlan), then
 * handed to every model and training it runs. Nothing in core looks the choice up anywhere else.
 */
export interface ExecutionPlan {
  /** The TF.js backend, recorded in trained models. */
  readonly backend: string;
  readonly choice: PlanChoice;
  /** Feature rows (scores, thresholds, the training bank) and the input gradients of defect maps. */
  readonly features: FeatureEngine;
  /** How the flow trains: 'auto' takes the WebAssembly kernels where they can run the flow, else TF.js's graph. */
  readonly flow: { runner: 'auto' | 'host' | 'tfjs'; threads?: FlowThreads };
}

export interface ExecutionInputs extends PlanInputs {
  /** Threads for the WebAssembly CNN kernels: `helpers` besides the calling one. */
  featureThreads: HostThreads;
  /** Helper threads for the flow's training products (absent: the calling thread does them all). */
  flowThreads?: FlowThreads;
  /**
   * The WebAssembly engine to reuse when the plan picks it, so that a worker switching backends keeps its
   * compiled kernels; a new one on `featureThreads` otherwise.
   */
  wasm?: WasmFeatureEngine;
}

export function createExecutionPlan(inputs: ExecutionInputs): ExecutionPlan {
  const choice = choosePlan(inputs);
  const features = choice.features === 'wasm' ? (inputs.wasm ?? new WasmFeatureEngine(inputs.featureThreads)) : TFJS_ENGINE;
  return { backend: choice.backend, choice, features, flow: { runner: 'auto', ...(inputs.flowThreads ? { threads: inputs.flowThreads } : {}) } };
}
