import { readFileSync } from 'node:fs';
import { createBackbone, readBackboneWeights, type Backbone, type BackboneId } from '../src/core/internal';

/** Reads a weights file (torchvision .pth, official DifferNet checkpoint, BVLC GoogLeNet .caffemodel) into a backbone. */
export function loadBackboneFile(file: string, id?: BackboneId): Backbone {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new Error(`cannot read weights file ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return createBackbone(readBackboneWeights(bytes), id);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}
