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
