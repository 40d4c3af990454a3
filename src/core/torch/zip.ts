// A minimal zip reader: central directory (with ZIP64), stored and deflated entries. Entries are
// located lazily and stored ones are returned as views, so skipped tensors cost nothing. Every size
// and offset is checked against the file, so a lying header gives a PthError rather than garbage.
import { inflateSync } from 'fflate';
import { ByteView } from './bytes';
import { PthError } from './errors';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Where the next entry (or the central directory) begins: this entry's data must end before it. */
  limit: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** Entry names in central-directory order. */
  names: string[];
  /** Decompressed contents; stored entries are views into the archive bytes (do not write to them). */
  read(entry: ZipEntry): Uint8Array;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_ENTRIES = 1 << 20;
// Deflate cannot expand data by more than about 1032:1; a larger claim is a decompression bomb.
const MAX_DEFLATE_RATIO = 1032;

export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

function findEocd(r: ByteView): number {
  const len = r.length;
  const lowest = Math.max(0, len - 22 - 0xffff);
  for (let p = len - 22; p >= lowest; p--) {
    // The comment length must reach exactly to the end, which rules out signatures inside entry data.
    if (r.bytes[p] === 0x50 && r.u32(p, 'end of central directory') === EOCD_SIG && p + 22 + r.u16(p + 20, 'zip comment length') === len) return p;
  }
  throw new PthError('truncated or corrupt zip archive: no end-of-central-directory record at the end of the file (was the file cut short?)');
}

const utf8 = new TextDecoder('utf-8');

