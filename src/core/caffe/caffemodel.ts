// caffe.NetParameter, in the old V1 layout (field `layers`, V1LayerParameter with enum types and
// legacy 4-d blobs) and the current V2 layout (field `layer`, LayerParameter with string types and
// BlobShape). Both give the same CaffeNet: V1 types are mapped to V2 type strings as Caffe's own
// upgrade (UpgradeV1LayerType) maps them. Field numbers are those of caffe.proto.
import { checkShape, readBlob, readShapeDims } from './blobs';
import { CaffeError, locate } from './errors';
import { readConcat, readConvolution, readInnerProduct, readLrn, readPhases, readPooling } from './params';
import { Message, WIRE_LEN, type Field } from './wire';
import type { CaffeLayer, CaffeNet, ReadCaffeModelOptions } from './types';

export const MAX_LAYERS = 100_000;
/** Bottoms plus tops of one layer (GoogLeNet's widest has 4 bottoms). */
const MAX_BLOB_NAMES = 1 << 12;
/** Network inputs (GoogLeNet has 1). */
const MAX_INPUTS = 1 << 10;

/** caffe.proto's V1LayerParameter.LayerType, as UpgradeV1LayerType names each in V2. */
export const V1_LAYER_TYPES: Readonly<Record<number, string>> = {
  0: '', // NONE
  35: 'AbsVal',
  1: 'Accuracy',
  30: 'ArgMax',
  2: 'BNLL',
  3: 'Concat',
  37: 'ContrastiveLoss',
  4: 'Convolution',
  39: 'Deconvolution',
  5: 'Data',
  6: 'Dropout',
  32: 'DummyData',
  7: 'EuclideanLoss',
  25: 'Eltwise',
  38: 'Exp',
  8: 'Flatten',
  9: 'HDF5Data',
  10: 'HDF5Output',
  28: 'HingeLoss',
  11: 'Im2col',
  12: 'ImageData',
  13: 'InfogainLoss',
  14: 'InnerProduct',
  15: 'LRN',
  29: 'MemoryData',
  16: 'MultinomialLogisticLoss',
  34: 'MVN',
  17: 'Pooling',
  26: 'Power',
  18: 'ReLU',
  19: 'Sigmoid',
  27: 'SigmoidCrossEntropyLoss',
  36: 'Silence',
  20: 'Softmax',
  21: 'SoftmaxWithLoss',
  22: 'Split',
  33: 'Slice',
  23: 'TanH',
  24: 'WindowData',
  31: 'Threshold',
};

/** Field numbers of a layer message in each layout. */
interface LayerSchema {
  message: string;
  name: number;
  type: number;
  bottom: number;
  top: number;
  blobs: number;
  include: number;
  exclude: number;
  concat: number;
  convolution: number;
  innerProduct: number;
  lrn: number;
  pooling: number;
  /** V2 only: InputParameter. */
  input?: number;
  /** V1 only: the embedded V0 layer of pre-2014 files. */
  v0?: number;
}

const V2_LAYER: LayerSchema = { message: 'LayerParameter', name: 1, type: 2, bottom: 3, top: 4, blobs: 7, include: 8, exclude: 9, concat: 104, convolution: 106, innerProduct: 117, lrn: 118, pooling: 121, input: 143 };
const V1_LAYER: LayerSchema = { message: 'V1LayerParameter', name: 4, type: 5, bottom: 2, top: 3, blobs: 6, include: 32, exclude: 33, concat: 9, convolution: 10, innerProduct: 17, lrn: 18, pooling: 19, v0: 1 };

/** NetParameter field numbers. */
const NET_NAME = 1;
const NET_LAYERS_V1 = 2;
const NET_INPUT = 3;
const NET_INPUT_DIM = 4;
const NET_INPUT_SHAPE = 8;
const NET_LAYER_V2 = 100;

/** Marks an exception thrown by the caller's callback, so that it is rethrown unchanged (e.g. a cancellation). */
export class CallbackError {
  constructor(readonly error: unknown) {}
}

function corrupt(message: string): never {
  throw new CaffeError(`the caffemodel is corrupt: ${message}`);
}

/** A name as it appears in error messages: quoted, and cut short if long. */
function quote(s: string): string {
  return `'${s.length > 60 ? `${s.slice(0, 60)}…` : s}'`;
}

function groupByNumber(fields: Field[]): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  for (const f of fields) {
    const list = out.get(f.no);
    if (list) list.push(f);
    else out.set(f.no, [f]);
  }
  return out;
}

