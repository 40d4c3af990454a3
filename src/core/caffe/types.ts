// What the caffemodel reader gives its consumers: one vocabulary for the V1 and V2 layouts of caffe.NetParameter.

/**
 * A learned parameter blob. `shape` is as stored: the BlobShape dims (V2), or [num, channels, height, width]
 * (V1's legacy fields; e.g. a convolution's biases are 1x1x1xO there). Consumers check element counts;
 * `data.length` always equals the product of `shape`.
 */
export interface CaffeBlob {
  shape: number[];
  data: Float32Array;
}

export interface CaffeConvParam {
  numOutput: number;
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  group: number;
  biasTerm: boolean;
  dilation: number;
}

/** `kernel` is [0, 0] when `globalPooling` is set: the kernel is then the input's size. */
export interface CaffePoolParam {
  pool: 'MAX' | 'AVE' | 'STOCHASTIC';
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  globalPooling: boolean;
}

export interface CaffeLrnParam {
  localSize: number;
  alpha: number;
  beta: number;
  k: number;
  normRegion: 'ACROSS_CHANNELS' | 'WITHIN_CHANNEL';
}

export type CaffePhase = 'TRAIN' | 'TEST';

export interface CaffeLayer {
  name: string;
  /** V2 type strings ('Convolution', 'Pooling', 'InnerProduct', ...); V1 enum types are mapped to them. */
  type: string;
  bottom: string[];
  top: string[];
  /** Phases from include/exclude rules, so train-only layers (data, losses) can be skipped. */
  include: CaffePhase[];
  exclude: CaffePhase[];
  convolution?: CaffeConvParam;
  pooling?: CaffePoolParam;
  lrn?: CaffeLrnParam;
  concat?: { axis: number };
  innerProduct?: { numOutput: number; biasTerm: boolean };
  /** Empty when the caller chose not to decode this layer's blobs. */
  blobs: CaffeBlob[];
}

export interface CaffeNet {
  name: string;
  layout: 'V1' | 'V2';
  /** NetParameter's input / input_shape / input_dim, then the tops of Input layers with their input_param shapes. */
  inputs: { name: string; shape: number[] }[];
  layers: CaffeLayer[];
}

export interface ReadCaffeModelOptions {
  /**
   * Layers for which this returns false keep `blobs: []`: their blob bytes are never parsed, copied or
   * converted (they are only bounded by their layer's length). Called once for each layer that has blobs,
   * after the whole layer message is read, so the field order inside the file does not matter. Without
   * it, every layer's blobs are decoded.
   */
  decodeBlobs?: (layer: { name: string; type: string }) => boolean;
}
