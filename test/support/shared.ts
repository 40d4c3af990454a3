// Test support: the shared material (../shared, read-only, never copied into the repo) and its reference values.
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../src/core/node/shared';

export { readShared, sharedDir, sharedPath } from '../../src/core/node/shared';

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
