import type { StateDict, TensorData } from '../torch/types';
import type { BackboneId } from './types';

export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** The prefixes under which state_dicts carry a backbone: torchvision files and official DifferNet checkpoints. */
const PREFIXES = ['features.', 'feature_extractor.features.'];

/** Keep only `features.*` tensors under their torchvision names; anything else is not a backbone weight. */
export function backboneTensors(sd: StateDict): StateDict {
  for (const prefix of PREFIXES) {
    const out: StateDict = new Map();
    for (const [k, v] of sd) if (k.startsWith(prefix)) out.set('features.' + k.slice(prefix.length), v);
    if (out.size > 0) return out;
  }
  const sample = [...sd.keys()].slice(0, 5).join(', ') || 'none';
  throw new WeightsError(`no backbone weights found: expected keys "features.*" (torchvision) or "feature_extractor.features.*" (DifferNet checkpoint); the file has ${sd.size} tensors (${sample}${sd.size > 5 ? ', …' : ''})`);
}

/** Key filter for readPth so that classifier tensors are skipped without ever being converted. */
export function isBackboneKey(key: string): boolean {
  return PREFIXES.some((p) => key.startsWith(p));
}

export function detectBackbone(sd: StateDict): BackboneId {
  const feats = backboneTensors(sd);
  const first = feats.get('features.0.weight');
  if (feats.has('features.3.squeeze.weight')) return 'squeezenet1_1';
  if (feats.has('features.conv1/7x7_s2.weight')) return 'googlenet';
  if (first && first.shape.join('x') === '64x3x11x11') return 'alexnet';
  throw new WeightsError('unrecognised backbone: expected torchvision alexnet (features.0.weight 64x3x11x11) or squeezenet1_1 (features.3.squeeze.*), or BVLC GoogLeNet (features.conv1/7x7_s2.*)');
}

export function expectTensor(sd: StateDict, key: string, shape: number[], arch: string): TensorData {
  const t = sd.get(key);
  if (!t) throw new WeightsError(`not a ${arch} state_dict: missing ${key} (expected shape [${shape.join(', ')}])`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new WeightsError(`not a ${arch} state_dict: ${key} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

/** FNV-1a over the float bits: a cheap, stable fingerprint; identity, not security. */
export function hashTensors(sd: StateDict): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const keys = [...sd.keys()].sort();
  for (const k of keys) {
    for (let i = 0; i < k.length; i++) {
      h1 = Math.imul(h1 ^ k.charCodeAt(i), 0x01000193);
    }
    const bits = new Uint32Array(sd.get(k)!.data.buffer, sd.get(k)!.data.byteOffset, sd.get(k)!.data.length);
    for (let i = 0; i < bits.length; i++) {
      h1 = Math.imul(h1 ^ bits[i], 0x01000193);
      h2 = Math.imul(h2 ^ bits[i] ^ (i << 7), 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
