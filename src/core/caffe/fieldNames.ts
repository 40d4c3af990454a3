// Field names of the caffe.proto messages the reader scans, so that wire-format errors say which field
// ran past the end ("field 'layer' (100) of a NetParameter"), not just its number.
export const FIELD_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  NetParameter: { 1: 'name', 2: 'layers', 3: 'input', 4: 'input_dim', 5: 'force_backward', 6: 'state', 7: 'debug_info', 8: 'input_shape', 100: 'layer' },
  LayerParameter: { 1: 'name', 2: 'type', 3: 'bottom', 4: 'top', 5: 'loss_weight', 6: 'param', 7: 'blobs', 8: 'include', 9: 'exclude', 10: 'phase', 104: 'concat_param', 106: 'convolution_param', 117: 'inner_product_param', 118: 'lrn_param', 121: 'pooling_param', 143: 'input_param' },
  V1LayerParameter: { 1: 'layer', 2: 'bottom', 3: 'top', 4: 'name', 5: 'type', 6: 'blobs', 7: 'blobs_lr', 8: 'weight_decay', 9: 'concat_param', 10: 'convolution_param', 17: 'inner_product_param', 18: 'lrn_param', 19: 'pooling_param', 32: 'include', 33: 'exclude' },
  BlobProto: { 1: 'num', 2: 'channels', 3: 'height', 4: 'width', 5: 'data', 6: 'diff', 7: 'shape', 8: 'double_data', 9: 'double_diff' },
  BlobShape: { 1: 'dim' },
};
