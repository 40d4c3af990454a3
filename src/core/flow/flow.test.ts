import { beforeAll, describe, expect, it } from 'vitest';
import { Flow } from './flow';
import { flowParamCount } from './config';
import { numpyPermutation } from '../random';
import { readReference, readShared } from '../../../test/support/shared';
import { leakedTensors, maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { readPth } from '../torch';

beforeAll(setupTf);

const ref = readReference().flow;

function officialFlow(): Flow {
  return Flow.fromStateDict(readPth(readShared('reference', 'differnet-reference-small.pth')), ref.clamp);
}

describe('flow parity with the official DifferNet code', () => {
  it('infers the configuration from the checkpoint', () => {
    const flow = officialFlow();
    expect(flow.config).toEqual({ inputDim: 768, blocks: 8, hidden: 64, clamp: 3 });
    flow.dispose();
  });

  it('permutations equal numpy RandomState(k).permutation(768)', () => {
    ref.permutations.forEach((p, k) => expect(Array.from(numpyPermutation(768, k))).toEqual(p));
  });

  it('z and log-det within 1e-3, inverse within 1e-3, loss', async () => {
    const flow = officialFlow();
    const x = tf.tensor2d(ref.input);
    const { z, logDet } = flow.forward(x);
    expect(maxAbsDiff(await z.data(), ref.z.flat())).toBeLessThan(1e-3);
    expect(maxAbsDiff(await logDet.data(), ref.log_jac_det)).toBeLessThan(1e-3);
    const inv = flow.inverse(tf.tensor2d(ref.z));
    expect(maxAbsDiff(await inv.data(), ref.inverse_of_z.flat())).toBeLessThan(1e-3);
    const loss = flow.loss(x);
    expect(Math.abs((await loss.data())[0] - ref.loss_differnet)).toBeLessThan(1e-4);
    tf.dispose([x, z, logDet, inv, loss]);
    flow.dispose();
  });

  it('inverse(forward(x)) = x for a random flow', async () => {
    const flow = Flow.random({ inputDim: 33, blocks: 4, hidden: 16, clamp: 3 }, 7);
    const x = tf.randomNormal([5, 33]) as tf.Tensor2D;
    const back = flow.inverse(flow.forward(x).z);
    expect(maxAbsDiff(await back.data(), await x.data())).toBeLessThan(1e-4);
    tf.dispose([x, back]);
    flow.dispose();
  });

  it('round-trips through a state_dict exactly', async () => {
    const flow = Flow.random({ inputDim: 10, blocks: 2, hidden: 8, clamp: 3 }, 3);
    const sd = await flow.toStateDict();
    expect([...sd.keys()][0]).toBe('nf.module_list.2.s1.fc1.weight');
    const again = Flow.fromStateDict(sd, 3);
    const sd2 = await again.toStateDict();
    for (const [k, v] of sd) expect(Array.from(sd2.get(k)!.data)).toEqual(Array.from(v.data));
    flow.dispose();
    again.dispose();
  });

  // The official F_fully_connected also declares a BatchNorm it never calls; only fc* weights take part.
  it('counts parameters like PyTorch (paper width: 210M for 1536 inputs)', () => {
    expect(flowParamCount({ inputDim: 1536, blocks: 8, hidden: 2048, clamp: 3 })).toBeGreaterThan(200e6);
    expect(flowParamCount({ inputDim: 768, blocks: 8, hidden: 64, clamp: 3 })).toBe(
      [...readPth(readShared('reference', 'differnet-reference-small.pth')).entries()]
        .filter(([k]) => /^nf\..*\.fc(1|2|2b|3)\.(weight|bias)$/.test(k))
        .reduce((a, [, t]) => a + t.data.length, 0),
    );
  });

  it('forward and loss leak no tensors', async () => {
    const flow = officialFlow();
    const x = tf.tensor2d(ref.input);
    expect(
      await leakedTensors(async () => {
        const { z, logDet } = flow.forward(x);
        const l = flow.loss(x);
        await l.data();
        tf.dispose([z, logDet, l]);
      }),
    ).toBe(0);
    x.dispose();
    flow.dispose();
  });
});