/** A text file (a .prototxt, say) gets its own message: protobuf text and binary are easy to mix up. */
function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 64);
  if (head.length < 2) return false;
  let colon = false;
  for (const b of head) {
    if (b === 0x3a || b === 0x7b) colon = true;
    if (!((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d)) return false;
  }
  return colon;
}

interface ReadLayer {
  layer: CaffeLayer;
  /** Input layers: their tops with input_param shapes. */
  inputs: { name: string; shape: number[] }[];
}

function readLayer(msg: Message, index: number, schema: LayerSchema, decodeBlobs: ReadCaffeModelOptions['decodeBlobs']): ReadLayer {
  // All fields first, so that nothing depends on their order (a hostile file may put blobs before the name).
  const byNo = groupByNumber(msg.fields());
  const nameField = byNo.get(schema.name)?.at(-1);
  const name = nameField ? msg.string(nameField, `the name of layer ${index}`) : '';
  const where = `layer ${index}${name ? ` (${quote(name)})` : ''}`;
  return locate(where, () => readLayerBody(msg, byNo, name, where, schema, decodeBlobs));
}

function readLayerBody(msg: Message, byNo: Map<number, Field[]>, name: string, where: string, schema: LayerSchema, decodeBlobs: ReadCaffeModelOptions['decodeBlobs']): ReadLayer {
  const all = (no: number | undefined): Field[] => (no === undefined ? [] : (byNo.get(no) ?? []));
  const last = (no: number): Field | undefined => all(no).at(-1);

  if (all(schema.v0).length > 0) {
    throw new CaffeError(`the caffemodel is not supported: ${where} is in the V0 layer format of Caffe before 2014; upgrade it with Caffe's upgrade_net_proto_binary`);
  }
  let type = '';
  const typeField = last(schema.type);
  if (typeField && schema === V1_LAYER) {
    const t = msg.int32(typeField, `${where}'s type`);
    const mapped = V1_LAYER_TYPES[t];
    if (mapped === undefined) corrupt(`${where} has the unknown V1 layer type ${t}`);
    type = mapped;
  } else if (typeField) {
    type = msg.string(typeField, `${where}'s type`);
  }

  const names = (no: number, what: string): string[] => {
    const fields = all(no);
    if (fields.length > MAX_BLOB_NAMES) corrupt(`${where} has ${fields.length} ${what}s (at most ${MAX_BLOB_NAMES})`);
    return fields.map((f) => msg.string(f, `${where}'s ${what}`));
  };
  const layer: CaffeLayer = {
    name,
    type,
    bottom: names(schema.bottom, 'bottom'),
    top: names(schema.top, 'top'),
    include: readPhases(msg, all(schema.include), where),
    exclude: readPhases(msg, all(schema.exclude), where),
    blobs: [],
  };
  // Parameters are read for the layer types that use them, with Caffe's defaults when absent.
  switch (type) {
    case 'Convolution':
    case 'Deconvolution':
      layer.convolution = readConvolution(msg, all(schema.convolution), where);
      break;
    case 'Pooling':
      layer.pooling = readPooling(msg, all(schema.pooling), where);
      break;
    case 'LRN':
      layer.lrn = readLrn(msg, all(schema.lrn), where);
      break;
    case 'Concat':
      layer.concat = readConcat(msg, all(schema.concat), where);
      break;
    case 'InnerProduct':
      layer.innerProduct = readInnerProduct(msg, all(schema.innerProduct), where);
      break;
    default:
  }

  const inputs: ReadLayer['inputs'] = [];
  if (type === 'Input' && schema.input !== undefined) {
    const shapes: number[][] = [];
    for (const p of all(schema.input)) {
      const param = msg.sub(p, 'InputParameter', `${where}'s input_param`);
      param.forEach((f) => {
        if (f.no !== 1) return;
        if (shapes.length >= MAX_INPUTS) corrupt(`${where} has more than ${MAX_INPUTS} input shapes`);
        const shape = readShapeDims(param, [f], `${where}'s input shape`);
        checkShape(shape, `${where}'s input shape`);
        shapes.push(shape);
      });
    }
    // As InputLayer::LayerSetUp: one shape for all tops, or one per top.
    if (shapes.length !== 1 && shapes.length !== layer.top.length) corrupt(`${where} is an Input layer with ${shapes.length} shapes for ${layer.top.length} tops`);
    layer.top.forEach((top, i) => inputs.push({ name: top, shape: [...shapes[shapes.length === 1 ? 0 : i]] }));
  }

  const blobs = all(schema.blobs);
  if (blobs.length > 0) {
    let decode = true;
    if (decodeBlobs) {
      try {
        decode = Boolean(decodeBlobs({ name, type }));
      } catch (e) {
        throw new CallbackError(e);
      }
    }
    // Skipped blobs stay unread: their bytes were only bounded by the layer's length.
    if (decode) layer.blobs = blobs.map((f, j) => readBlob(msg.sub(f, 'BlobProto', `${where}'s blob ${j}`), `${where} blob ${j}`));
  }
  return { layer, inputs };
}

