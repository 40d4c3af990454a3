// Pixel-level AUROC over whole test sets: tens of millions of pixels, so no per-pixel JS objects.
import { aurocSorted } from './roc';
import { requireBothClasses } from './split';

/**
 * AUROC of defect-map values against ground-truth masks, all images pooled. A mask pixel is defective
 * when it is > 0: the callers binarise masks to 0/1 when decoding (at 128 of 255), and a raw 0/255
 * mask reads the same. Anti-aliased raw masks should be binarised by the caller first.
 */
export function pixelAuroc(maps: Float32Array[], masks: ArrayLike<number>[]): number {
  if (maps.length !== masks.length) throw new RangeError(`pixelAuroc got ${maps.length} maps but ${masks.length} masks`);
  let nPos = 0;
  let total = 0;
  for (let k = 0; k < maps.length; k++) {
    if (maps[k].length !== masks[k].length) throw new RangeError(`image ${k}: map has ${maps[k].length} values but mask has ${masks[k].length}`);
    total += maps[k].length;
    const mk = masks[k];
    for (let i = 0; i < mk.length; i++) if (mk[i] > 0) nPos++;
  }
  // Pooling as Float32 halves the memory and, since maps are Float32 already, changes no value or tie.
  const pos = new Float32Array(nPos);
  const neg = new Float32Array(total - nPos);
  let p = 0;
  let q = 0;
  for (let k = 0; k < maps.length; k++) {
    const m = maps[k];
    const mk = masks[k];
    for (let i = 0; i < m.length; i++) {
      const v = m[i];
      if (Number.isNaN(v)) throw new RangeError(`map ${k} has NaN at pixel ${i}`);
      if (mk[i] > 0) pos[p++] = v;
      else neg[q++] = v;
    }
  }
  const classes = { pos: pos.sort(), neg: neg.sort() };
  requireBothClasses(classes, 'pixel AUROC');
  return aurocSorted(classes);
}
