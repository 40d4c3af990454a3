import type { StateDict } from '../torch/types';
import { alexnet } from './alexnet';
import { googlenet } from './googlenet';
import { squeezenet1_1 } from './squeezenet';
import type { Backbone, BackboneId } from './types';
import { detectBackbone, WeightsError } from './weights';

export { alexnet, googlenet, squeezenet1_1 };
export { googlenetStateDict, isGooglenetWeightLayer, GOOGLENET_DEFAULT_TAPS } from './googlenet';
export * from './types';
export { WeightsError, detectBackbone, isBackboneKey, backboneTensors } from './weights';
export { readBackboneWeights, isPthBytes } from './readWeights';

/** Build a backbone from a state_dict; the architecture is detected from the keys unless given. */
export function createBackbone(stateDict: StateDict, id?: BackboneId): Backbone {
  const arch = id ?? detectBackbone(stateDict);
  switch (arch) {
    case 'alexnet':
      return alexnet(stateDict);
    case 'squeezenet1_1':
      return squeezenet1_1(stateDict);
    case 'googlenet':
      return googlenet(stateDict);
    default:
      throw new WeightsError(`unknown backbone "${arch as string}"`);
  }
}
