// Node-only helpers for tests and benchmarks that read ../shared (read-only material never copied into the repo).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Root of the shared material: $DIFFERNET_SHARED, or ../shared beside the repository. */
export function sharedDir(): string {
  return process.env.DIFFERNET_SHARED ?? path.resolve(repoRoot, '../shared');
}

export function sharedPath(...parts: string[]): string {
  const p = path.join(sharedDir(), ...parts);
  if (!existsSync(p)) {
    throw new Error(`Shared test material missing: ${p} (set DIFFERNET_SHARED to the folder holding reference/, weights/, datasets/)`);
  }
  return p;
}

export function readShared(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath(...parts)));
}

export interface ReferenceJson {
  imagenet_mean: number[];
  imagenet_std: number[];
  alexnet_random: { gap_multiscale: number[]; feature_map_shapes: number[][] };
  squeezenet1_1_imagenet: { gap_multiscale: number[]; feature_map_shapes: number[][] };
  flow: {
    n_coupling_blocks: number;
    clamp: number;
    fc_internal: number;
    input_dim: number;
    permutations: number[][];
    input: number[][];
    z: number[][];
    log_jac_det: number[];
    inverse_of_z: number[][];
    loss_differnet: number;
    alexnet_image_z: number[][];
    alexnet_image_log_jac_det: number[];
    alexnet_image_anomaly_score: number;
  };
}

export function readReference(): ReferenceJson {
  return JSON.parse(readFileSync(sharedPath('reference', 'reference.json'), 'utf8')) as ReferenceJson;
}