/** NetParameter's own input, input_shape and input_dim fields. */
function readNetInputs(top: Message, byNo: Map<number, Field[]>): { name: string; shape: number[] }[] {
  const names = byNo.get(NET_INPUT) ?? [];
  const shapeFields = byNo.get(NET_INPUT_SHAPE) ?? [];
  const dimFields = byNo.get(NET_INPUT_DIM) ?? [];
  if (names.length > MAX_INPUTS) corrupt(`the network has ${names.length} inputs (at most ${MAX_INPUTS})`);
  const inputs = names.map((f) => ({ name: top.string(f, 'an input name'), shape: [] as number[] }));
  const dims: number[] = [];
  for (const f of dimFields) top.varints(f, 'input_dim', dims, true, 4 * MAX_INPUTS);
  // As Caffe's net upgrade: four input_dim values per input, or one input_shape per input, not both.
  if (dims.length > 0 && shapeFields.length > 0) corrupt('the network has both input_dim and input_shape');
  if (dims.length > 0) {
    if (dims.length !== 4 * inputs.length) corrupt(`the network has ${dims.length} input_dim values for ${inputs.length} inputs (4 per input expected)`);
    inputs.forEach((input, i) => (input.shape = dims.slice(4 * i, 4 * i + 4)));
  } else if (shapeFields.length !== inputs.length) {
    corrupt(`the network has ${shapeFields.length} input shapes for ${inputs.length} inputs`);
  } else {
    inputs.forEach((input, i) => (input.shape = readShapeDims(top, [shapeFields[i]], `the shape of input ${quote(input.name)}`)));
  }
  for (const input of inputs) checkShape(input.shape, `the input ${quote(input.name)}`);
  return inputs;
}

/** Reads a serialized caffe.NetParameter. `bytes` must be a plain Uint8Array. */
export function readNet(bytes: Uint8Array, options: ReadCaffeModelOptions): CaffeNet {
  if (bytes.length === 0) throw new CaffeError('the caffemodel is empty (0 bytes)');
  if (looksLikeText(bytes)) throw new CaffeError('the caffemodel is a text file (a .prototxt?), not a binary .caffemodel with weights');
  const top = new Message(bytes, 0, bytes.length, 'NetParameter');
  const byNo = groupByNumber(top.fields());
  const v1 = byNo.get(NET_LAYERS_V1) ?? [];
  const v2 = byNo.get(NET_LAYER_V2) ?? [];
  if (v1.length > 0 && v2.length > 0) corrupt(`it mixes ${v1.length} V1 layers (field 'layers') and ${v2.length} V2 layers (field 'layer')`);
  const layerFields = v1.length > 0 ? v1 : v2;
  if (layerFields.length === 0) throw new CaffeError('the file holds no layers (neither field \'layer\' nor \'layers\'): not a Caffe network');
  if (layerFields.length > MAX_LAYERS) corrupt(`it has ${layerFields.length} layers (at most ${MAX_LAYERS})`);
  const schema = v1.length > 0 ? V1_LAYER : V2_LAYER;

  const nameField = byNo.get(NET_NAME)?.at(-1);
  const net: CaffeNet = {
    name: nameField ? top.string(nameField, 'the network name') : '',
    layout: v1.length > 0 ? 'V1' : 'V2',
    inputs: readNetInputs(top, byNo),
    layers: [],
  };
  layerFields.forEach((f, i) => {
    if (f.wire !== WIRE_LEN) corrupt(`layer ${i} at byte ${f.at} is not a message (wire type ${f.wire})`);
    const { layer, inputs } = locate(`layer ${i}`, () => readLayer(top.sub(f, schema.message, `layer ${i}`), i, schema, options.decodeBlobs));
    net.layers.push(layer);
    net.inputs.push(...inputs);
  });
  return net;
}
