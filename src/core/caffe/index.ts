// Reads Caffe's .caffemodel files (a serialized caffe.NetParameter, V1 or V2 layout) in pure TypeScript:
// browser, Web Worker and Node alike. See wire.ts for the bounds every read is held to.
import { CallbackError, readNet } from './caffemodel';
import { CaffeError } from './errors';
import type { CaffeNet, ReadCaffeModelOptions } from './types';

export { CaffeError } from './errors';
export type { CaffeBlob, CaffeConvParam, CaffeLayer, CaffeLrnParam, CaffeNet, CaffePhase, CaffePoolParam, ReadCaffeModelOptions } from './types';

/**
 * Reads a .caffemodel: the network's name, layout, inputs and layers (names, V2 type strings, bottoms,
 * tops, phases, the convolution / pooling / LRN / concat / inner product parameters with Caffe's defaults)
 * and the layers' blobs as float32 (double data converted). Throws CaffeError for anything malformed,
 * truncated, hostile or unsupported; an exception thrown by `decodeBlobs` is rethrown unchanged.
 */
export function readCaffeModel(bytes: Uint8Array, options: ReadCaffeModelOptions = {}): CaffeNet {
  try {
    if (!(bytes instanceof Uint8Array)) throw new CaffeError('expected the caffemodel contents as a Uint8Array');
    // Subclasses such as Node's Buffer behave differently in places (subarray, pooling): read a plain view.
    const plain = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return readNet(plain, options);
  } catch (e) {
    if (e instanceof CallbackError) throw e.error;
    if (e instanceof CaffeError) throw e;
    // A bug or an engine limit (e.g. allocation failure) still surfaces as the documented error type.
    throw new CaffeError(`failed to read the caffemodel: ${e instanceof Error ? e.message : String(e)}`);
  }
}
