import { beforeAll, describe, expect, it } from 'vitest';
import { fidelityFixtures, type FidelityManifest } from '../../../test/support/fixtures';
import { setupTf, tf } from '../../../test/support/tf';
import { Adam, PAPER_ADAM } from './adam';

beforeAll(setupTf);

const fx = fidelityFixtures();

describe.skipIf(!fx)('Adam parity with torch.optim.Adam', () => {
  // Undefined when skipped; only read inside the tests.
  const ref = fx?.manifest.adam as FidelityManifest['adam'];

  it("the paper's settings are the official train.py's (lr 2e-4, betas (0.8, 0.8), eps 1e-4, weight_decay 1e-5)", () => {
    expect(PAPER_ADAM).toEqual(ref.config);
  });

  // Each step's update p_t - p_(t-1) within 1e-4 of its own size, against torch's float32 steps and the
  // same steps in float64. Parameters ~1e-3, updates 1e-5 to 2e-4: one float32 ulp of a parameter is at
  // most 2e-5 of an update, so a parameter that torch rounds the other way on another processor costs
  // that much. Measured: 2.1e-5 from torch's float32 (one ulp), 1.7e-5 from float64. A 0.1% error in the
  // learning rate (1e-3 of every update) or eps at 1e-8 (4e-3) fails. Weight decay is not seen here: its
  // term (1e-5 x parameter) moves the updates by 8e-7 (8.9e-5 with the former parameters ~0.1, also
  // under the bound); only its value is pinned, by the settings test above.
  for (const inJs of [false, true]) {
    it(`three steps equal torch's updates, float32 and float64, within 1e-4 relative (${inJs ? 'JavaScript' : 'TF.js'} moments)`, async () => {
      const vars = ref.shapes.map((shape, i) => tf.variable(tf.tensor(ref.initial[i], shape), true, `adam-parity-${inJs}-${i}`));
      const adam = new Adam(vars, PAPER_ADAM, inJs);
      let prev = { params: ref.initial, params_float64: ref.initial };
      for (const [s, step] of ref.steps.entries()) {
        const grads: tf.NamedTensorMap = {};
        vars.forEach((v, i) => (grads[v.name] = tf.tensor(step.grads[i], v.shape)));
        adam.step(grads);
        tf.dispose(Object.values(grads));
        for (const [i, v] of vars.entries()) {
          const got = await v.data();
          for (const key of ['params', 'params_float64'] as const) {
            let worst = 0;
            for (let k = 0; k < got.length; k++) {
              const want = step[key][i][k] - prev[key][i][k];
              worst = Math.max(worst, Math.abs(got[k] - prev[key][i][k] - want) / Math.max(Math.abs(want), 1e-6));
            }
            expect(worst, `step ${s + 1}, tensor ${i}, ${key}`).toBeLessThan(1e-4);
          }
        }
        prev = step;
      }
      adam.dispose();
      tf.dispose(vars);
    });
  }
});
