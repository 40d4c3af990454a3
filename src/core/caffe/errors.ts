/** Every refusal or failure of the caffemodel reader: hostile, corrupt, truncated or unsupported input. */
export class CaffeError extends Error {
  constructor(message: string) {
    super(message);
    // Errors cross the Web Worker boundary by name, so the name must survive minification.
    this.name = 'CaffeError';
  }
}
