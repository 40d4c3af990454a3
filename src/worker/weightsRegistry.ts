// Backbone weights the worker holds: the kept state dicts (what survives a backend change) and the
// backbones built from them on the current backend (rebuilt lazily after one).
import { BACKBONE_LABEL, createBackbone, type Backbone, type BackboneId } from '../core/backbones';
import { encodeWeightsFile } from '../core/model/weightsFile';
import type { StateDict } from '../core/torch';
import type { WeightsInfo } from './protocol';

function paramCount(sd: StateDict): number {
  let n = 0;
  for (const t of sd.values()) n += t.data.length;
  return n;
}

export function backboneName(id: BackboneId): string {
  return BACKBONE_LABEL[id];
}

export class WeightsRegistry {
  private readonly weights = new Map<BackboneId, { sd: StateDict; info: WeightsInfo }>();
  private readonly backbones = new Map<BackboneId, Backbone>();
  private readonly replaced = new Set<(id: BackboneId) => void>();

  /** `listener` hears of every backbone replaced by new weights (models built on it must rebuild). */
  onReplaced(listener: (id: BackboneId) => void): void {
    this.replaced.add(listener);
  }

  /**
   * Builds the backbone from `sd` (architecture detected unless `id` is given), keeps only its tensors,
   * and replaces any weights of the same architecture.
   */
  adopt(sd: StateDict, id: BackboneId | undefined, source: string): WeightsInfo {
    const bb = createBackbone(sd, id);
    const kept = bb.stateDict();
    const info: WeightsInfo = { id: bb.id, hash: bb.weightsHash, tensors: kept.size, params: paramCount(kept), source };
    for (const l of this.replaced) l(bb.id);
    this.backbones.get(bb.id)?.dispose();
    this.backbones.set(bb.id, bb);
    this.weights.set(bb.id, { sd: kept, info });
    return info;
  }

  has(id: BackboneId): boolean {
    return this.weights.has(id);
  }

  info(id: BackboneId): WeightsInfo | null {
    return this.weights.get(id)?.info ?? null;
  }

  /** The app's cache copy of the loaded weights: the kept tensors in a weights file. */
  cacheFile(id: BackboneId): Uint8Array {
    const w = this.weights.get(id);
    if (!w) throw new Error(`no ${backboneName(id)} weights are loaded`);
    return encodeWeightsFile(w.info.id, w.info.hash, w.info.source, w.sd);
  }

  /** The backbone on the current backend, built from the kept weights if needed. */
  backbone(id: BackboneId): Backbone {
    let bb = this.backbones.get(id);
    if (!bb) {
      const w = this.weights.get(id);
      if (!w) throw new Error(`no ${backboneName(id)} weights are loaded: add the PyTorch weights file first`);
      bb = createBackbone(w.sd, id);
      this.backbones.set(id, bb);
    }
    return bb;
  }

  /** Frees the backbones living on the current backend; the weights stay. */
  release(): void {
    for (const bb of this.backbones.values()) {
      try {
        bb.dispose();
      } catch {
        // a lost GPU device cannot free its buffers; forget them
      }
    }
    this.backbones.clear();
  }
}
