import { CaffeError, readCaffeModel } from '../caffe';
import { readPth, type ReadPthOptions } from '../torch';
import type { StateDict } from '../torch/types';
import { googlenetStateDict, isGooglenetWeightLayer } from './googlenet';
import { isBackboneKey, WeightsError } from './weights';

/**
 * A PyTorch file starts with a zip's "PK" or a pickle's protocol byte 0x80; anything else is read as a Caffe
 * NetParameter (protobuf), whose first byte is a field tag.
 */
export function isPthBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && ((bytes[0] === 0x50 && bytes[1] === 0x4b) || bytes[0] === 0x80);
}

/**
 * The backbone tensors of a weights file: a torchvision .pth or an official DifferNet checkpoint (`include`
 * picks which tensors are converted; default: the backbone's), or BVLC GoogLeNet's .caffemodel (only its
 * convolutions are decoded; classifiers, auxiliary heads and training layers are skipped).
 */
export function readBackboneWeights(bytes: Uint8Array, options: ReadPthOptions = {}): StateDict {
  if (isPthBytes(bytes)) return readPth(bytes, { include: isBackboneKey, ...options });
  let net;
  try {
    net = readCaffeModel(bytes, { decodeBlobs: isGooglenetWeightLayer });
  } catch (e) {
    if (e instanceof CaffeError) throw new WeightsError(`neither a PyTorch file nor a readable Caffe caffemodel: ${e.message}`, { cause: e });
    throw e;
  }
  return googlenetStateDict(net);
}
