import * as tf from '@tensorflow/tfjs';
import type { HostForward } from '../backbones/types';
import { transformCopies } from '../features/copies';
import { scaleWidth } from '../features/extractor';
import { downsampleNearestRgb, nearestIndices } from '../resample';
import type { Flow } from '../flow/flow';
import { HostFlow, hostFlowSupported } from '../flow/hostFlow';
import { whitenGradientJs, whitenRowsJs } from '../flow/whitening';
import type { CopyGradients, ScoredModel } from '../execution/featureEngine';
import { scoreFeatureRows } from './score';

/*
 * The input gradients of defect maps on the host kernels (backbones/hostBackbone.ts inputGradient): per copy,
 * the scales' features and their backward through the CNN there, the flow's gradient for the one feature row
 * in between (flow/hostFlow.ts's kernels, or TF.js for a flow they cannot run: about 40 small ops per block
 * each way, which cost a quarter of a map on TF.js), and the adjoint of the nearest-neighbour downsampling
 * that made the smaller scales. Gives what the TF.js engine (execution/tfjsEngine.ts) differentiates, to float32 rounding.
 */

/** The gradients of the copies of `base` ([1, size, size, 3] in [0, 1]) turned by `angles`. */
export async function hostCopyGradients(host: HostForward, m: ScoredModel, base: tf.Tensor4D, angles: readonly number[], maxThreads?: number): Promise<CopyGradients> {
  const size = m.features.size;
  const sides = Array.from({ length: m.features.scales }, (_, s) => Math.floor(size / 2 ** s));
  const width = scaleWidth(m.backbone, m.features);
  const batch = transformCopies(base, angles.map((angle) => ({ angle })));
  const px = (await batch.data()) as Float32Array;
  batch.dispose();
  const n = size * size * 3;
  const out = new Float32Array(angles.length * n);
  const dim = width * sides.length;
  const rows = new Float32Array(angles.length * dim);
  for (let j = 0; j < angles.length; j++) {
    const full = px.subarray(j * n, (j + 1) * n);
    const images = sides.map((side) => ({ side, rgb: downsampleNearestRgb(full, size, side) }));
    const onHost = await hostFlowFor(m.flow);
    const grads = await host.inputGradient(images, m.features.taps, (pooled) => {
      const row = rows.subarray(j * dim, (j + 1) * dim);
      pooled.forEach((p, s) => row.set(p, s * width));
      const grad = onHost ? hostFlowGradient(onHost, m.flow, row) : flowGradient(m.flow, row).grad;
      return sides.map((_, s) => grad.subarray(s * width, (s + 1) * width));
    }, maxThreads);
    const dst = out.subarray(j * n, (j + 1) * n);
    sides.forEach((side, s) => downsampleNearestRgbAdjointAdd(grads[s], size, side, dst));
  }
  // The score as score() computes it from the same rows (TF.js's flow), not the flow kernels' z: a map's
  // score must give the very verdict the image gets without a map, and the two flows differ in the last bits.
  const perCopy = await scoreFeatureRows(m.flow, rows, dim, 1);
  const zsq = perCopy.reduce((a, v) => a + v, 0);
  return { grad: tf.tensor4d(out, [angles.length, size, size, 3]), zsq };
}

interface FlowCopy {
  host: Promise<HostFlow | null>;
  /** The flow's variables' data when copied: TF.js gives a variable new data on every assign (training, loading). */
  data: object[];
}
const flowCopies = new WeakMap<Flow, FlowCopy>();

/** The flow's weights on the host kernels (one row, no training memory), copied again whenever they changed; null where they cannot run it. */
async function hostFlowFor(flow: Flow): Promise<HostFlow | null> {
  if (!hostFlowSupported(flow.config)) return null;
  const data = flow.trainableVariables().map((v) => v.dataId);
  const had = flowCopies.get(flow);
  if (had && had.data.length === data.length && had.data.every((d, i) => d === data[i])) return had.host;
  if (had) void had.host.then((h) => h?.dispose());
  const host = (async () => {
    try {
      const h = await HostFlow.create(flow.config, 1, { helpers: 0 }, undefined, true);
      h.load(await flow.toStateDict());
      return h;
    } catch (e) {
      console.warn(`defect maps keep the flow on TF.js: ${(e as Error).message}`);
      return null;
    }
  })();
  flowCopies.set(flow, { host, data });
  return host;
}

/** The flow's gradient for one row on the host kernels, which run the coupling blocks: a whitening is applied before them and its transpose after. */
export function hostFlowGradient(h: HostFlow, flow: Flow, row: Float32Array): Float32Array {
  const input = h.inputRows(1);
  if (flow.whitening) whitenRowsJs(flow.whitening, row, 1, input);
  else input.set(row);
  const { grad } = h.inputGradient(1);
  return flow.whitening ? whitenGradientJs(flow.whitening, grad, row) : grad;
}

/** One feature row's loss, (0.5 sum z^2 - log det) / D as defectMap.ts's, differentiated; and its mean z^2. */
export function flowGradient(flow: Flow, row: Float32Array): { grad: Float32Array; zsq: number } {
  const dim = flow.config.inputDim;
  let zsq = 0;
  const grad = tf.tidy(() => {
    const lossOf = (x: tf.Tensor) => {
      const { z, logDet } = flow.forward(x as tf.Tensor2D);
      const sq = tf.sum(tf.square(z));
      zsq = sq.dataSync()[0] / dim;
      return tf.div(tf.sub(tf.mul(0.5, sq), tf.sum(logDet)), dim) as tf.Scalar;
    };
    return tf.grad(lossOf)(tf.tensor2d(row, [1, dim])).dataSync() as Float32Array;
  });
  return { grad, zsq };
}

/** dst += the adjoint of downsampleNearestRgb from n to m px: each of g's pixels back to the one it was read from. */
export function downsampleNearestRgbAdjointAdd(g: Float32Array, n: number, m: number, dst: Float32Array): void {
  const idx = m === n ? null : nearestIndices(n, m);
  for (let y = 0; y < m; y++) {
    const row = (idx ? idx[y] : y) * n;
    for (let x = 0; x < m; x++) {
      const to = (row + (idx ? idx[x] : x)) * 3;
      const from = (y * m + x) * 3;
      dst[to] += g[from];
      dst[to + 1] += g[from + 1];
      dst[to + 2] += g[from + 2];
    }
  }
}
