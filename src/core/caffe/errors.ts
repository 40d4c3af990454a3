/** Every refusal or failure of the caffemodel reader: hostile, corrupt, truncated or unsupported input. */
export class CaffeError extends Error {
  constructor(message: string) {
    super(message);
    // Errors cross the Web Worker boundary by name, so the name must survive minification.
    this.name = 'CaffeError';
  }
}

/**
 * A failure of the wire format itself (a tag, a length, a varint), found while scanning a message: it says
 * where in the file, and the layer reader adds which layer (see `locate`).
 */
export class WireError extends CaffeError {}

/** Runs `f`, turning a WireError into a CaffeError that also names `where` (e.g. "layer 12 ('conv1')"). */
export function locate<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    throw new CaffeError(e.message.replace(/^(the caffemodel is [a-z]+): /, `$1: in ${where}, `));
  }
}
