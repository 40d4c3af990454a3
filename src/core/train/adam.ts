import * as tf from '@tensorflow/tfjs';
import { ownedVariable } from '../variables';

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

/**
 * torch.optim.Adam, step for step. TF.js's AdamOptimizer has no weight decay and puts eps inside the
 * bias correction differently, so the update is written out here.
 */
export class Adam {
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    private readonly vars: tf.Variable[],
    readonly config: AdamConfig,
  ) {
    this.m = vars.map((x) => ownedVariable(tf.zerosLike(x), false));
    this.v = vars.map((x) => ownedVariable(tf.zerosLike(x), false));
  }

  /** Applies one update; `grads` are matched to the variables by name. */
  step(grads: tf.NamedTensorMap): void {
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        let g = grads[p.name];
        if (!g) return;
        if (weightDecay) g = tf.add(g, tf.mul(p, weightDecay));
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
