export interface FlowConfig {
  /** Feature dimension D (768 for AlexNet at 3 scales). */
  inputDim: number;
  /** Coupling blocks, each preceded by a fixed permutation (8 in the paper). */
  blocks: number;
  /** Hidden width of the coupling subnets (fc_internal, 2048 in the paper). */
  hidden: number;
  /** Soft clamp of the log-scales (3 in the paper). */
  clamp: number;
}

/** Parameters of one subnet: fc1 (in->h), fc2, fc2b (h->h), fc3 (h->out). */
export function subnetParamCount(inDim: number, hidden: number, outDim: number): number {
  return inDim * hidden + hidden + 2 * (hidden * hidden + hidden) + hidden * outDim + outDim;
}

export function flowParamCount(c: FlowConfig): number {
  const l1 = Math.floor(c.inputDim / 2);
  const l2 = c.inputDim - l1;
  return c.blocks * (subnetParamCount(l1, c.hidden, 2 * l2) + subnetParamCount(l2, c.hidden, 2 * l1));
}
