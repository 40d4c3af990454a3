import { PthError } from './errors';

/** Little-endian field access at arbitrary (possibly unaligned) offsets, with bounds checks that name the field. */
export class ByteView {
  readonly length: number;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, private readonly what: string) {
    this.length = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throws a "truncated" PthError unless `n` bytes are available at `offset`. */
  need(offset: number, n: number, field: string): void {
    if (offset < 0 || n < 0 || offset + n > this.length) {
      const left = Math.max(0, this.length - Math.max(0, offset));
      throw new PthError(`truncated: ${this.what} ends at byte ${this.length} while reading ${field} at offset ${offset} (needs ${n} bytes, ${left} left)`);
    }
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.bytes[offset];
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.view.getUint32(offset, true);
  }

  i32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.view.getInt32(offset, true);
  }

  /** Unsigned 64-bit; refuses values past 2^53 because no honest size or offset here comes close. */
  u64(offset: number, field: string): number {
    this.need(offset, 8, field);
    const lo = this.view.getUint32(offset, true);
    const hi = this.view.getUint32(offset + 4, true);
    if (hi >= 0x200000) throw new PthError(`${this.what}: ${field} at offset ${offset} is implausibly large (${(BigInt(hi) << 32n) | BigInt(lo)})`);
    return hi * 0x1_0000_0000 + lo;
  }

  f64be(offset: number, field: string): number {
    this.need(offset, 8, field);
    return this.view.getFloat64(offset, false);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PthError(`${what}: invalid UTF-8 text`);
  }
}
