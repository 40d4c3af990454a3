// Free of TF.js so settings (and the UI that edits them) can use it without loading the engine.
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's weight_decay (not AdamW). */
  weightDecay: number;
}

/** The paper's optimiser settings. */
export const PAPER_ADAM: AdamConfig = { lr: 2e-4, beta1: 0.8, beta2: 0.8, eps: 1e-4, weightDecay: 1e-5 };

/** Adam's constants for update t (from 1), as torch.optim.Adam applies them (weight decay added to the gradient). */
export interface AdamStep {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** lr / (1 - beta1^t) */
  rate: number;
  /** 1 / sqrt(1 - beta2^t) */
  invSqrtBc2: number;
}

/**
 * The one place the bias corrections are computed: the TF.js update, the host-memory update and the
 * WebAssembly kernel all apply p -= rate m / (sqrt(v) invSqrtBc2 + eps) with these.
 */
export function adamStep(c: AdamConfig, t: number): AdamStep {
  return { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, rate: c.lr / (1 - c.beta1 ** t), invSqrtBc2: 1 / Math.sqrt(1 - c.beta2 ** t) };
}
