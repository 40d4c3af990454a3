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

/**
 * The soft clamp's factor: log-scales are SOFT_CLAMP_FACTOR c atan(s / c), as the official code's
 * glow_coupling_layer writes it (0.636, about 2 / pi, keeps them inside (-c, c)). Every engine and kernel reads it here.
 */
export const SOFT_CLAMP_FACTOR = 0.636;

/** The two subnets of a coupling block and their layers, in the official code's names and state-dict order. */
export const SUBNETS = ['s1', 's2'] as const;
export const SUBNET_LAYERS = ['fc1', 'fc2', 'fc2b', 'fc3'] as const;
export type SubnetName = (typeof SUBNETS)[number];
export type SubnetLayer = (typeof SUBNET_LAYERS)[number];

/** The official graph puts permutation k at module_list index 2k+1 and coupling block k at 2k+2. */
export function blockKey(k: number): string {
  return `nf.module_list.${2 * k + 2}`;
}

/** A coupling's halves: the first floor(D / 2) features and the rest. */
export function couplingSplit(inputDim: number): { l1: number; l2: number } {
  const l1 = Math.floor(inputDim / 2);
  return { l1, l2: inputDim - l1 };
}

/** Parameters of one subnet: fc1 (in->h), fc2, fc2b (h->h), fc3 (h->out). */
export function subnetParamCount(inDim: number, hidden: number, outDim: number): number {
  return inDim * hidden + hidden + 2 * (hidden * hidden + hidden) + hidden * outDim + outDim;
}

export function flowParamCount(c: FlowConfig): number {
  const { l1, l2 } = couplingSplit(c.inputDim);
  return c.blocks * (subnetParamCount(l1, c.hidden, 2 * l2) + subnetParamCount(l2, c.hidden, 2 * l1));
}
