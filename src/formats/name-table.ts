/**
 * Tensor names as one string table: the UTF-8 bytes of every name back to back in one
 * buffer, and where each ends. A million names held as JS strings cost ~40 bytes each plus
 * the garbage collector's walks over them; here they cost their bytes and 4, and a string
 * is made only when someone asks for a name (the tensors that are reported). Order, equality
 * and lookups work on the bytes: compareNameBytes gives compareNames' order exactly.
 *
 * Bytes are canonical UTF-8 (escapes decoded, invalid sequences as U+FFFD, as the string
 * would be), so equal names have equal bytes. A name UTF-8 cannot carry (a lone surrogate,
 * which JSON's \ud800 can spell) is kept as its string too, with WTF-8 bytes for equality;
 * while there is one, order falls back to comparing strings.
 */
import { isUtf8 } from 'node:buffer';
import { compareNameBytes, compareNames } from '../names.js';

/** Node's Buffer has these (what toString calls); @types/node does not list them. */
type NodeBuffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number, length: number): number;
};

/** A surrogate not in a pair (with the u flag, a pair is one code point, not of category Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

export class NameTable {
  count = 0;
  private bytes: NodeBuffer;
  private used = 0;
  /** Name i is bytes [ends[i - 1] (0 for the first), ends[i]). */
  private ends: Uint32Array;
  /** True while every name is ASCII (decoded as latin1, the fastest slice). */
  private ascii = true;
  /** Names with lone surrogates, by row (their bytes are WTF-8). */
  private odd: Map<number, string> | undefined;
  /** Open-addressed hash of rows by name bytes (row + 1; 0 is empty), built on first lookup. */
  private index: Int32Array | undefined;
  private natural: boolean | undefined;

  /** `expectedRows`, `expectedBytes`: how large to start (both grow as needed). */
  constructor(expectedRows = 64, expectedBytes = 1024) {
    this.ends = new Uint32Array(Math.max(16, Math.ceil(expectedRows)));
    this.bytes = Buffer.allocUnsafe(Math.max(256, Math.ceil(expectedBytes))) as NodeBuffer;
  }

  /** Appends the name whose UTF-8 bytes are src[start, end) (ASCII, or checked as UTF-8 here). */
  addBytes(src: Uint8Array, start: number, end: number, ascii: boolean): void {
    if (!ascii && !isUtf8(src.subarray(start, end))) {
      this.add(Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('utf8'));
      return;
    }
    this.reserve(end - start);
    // Byte by byte: a subarray for set() costs more than the copy for a name of a few bytes.
    const bytes = this.bytes;
    for (let p = start, q = this.used; p < end; p++, q++) bytes[q] = src[p]!;
    this.push(end - start, ascii);
  }

  /** Appends a name given as a string. */
  add(name: string): void {
    const n = Buffer.byteLength(name, 'utf8');
    if (n === name.length || !LONE_SURROGATE.test(name)) {
      this.reserve(n);
      this.bytes.utf8Write(name, this.used, n);
      this.push(n, n === name.length);
      return;
    }
    const wtf8 = wtf8Bytes(name);
    this.reserve(wtf8.length);
    this.bytes.set(wtf8, this.used);
    (this.odd ??= new Map()).set(this.count, name);
    this.push(wtf8.length, false);
  }

  name(i: number): string {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    const end = this.ends[i]!;
    if (this.ascii) return this.bytes.latin1Slice(start, end);
    return this.odd?.get(i) ?? this.bytes.utf8Slice(start, end);
  }

  /** Every name's bytes, back to back (a view, not a copy). */
  utf8(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /** name(i).endsWith(suffix) for an ASCII suffix, from the bytes. */
  endsWith(i: number, suffix: string): boolean {
    const end = this.ends[i]!;
    const s = end - suffix.length;
    if (s < this.start(i)) return false;
    for (let k = 0; k < suffix.length; k++) if (this.bytes[s + k] !== suffix.charCodeAt(k)) return false;
    return true;
  }

  /** True when every name starts with `prefix` (and, with `longer`, has more after it), from the bytes. */
  everyStartsWith(prefix: string, longer: boolean): boolean {
    const key = LONE_SURROGATE.test(prefix) ? wtf8Bytes(prefix) : Buffer.from(prefix, 'utf8');
    const bytes = this.bytes;
    for (let i = 0; i < this.count; i++) {
      const s = this.start(i);
      const n = this.ends[i]! - s;
      if (n < key.length || (longer && n === key.length)) return false;
      for (let k = 0; k < key.length; k++) if (bytes[s + k] !== key[k]) return false;
    }
    return true;
  }

  /** compareNames(this.name(i), other.name(j)), from the bytes. */
  compare(i: number, other: NameTable, j: number): number {
    if (this.odd !== undefined || other.odd !== undefined) return compareNames(this.name(i), other.name(j));
    return compareNameBytes(this.bytes, this.start(i), this.ends[i]!, other.bytes, other.start(j), other.ends[j]!);
  }

  /** True when name i here equals name j of `other`. */
  same(i: number, other: NameTable, j: number): boolean {
    const s = this.start(i);
    const n = this.ends[i]! - s;
    const t = other.start(j);
    if (other.ends[j]! - t !== n) return false;
    for (let k = 0; k < n; k++) if (this.bytes[s + k] !== other.bytes[t + k]) return false;
    return true;
  }

  /** True when the names are in strictly ascending natural order (compareNames); worked out once. */
  inNaturalOrder(): boolean {
    if (this.natural === undefined) {
      let sorted = true;
      for (let i = 1; i < this.count && sorted; i++) sorted = this.compare(i - 1, this, i) < 0;
      this.natural = sorted;
    }
    return this.natural;
  }

  /** The first row whose name an earlier row already has, or -1. */
  firstRepeat(): number {
    const index = this.emptyIndex();
    for (let i = 0; i < this.count; i++) if (this.insert(index, i) !== i) return i;
    this.index = index;
    return -1;
  }

  /** The last row named `name`, or -1: a binary search when the names are in natural order, else a hash index. */
  indexOf(name: string): number {
    const wellFormed = !LONE_SURROGATE.test(name);
    if (this.index === undefined && wellFormed && this.odd === undefined && this.inNaturalOrder()) {
      const key = Buffer.from(name, 'utf8');
      let lo = 0;
      let hi = this.count - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = compareNameBytes(this.bytes, this.start(mid), this.ends[mid]!, key, 0, key.length);
        if (c === 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    if (this.index === undefined) {
      const index = this.emptyIndex();
      for (let i = 0; i < this.count; i++) this.insert(index, i, true);
      this.index = index;
    }
    const key = wellFormed ? Buffer.from(name, 'utf8') : wtf8Bytes(name);
    const mask = this.index.length - 1;
    for (let h = hashBytes(key, 0, key.length) & mask; ; h = (h + 1) & mask) {
      const row = this.index[h]! - 1;
      if (row < 0) return -1;
      const s = this.start(row);
      if (this.ends[row]! - s === key.length && this.bytes.compare(key, 0, key.length, s, this.ends[row]!) === 0) return row;
    }
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  private push(length: number, ascii: boolean): void {
    if (this.count === this.ends.length) {
      const more = new Uint32Array(this.ends.length * 2);
      more.set(this.ends);
      this.ends = more;
    }
    this.used += length;
    this.ends[this.count++] = this.used;
    this.ascii &&= ascii;
    this.index = undefined;
    this.natural = undefined;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    const more = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n)) as NodeBuffer;
    this.bytes.copy(more, 0, 0, this.used);
    this.bytes = more;
  }

  private emptyIndex(): Int32Array {
    let size = 16;
    while (size < this.count * 2) size *= 2;
    return new Int32Array(size);
  }

  /**
   * Adds row i to `index`: where a row of the same name is there already, that row stays
   * (returned) unless `replace`. Returns the row the slot held, or i.
   */
  private insert(index: Int32Array, i: number, replace = false): number {
    const mask = index.length - 1;
    const s = this.start(i);
    for (let h = hashBytes(this.bytes, s, this.ends[i]!) & mask; ; h = (h + 1) & mask) {
      const row = index[h]! - 1;
      if (row < 0 || this.same(row, this, i)) {
        if (row < 0 || replace) index[h] = i + 1;
        return row < 0 ? i : row;
      }
    }
  }
}

/** FNV-1a over bytes [start, end), then murmur3's finalizer (FNV's low bits alone, which the index uses, mix poorly). */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A string's code points as UTF-8, lone surrogates included as their 3-byte forms (WTF-8): one byte sequence per string. */
function wtf8Bytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}
