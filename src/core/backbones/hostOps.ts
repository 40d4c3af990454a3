/*
 * GoogLeNet's two LRNs and its inception pools (3x3, stride 1) are a small share of its work at 224 px:
 * plain loops over the shared memory, on this thread.
 */

/** Caffe's LRN across channels on `pixels` rows of `ch` channels: x (k + alpha / size * window sum of x^2)^-beta. */
export function lrnAcross(f32: Float32Array, src: number, dst: number, pixels: number, ch: number, p: { size: number; alpha: number; beta: number; k: number }): void {
  const half = (p.size - 1) / 2;
  const scale = p.alpha / p.size;
  // GoogLeNet's beta, 0.75: s^-0.75 as two square roots, several times faster than Math.pow.
  const threeQuarters = p.beta === 0.75;
  const sq = new Float64Array(ch + 1);
  for (let i = 0; i < pixels; i++) {
    const row = src + i * ch;
    const out = dst + i * ch;
    // Prefix sums of squares: each window's sum in two reads.
    for (let c = 0; c < ch; c++) sq[c + 1] = sq[c] + f32[row + c] * f32[row + c];
    for (let c = 0; c < ch; c++) {
      const lo = c - half > 0 ? c - half : 0;
      const hi = c + half + 1 < ch ? c + half + 1 : ch;
      const s = p.k + scale * (sq[hi] - sq[lo]);
      if (threeQuarters) {
        const r = Math.sqrt(s);
        f32[out + c] = f32[row + c] / (r * Math.sqrt(r));
      } else f32[out + c] = f32[row + c] * Math.pow(s, -p.beta);
    }
  }
}

/**
 * 3x3 max pool, stride 1, windows clipped to the image (padding never wins, as in Caffe and TF's 'same'):
 * separably, the max over 3 columns into `dst`, then over 3 rows back through a one-row buffer.
 */
export function maxPoolSame(f32: Float32Array, src: number, dst: number, h: number, ch: number): void {
  const rowLen = h * ch;
  for (let y = 0; y < h; y++) {
    const r = src + y * rowLen;
    const o = dst + y * rowLen;
    for (let x = 0; x < h; x++) {
      const l = x > 0 ? -ch : 0;
      const rr = x < h - 1 ? ch : 0;
      const at = r + x * ch;
      for (let c = 0; c < ch; c++) {
        let m = f32[at + c];
        const a = f32[at + l + c];
        const b = f32[at + rr + c];
        if (a > m) m = a;
        if (b > m) m = b;
        f32[o + x * ch + c] = m;
      }
    }
  }
  let above = new Float32Array(rowLen);
  let here = new Float32Array(rowLen);
  for (let y = 0; y < h; y++) {
    const o = dst + y * rowLen;
    here.set(f32.subarray(o, o + rowLen));
    const below = y < h - 1 ? dst + (y + 1) * rowLen : o;
    const prev = y > 0 ? above : here;
    for (let i = 0; i < rowLen; i++) {
      let m = here[i];
      if (prev[i] > m) m = prev[i];
      if (f32[below + i] > m) m = f32[below + i];
      f32[o + i] = m;
    }
    [above, here] = [here, above];
  }
}
