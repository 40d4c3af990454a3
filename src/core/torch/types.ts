/** A float32 tensor as read from a PyTorch file: row-major (contiguous) data and its shape. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Parameter name -> tensor, in file order. */
export type StateDict = Map<string, TensorData>;