export function openZip(bytes: Uint8Array): ZipArchive {
  const r = new ByteView(bytes, 'zip archive');
  const eocd = findEocd(r);
  let count = r.u16(eocd + 10, 'entry count');
  let cdSize = r.u32(eocd + 12, 'central directory size');
  let cdOffset = r.u32(eocd + 16, 'central directory offset');
  let cdLimit = eocd;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || r.u32(loc, 'ZIP64 locator') !== ZIP64_LOCATOR_SIG) throw new PthError('corrupt zip archive: ZIP64 fields without a ZIP64 locator');
    const rec = r.u64(loc + 8, 'ZIP64 record offset');
    if (rec > loc - 56 || r.u32(rec, 'ZIP64 record') !== ZIP64_EOCD_SIG) throw new PthError('corrupt zip archive: bad ZIP64 end-of-central-directory record');
    count = r.u64(rec + 32, 'ZIP64 entry count');
    cdSize = r.u64(rec + 40, 'ZIP64 central directory size');
    cdOffset = r.u64(rec + 48, 'ZIP64 central directory offset');
    cdLimit = rec;
  }
  if (cdOffset + cdSize > cdLimit) throw new PthError(`corrupt zip archive: central directory [${cdOffset}, ${cdOffset + cdSize}) overlaps its end record at ${cdLimit}`);
  if (count > MAX_ENTRIES || count * 46 > cdSize) throw new PthError(`corrupt zip archive: ${count} entries cannot fit a ${cdSize}-byte central directory`);

  const entries = new Map<string, ZipEntry>();
  const names: string[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || r.u32(p, 'central directory entry') !== CENTRAL_SIG) throw new PthError(`corrupt zip archive: central directory entry ${i} at offset ${p} is malformed`);
    const flags = r.u16(p + 8, 'entry flags');
    const method = r.u16(p + 10, 'compression method');
    let compressedSize = r.u32(p + 20, 'compressed size');
    let size = r.u32(p + 24, 'size');
    const nameLen = r.u16(p + 28, 'name length');
    const extraLen = r.u16(p + 30, 'extra length');
    const commentLen = r.u16(p + 32, 'comment length');
    let localHeaderOffset = r.u32(p + 42, 'local header offset');
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) throw new PthError(`corrupt zip archive: central directory entry ${i} runs past the directory`);
    const name = utf8.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: 64-bit values present only for the fields saturated at 0xffffffff.
    for (let q = p + 46 + nameLen; q + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = r.u16(q, 'extra field id');
      const len = r.u16(q + 2, 'extra field length');
      if (id === 0x0001) {
        let f = q + 4;
        const fieldEnd = q + 4 + len;
        const next = (what: string): number => {
          if (f + 8 > fieldEnd) throw new PthError(`corrupt zip archive: '${name}' ZIP64 field lacks the ${what}`);
          const v = r.u64(f, `ZIP64 ${what}`);
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('local header offset');
      }
      q += 4 + len;
    }
    if (entries.has(name)) throw new PthError(`corrupt zip archive: duplicate entry '${name}'`);
    const entry = { name, method, flags, compressedSize, size, localHeaderOffset, limit: cdOffset };
    entries.set(name, entry);
    names.push(name);
    p = end;
  }

  // Entries must not overlap: one whose data runs into the next is lying about its size (or a zip bomb).
  const byOffset = [...entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i + 1 < byOffset.length; i++) {
    if (byOffset[i + 1].localHeaderOffset === byOffset[i].localHeaderOffset) throw new PthError(`corrupt zip archive: entries '${byOffset[i].name}' and '${byOffset[i + 1].name}' share one local header`);
    byOffset[i].limit = byOffset[i + 1].localHeaderOffset;
  }

  const read = (e: ZipEntry): Uint8Array => {
    if (e.flags & 1) throw new PthError(`zip entry '${e.name}' is encrypted`);
    const h = e.localHeaderOffset;
    if (h + 30 > e.limit || r.u32(h, `local header of '${e.name}'`) !== LOCAL_SIG) throw new PthError(`corrupt zip archive: no local header for '${e.name}' at offset ${h}`);
    const start = h + 30 + r.u16(h + 26, 'local name length') + r.u16(h + 28, 'local extra length');
    const end = start + e.compressedSize;
    // Without a data descriptor the local header repeats the sizes; a disagreement means a forged entry.
    if (!(e.flags & 8)) {
      const lc = r.u32(h + 18, 'local compressed size');
      const ls = r.u32(h + 22, 'local size');
      if ((lc !== 0xffffffff && lc !== e.compressedSize) || (ls !== 0xffffffff && ls !== e.size)) {
        throw new PthError(`corrupt zip archive: entry '${e.name}' local header says ${ls} bytes (${lc} compressed), central directory says ${e.size} (${e.compressedSize})`);
      }
    }
    if (end > e.limit) {
      const next = e.limit === cdOffset ? 'the central directory' : 'the next entry';
      throw new PthError(`corrupt zip archive: entry '${e.name}' claims ${e.compressedSize} bytes at offset ${start}, running into ${next} at ${e.limit}`);
    }
    const data = bytes.subarray(start, end);
    if (e.method === 0) {
      if (e.compressedSize !== e.size) throw new PthError(`corrupt zip archive: stored entry '${e.name}' has size ${e.size} but ${e.compressedSize} stored bytes`);
      return data;
    }
    if (e.method === 8) {
      if (e.size > Math.max(1024, e.compressedSize * MAX_DEFLATE_RATIO)) throw new PthError(`corrupt zip archive: entry '${e.name}' claims ${e.size} bytes from ${e.compressedSize} compressed`);
      let out: Uint8Array;
      try {
        // One spare byte reveals data that inflates to more than the declared size.
        out = inflateSync(data, { out: new Uint8Array(e.size + 1) });
      } catch (err) {
        throw new PthError(`corrupt zip archive: entry '${e.name}' does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
      if (out.length !== e.size) throw new PthError(`corrupt zip archive: entry '${e.name}' inflates to ${out.length === e.size + 1 ? `more than ${e.size}` : out.length} bytes, header says ${e.size}`);
      return out;
    }
    throw new PthError(`zip entry '${e.name}' uses unsupported compression method ${e.method}`);
  };

  return { entries, names, read };
}
