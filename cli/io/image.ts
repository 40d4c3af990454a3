/**
 * 8-bit RGBA pixels, 4 bytes per pixel, row-major: the layout of a browser ImageData, so decoded files
 * feed the same core code as the web app's canvas pixels. It is assignable to the core's `RgbaImage`.
 */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** What the core produces (e.g. heatmap overlays); accepted wherever pixels are only read. */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}
