import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MAX_STRING, Message, type Field } from './wire';
import { ProtoWriter, caffeError } from '../../../test/support/caffeBuilders';


const top = (bytes: Uint8Array) => new Message(bytes, 0, bytes.length, 'Test');
const only = (bytes: Uint8Array): [Message, Field] => {
  const m = top(bytes);
  const fields = m.fields();
  expect(fields).toHaveLength(1);
  return [m, fields[0]];
};

describe('protobuf wire reader', () => {
  it('lists fields of every wire type with their byte ranges', () => {
    const bytes = new ProtoWriter().int(1, 150).double(2, 1.5).string(3, 'hé').float(4, -2).int(5, 0).finish();
    const m = top(bytes);
    const fields = m.fields();
    expect(fields.map((f) => [f.no, f.wire, f.end - f.start])).toEqual([[1, 0, 2], [2, 1, 8], [3, 2, 3], [4, 5, 4], [5, 0, 1]]);
    expect(m.uint(fields[0], 'a')).toBe(150);
    expect(m.string(fields[2], 'c')).toBe('hé');
    expect(m.float(fields[3], 'd')).toBe(-2);
    expect(m.bool(fields[4], 'e')).toBe(false);
  });

  it('decodes varints up to 2^53 - 1 and refuses larger ones', () => {
    for (const v of [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const [m, f] = only(new ProtoWriter().int(1, v).finish());
      expect(m.uint(f, 'v')).toBe(v);
    }
    const [m, f] = only(new ProtoWriter().int(1, 2n ** 53n).finish());
    caffeError(() => m.uint(f, 'v'), /v at byte 1 is larger than 2\^53/);
    const [m2, f2] = only(new ProtoWriter().int(1, 2 ** 32).finish());
    caffeError(() => m2.uint32(f2, 'n'), /out of range for a uint32/);
  });

  it('reads negative int32 and int64 values (10-byte varints) and refuses int32 values out of range', () => {
    const [m, f] = only(new ProtoWriter().int(1, -5).finish());
    expect(f.end - f.start).toBe(10);
    expect(m.int32(f, 'x')).toBe(-5);
    const out: number[] = [];
    m.varints(f, 'x', out, true, 10);
    expect(out).toEqual([-5]);
    const [m2, f2] = only(new ProtoWriter().int(1, 2 ** 33).finish());
    caffeError(() => m2.int32(f2, 'x'), /out of range for an int32/);
    const [m3, f3] = only(new ProtoWriter().int(1, -(2n ** 60n)).finish());
    caffeError(() => m3.varints(f3, 'x', [], true, 10), /smaller than -2\^53/);
  });

  it('refuses varints longer than 10 bytes or overflowing 64 bits', () => {
    caffeError(() => top(new Uint8Array([8, ...new Array(10).fill(0x80), 1])).fields(), /longer than 10 bytes/);
    caffeError(() => top(new Uint8Array([8, ...new Array(9).fill(0xff), 0x02])).fields(), /overflows 64 bits/);
    caffeError(() => top(new Uint8Array([...new Array(10).fill(0x80), 1])).fields(), /a field tag .* longer than 10 bytes/);
  });

  it('refuses groups, invalid wire types and field number 0', () => {
    caffeError(() => top(new Uint8Array([0x0b, 0x0c])).fields(), /field 1 at byte 0 is a protobuf group \(wire type 3\)/);
    caffeError(() => top(new Uint8Array([0x0c])).fields(), /wire type 4/);
    caffeError(() => top(new Uint8Array([0x0e])).fields(), /invalid wire type 6/);
    caffeError(() => top(new Uint8Array([0x0f])).fields(), /invalid wire type 7/);
    caffeError(() => top(new Uint8Array([0x00, 0x00])).fields(), /field number 0 at byte 0/);
    caffeError(() => top(new ProtoWriter().varint(2n ** 35n).finish()).fields(), /field tag at byte 0 is out of range/);
  });

  it('bounds lengths by the enclosing message, before reading or allocating', () => {
    caffeError(() => top(new ProtoWriter().tag(1, 2).varint(2 ** 50).finish()).fields(), /truncated: the 1125899906842624-byte field 1 of a Test at byte 0 runs past the end of the file/);
    caffeError(() => top(new ProtoWriter().tag(1, 2).varint(2n ** 63n).finish()).fields(), /truncated/);
    // Inside a nested message, the same overrun is corruption: the message's own length says where it ends.
    const inner = new ProtoWriter().tag(2, 2).varint(5).raw([1, 2]).finish();
    const bytes = new ProtoWriter().bytes(1, inner).int(3, 7).int(4, 7).int(5, 7).finish();
    const m = top(bytes);
    const sub = m.sub(m.fields()[0], 'Inner', 'inner');
    caffeError(() => sub.fields(), /corrupt: the 5-byte field 2 of a Inner at byte 2 runs past the end of its Inner, which ends at byte 6/);
    caffeError(() => top(new Uint8Array([0x0d, 1, 2])).fields(), /truncated: the 4-byte field 1/);
    caffeError(() => top(new Uint8Array([0x09, 1, 2])).fields(), /truncated: the 8-byte field 1/);
    caffeError(() => top(new Uint8Array([0x08])).fields(), /truncated: field 1 of a Test at byte 1/);
  });

  it('checks the wire type of a field it is asked to read', () => {
    const [m, f] = only(new ProtoWriter().int(1, 3).finish());
    caffeError(() => m.string(f, 'name'), /name \(field 1 of a Test\) at byte 0 has wire type 0 \(varint\), expected length-delimited/);
    caffeError(() => m.float(f, 'alpha'), /expected 32-bit/);
    caffeError(() => m.sub(f, 'X', 'x'), /expected length-delimited/);
    const [m2, f2] = only(new ProtoWriter().float(1, 3).finish());
    caffeError(() => m2.uint(f2, 'n'), /wire type 5 \(32-bit\), expected varint/);
    caffeError(() => m2.varints(f2, 'dims', [], false, 4), /expected varint or packed/);
  });

  it('reads packed and unpacked repeated varints, bounded by the field and by a count limit', () => {
    const bytes = new ProtoWriter().packedVarints(1, [1, 300, 2 ** 40]).int(1, 9).finish();
    const m = top(bytes);
    const out: number[] = [];
    for (const f of m.fields()) m.varints(f, 'v', out, false, 10);
    expect(out).toEqual([1, 300, 2 ** 40, 9]);
    caffeError(() => m.fields().forEach((f) => m.varints(f, 'v', [], false, 2)), /v at byte 0 has more than 2 values/);
    // A packed varint that runs past its field is corrupt even though the file goes on.
    const bad = new ProtoWriter().tag(1, 2).varint(2).raw([0x80, 0x80]).int(2, 1).finish();
    const mb = top(bad);
    caffeError(() => mb.varints(mb.fields()[0], 'dims', [], false, 4), /corrupt: dims at byte 2 runs past the end of its packed dims/);
  });

  it('bounds strings and requires UTF-8', () => {
    const [m, f] = only(new ProtoWriter().string(1, 'x'.repeat(MAX_STRING + 1)).finish());
    caffeError(() => m.string(f, 'name'), new RegExp(`is ${MAX_STRING + 1} bytes long \\(at most ${MAX_STRING}\\)`));
    const [m2, f2] = only(new ProtoWriter().bytes(1, new Uint8Array([0xc3, 0x28])).finish());
    caffeError(() => m2.string(f2, 'name'), /name at byte 0 is not valid UTF-8 text/);
  });

  it('bounds nesting depth, and skips unknown nested fields without descending into them', () => {
    let bytes = new ProtoWriter().int(1, 1).finish();
    for (let i = 0; i < 5_000; i++) bytes = new ProtoWriter().bytes(1, bytes).finish();
    const m = top(bytes);
    expect(m.fields()).toHaveLength(1);
    let msg = m;
    for (let d = 1; d <= MAX_DEPTH; d++) msg = msg.sub(msg.fields()[0], 'Deep', 'deep');
    caffeError(() => msg.sub(msg.fields()[0], 'Deep', 'deep'), new RegExp(`nested more than ${MAX_DEPTH} deep`));
  });
});
