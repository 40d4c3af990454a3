/** 8-bit RGBA pixels, 4 bytes per pixel, row-major: the layout of a browser ImageData. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}
