/**
 * A bounded cursor over bytes already in memory (a header, a directory record, a tag). Every
 * read is checked against the bytes' end first, so a corrupt length or offset becomes a
 * one-line DiffaiError naming the file and what was being read, never a RangeError or a
 * read of the wrong bytes. Formats read their binary structures only through this.
 */
import { DiffaiError } from '../errors.js';

export interface CursorOptions {
  /** Byte order of multi-byte fields; default little-endian. */
  littleEndian?: boolean;
  /** What these bytes are, for messages (`zip central directory`, `MAT-file header`). */
  what?: string;
  /** Absolute file position of `bytes[0]`, so messages give file offsets; default 0. */
  base?: number;
}

export class ByteCursor {
  /** Position relative to the start of the bytes. */
  private p = 0;
  private readonly view: DataView;
  littleEndian: boolean;
  readonly what: string;
  readonly base: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly file: string,
    options: CursorOptions = {},
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = options.littleEndian ?? true;
    this.what = options.what ?? 'data';
    this.base = options.base ?? 0;
  }

  /** Bytes in the cursor. */
  get length(): number {
    return this.bytes.length;
  }

  get pos(): number {
    return this.p;
  }

  get remaining(): number {
    return this.bytes.length - this.p;
  }

  /** Fails with `<what>: <message>` for this cursor's file. */
  fail(message: string): never {
    throw new DiffaiError(this.file, `${this.what}: ${message}`);
  }

  /** Checks that `n` bytes can be read at the current position (what = the field being read). */
  private need(n: number, field: string): number {
    const at = this.p;
    if (!Number.isSafeInteger(n) || n < 0 || at + n > this.bytes.length) {
      const from = this.base + at;
      throw new DiffaiError(
        this.file,
        `truncated: ${this.what}: ${field} needs bytes ${from}..${from + n} but the ${this.what} ends at ${this.base + this.bytes.length}`,
      );
    }
    this.p = at + n;
    return at;
  }

  /** Moves to `pos` (relative); `pos` may equal the length. */
  seek(pos: number, field = 'position'): this {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos > this.bytes.length) {
      throw new DiffaiError(this.file, `truncated: ${this.what}: ${field} ${this.base + pos} is outside bytes ${this.base}..${this.base + this.bytes.length}`);
    }
    this.p = pos;
    return this;
  }

  skip(n: number, field = 'skipped bytes'): this {
    this.need(n, field);
    return this;
  }

  /** Skips to the next multiple of `n` bytes (relative), or to the end when that is nearer. */
  align(n: number): this {
    const pad = (n - (this.p % n)) % n;
    this.p = Math.min(this.bytes.length, this.p + pad);
    return this;
  }

  u8(field = 'u8'): number {
    return this.view.getUint8(this.need(1, field));
  }

  i8(field = 'i8'): number {
    return this.view.getInt8(this.need(1, field));
  }

  u16(field = 'u16'): number {
    return this.view.getUint16(this.need(2, field), this.littleEndian);
  }

  i16(field = 'i16'): number {
    return this.view.getInt16(this.need(2, field), this.littleEndian);
  }

  u32(field = 'u32'): number {
    return this.view.getUint32(this.need(4, field), this.littleEndian);
  }

  i32(field = 'i32'): number {
    return this.view.getInt32(this.need(4, field), this.littleEndian);
  }

  /** An unsigned 64-bit field as a bigint (for fields compared before being trusted). */
  u64n(field = 'u64'): bigint {
    return this.view.getBigUint64(this.need(8, field), this.littleEndian);
  }

  i64n(field = 'i64'): bigint {
    return this.view.getBigInt64(this.need(8, field), this.littleEndian);
  }

  /** An unsigned 64-bit field that must be a safe integer (sizes, offsets, counts). */
  u64(field = 'u64'): number {
    const v = this.u64n(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${field} ${v} is out of range`);
    return Number(v);
  }

  i64(field = 'i64'): number {
    const v = this.i64n(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${field} ${v} is out of range`);
    return Number(v);
  }

  f32(field = 'f32'): number {
    return this.view.getFloat32(this.need(4, field), this.littleEndian);
  }

  f64(field = 'f64'): number {
    return this.view.getFloat64(this.need(8, field), this.littleEndian);
  }

  /** `n` bytes as a view of the cursor's bytes (not a copy). */
  bytesView(n: number, field = 'bytes'): Uint8Array {
    const at = this.need(n, field);
    return this.bytes.subarray(at, at + n);
  }

  /** `n` bytes as a Buffer view (not a copy). */
  buffer(n: number, field = 'bytes'): Buffer {
    const at = this.need(n, field);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, n);
  }

  /** A cursor over the next `n` bytes, with the same options; this one moves past them. */
  sub(n: number, field = 'record', what = this.what): ByteCursor {
    const at = this.need(n, field);
    return new ByteCursor(this.bytes.subarray(at, at + n), this.file, { littleEndian: this.littleEndian, what, base: this.base + at });
  }

  /** `n` bytes decoded as latin1 (one char per byte); `max` caps `n` before anything is read. */
  latin1(n: number, field = 'string', max = 1 << 20): string {
    this.capString(n, max, field);
    return this.buffer(n, field).toString('latin1');
  }

  /** `n` bytes of 7-bit ASCII (decoded as latin1 so that a bad byte is visible, not replaced). */
  ascii(n: number, field = 'string', max = 1 << 20): string {
    return this.latin1(n, field, max);
  }

  utf8(n: number, field = 'string', max = 1 << 20): string {
    this.capString(n, max, field);
    return this.buffer(n, field).toString('utf8');
  }

  private capString(n: number, max: number, field: string): void {
    if (n > max) this.fail(`${field} of ${n} bytes is over the ${max}-byte limit`);
  }
}

/** A cursor over `bytes` (e.g. a header already read) for `file`. */
export function cursor(bytes: Uint8Array, file: string, options?: CursorOptions): ByteCursor {
  return new ByteCursor(bytes, file, options);
}
