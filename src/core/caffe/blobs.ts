// caffe.BlobProto: a shape (BlobShape dims, or the legacy num/channels/height/width of V1 files) and its
// values as float32 (`data`, packed or not) or float64 (`double_data`). Values are counted from the field
// lengths first, checked against the shape, and only then allocated and copied in bulk.
import { CaffeError } from './errors';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, expectWire, type Field, type Message } from './wire';
import type { CaffeBlob } from './types';

/** The largest blob accepted (1 GiB of float32), as for the PyTorch reader's tensors. */
export const MAX_BLOB_ELEMENTS = 2 ** 28;
/** Caffe's own limit (kMaxBlobAxes). */
export const MAX_AXES = 32;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Field numbers of BlobProto. */
const NUM = 1;
const CHANNELS = 2;
const HEIGHT = 3;
const WIDTH = 4;
const DATA = 5;
const SHAPE = 7;
const DOUBLE_DATA = 8;
/** Field number of BlobShape.dim. */
const DIM = 1;

function corrupt(message: string): never {
  throw new CaffeError(`the caffemodel is corrupt: ${message}`);
}

/** Element count of `shape`, refusing negative dims, too many axes and more than MAX_BLOB_ELEMENTS elements. */
export function checkShape(shape: number[], where: string): number {
  if (shape.length > MAX_AXES) corrupt(`${where} has ${shape.length} axes (Caffe allows at most ${MAX_AXES})`);
  let n = 1;
  for (const d of shape) {
    if (d < 0) corrupt(`${where} has the negative dimension ${d} in its shape ${shape.join('x')}`);
    if (d > MAX_BLOB_ELEMENTS) corrupt(`${where} has the dimension ${d}, more than the ${MAX_BLOB_ELEMENTS} elements a blob may hold`);
    n *= d;
    if (n > MAX_BLOB_ELEMENTS) corrupt(`${where} has the shape ${shape.join('x')}, more than the ${MAX_BLOB_ELEMENTS} elements a blob may hold`);
  }
  return n;
}

/** The dims of a BlobShape (occurrences of one field merge, as protobuf merges repeated messages). */
export function readShapeDims(parent: Message, occurrences: Field[], name: string): number[] {
  const dims: number[] = [];
  for (const f of occurrences) {
    const shape = parent.sub(f, 'BlobShape', name);
    shape.forEach((d) => {
      if (d.no === DIM) shape.varints(d, `${name}.dim`, dims, true, MAX_AXES + 1);
    });
  }
  return dims;
}

/** Reads a BlobProto. `where` names it in errors, e.g. "layer 3 ('conv1') blob 0". */
export function readBlob(msg: Message, where: string): CaffeBlob {
  const legacy = [0, 0, 0, 0];
  let hasLegacy = false;
  const shapes: Field[] = [];
  let floats = 0;
  let doubles = 0;
  msg.forEach((f) => {
    switch (f.no) {
      case NUM:
      case CHANNELS:
      case HEIGHT:
      case WIDTH:
        legacy[f.no - 1] = msg.int32(f, `${where}'s ${['num', 'channels', 'height', 'width'][f.no - 1]}`);
        hasLegacy = true;
        break;
      case SHAPE:
        shapes.push(f);
        break;
      case DATA:
        if (f.wire === WIRE_FIXED32) floats++;
        else {
          expectWire(f, WIRE_LEN, `${where}'s data`, 'BlobProto', 'packed or 32-bit floats');
          if ((f.end - f.start) % 4 !== 0) corrupt(`${where}'s packed float data at byte ${f.at} is ${f.end - f.start} bytes long, not a multiple of 4`);
          floats += (f.end - f.start) / 4;
        }
        break;
      case DOUBLE_DATA:
        if (f.wire === WIRE_FIXED64) doubles++;
        else {
          expectWire(f, WIRE_LEN, `${where}'s double_data`, 'BlobProto', 'packed or 64-bit doubles');
          if ((f.end - f.start) % 8 !== 0) corrupt(`${where}'s packed double data at byte ${f.at} is ${f.end - f.start} bytes long, not a multiple of 8`);
          doubles += (f.end - f.start) / 8;
        }
        break;
      default:
      // diff, double_diff (gradients) and unknown fields are not needed.
    }
  });

  // As Caffe's Blob::FromProto: the legacy 4-d fields win when any of them is present.
  const shape = hasLegacy ? legacy : readShapeDims(msg, shapes, `${where}'s shape`);
  const count = checkShape(shape, where);
  if (floats > 0 && doubles > 0) corrupt(`${where} holds both float data (${floats} values) and double data (${doubles} values)`);
  const values = floats + doubles;
  if (values !== count) corrupt(`${where} holds ${values} values but its shape ${shape.join('x') || '(scalar)'} needs ${count}`);

  const data = new Float32Array(count);
  const src = msg.bytes;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dst = new Uint8Array(data.buffer);
  let k = 0;
  msg.forEach((f) => {
    if (f.no === DATA) {
      if (LITTLE_ENDIAN) {
        // Raw little-endian float32 bytes: one bulk copy, whatever their alignment in the file.
        dst.set(src.subarray(f.start, f.end), k * 4);
        k += (f.end - f.start) / 4;
      } else {
        for (let p = f.start; p < f.end; p += 4) data[k++] = view.getFloat32(p, true);
      }
    } else if (f.no === DOUBLE_DATA) {
      for (let p = f.start; p < f.end; p += 8) data[k++] = view.getFloat64(p, true);
    }
  });
  return { shape, data };
}
