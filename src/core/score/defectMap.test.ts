import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone } from '../backbones';
import { Flow } from '../flow/flow';
import { fidelityFixtures, type FidelityManifest } from '../../../test/support/fixtures';
import { referenceImage, syntheticPart } from '../../../test/support/images';
import { readShared } from '../../../test/support/shared';
import { leakedTensors, setupTf } from '../../../test/support/tf';
import { readPth } from '../torch';
import { defectMap } from './defectMap';
import type { Scorer } from './score';

beforeAll(setupTf);

const fx = fidelityFixtures();

/** Largest difference relative to the reference's largest value. */
function relToMax(got: ArrayLike<number>, want: ArrayLike<number>, scale = 1): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] * scale - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / m;
}

// localization.py's computation in PyTorch on the small reference model (random AlexNet, 8 blocks x 64):
// the test image at the official fixed rotations 0/90/180/270 degrees (exact in both, so what is compared
// is the gradient and the order of the steps, not interpolation).
describe.skipIf(!fx)('defect map parity with localization.py', () => {
  // Undefined when skipped; only read inside the tests.
  const ref = fx?.manifest.defect_map as FidelityManifest['defect_map'];
  let model: Scorer;
  beforeAll(() => {
    const sd = readPth(readShared('reference', 'differnet-reference-small.pth'));
    model = { backbone: createBackbone(sd), flow: Flow.fromStateDict(sd, 3), features: { size: 448, scales: 3 } };
  });
  afterAll(() => {
    model.flow.dispose();
    model.backbone.dispose();
  });
  const opts = () => ({ transforms: ref.transforms, chunk: 2 });
  // Our per-copy gradients are T times the official ones (sum vs mean of the copies' losses): maps T^2.
  const scale = () => 1 / ref.transforms ** 2;
  let official: Float32Array;
  let absFirst: Float32Array;

  it("mapOrder 'official' equals localization.py's map within 1e-3 of its largest value (measured 5.6e-4); the score within 1e-5 relative (6e-7)", async () => {
    const d = await defectMap(model, referenceImage(), { ...opts(), mapOrder: 'official' });
    official = d.map;
    const want = fx!.bin(ref.official) as Float32Array;
    expect(relToMax(d.map, want, scale())).toBeLessThan(1e-3);
    expect(Math.abs(d.score / ref.anomaly_score - 1)).toBeLessThan(1e-5);
  });

  it("mapOrder 'abs-first' equals the same computation with |.| before the blur within 1e-3 of its largest value (measured 3.9e-4)", async () => {
    const d = await defectMap(model, referenceImage(), { ...opts(), mapOrder: 'abs-first' });
    absFirst = d.map;
    const want = fx!.bin(ref.abs_first) as Float32Array;
    expect(relToMax(d.map, want, scale())).toBeLessThan(1e-3);
  });

  it('the official order leaks no tensors', async () => {
    const img = syntheticPart(64, 3);
    await defectMap(model, img, { transforms: 2, mapOrder: 'official' });
    expect(await leakedTensors(() => defectMap(model, img, { transforms: 2, mapOrder: 'official' }))).toBe(0);
  });

  it('the two orders are told apart far beyond that tolerance (they differ by 91% of the largest value)', () => {
    const a = fx!.bin(ref.official) as Float32Array;
    const b = fx!.bin(ref.abs_first) as Float32Array;
    expect(relToMax(a, b)).toBeGreaterThan(0.1);
    expect(relToMax(official, absFirst)).toBeGreaterThan(0.1);
  });
});
