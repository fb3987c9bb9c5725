/**
 * A bounded, streaming protocol-buffers wire reader over a file region. Messages are walked
 * field by field with positional reads through a small window, so a 2 GB ONNX or TensorFlow
 * file whose bulk is `raw_data` is never held in memory: a length-delimited field is handed
 * to the caller as a byte range, and the caller decides to descend, decode a short string,
 * or keep the range for the engine. Every length is checked against its enclosing message
 * before it is used.
 */
import { DiffaiError } from '../errors.js';
import { lazyBuiltin } from '../lazy-builtin.js';
import type { RandomAccessFile } from './file.js';

/** Only files with over-long metadata need it (crypto costs start-up time). */
const crypto = lazyBuiltin<typeof import('node:crypto')>('node:crypto');

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field of a message. For LEN fields `start..end` is the payload; for the others `value`. */
export interface ProtoField {
  number: number;
  wire: number;
  /** Varint fields: the value when it is a safe integer (negative int32/int64 are sign-extended); otherwise NaN. */
  value: number;
  /** Payload (LEN) or value bytes (I32/I64) as absolute file offsets. */
  start: number;
  end: number;
}

/** Bytes kept in the read window; reads of small fields rarely touch the disk twice. */
const WINDOW_BYTES = 64 * 1024;

export class ProtoReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    readonly file: RandomAccessFile,
    /** What the file is, for messages (`ONNX model`). */
    readonly what: string,
  ) {}

  fail(message: string): never {
    throw new DiffaiError(this.file.path, `${this.what}: ${message}`);
  }

  /** Bytes `pos..pos+n` (n small), from the window. */
  private bytes(pos: number, n: number): Buffer {
    if (pos < this.windowStart || pos + n > this.windowStart + this.window.length) {
      const len = Math.min(Math.max(n, WINDOW_BYTES), this.file.size - pos);
      if (len < n) this.fail(`truncated at byte ${pos}`);
      this.window = this.file.read(pos, len);
      this.windowStart = pos;
    }
    const at = pos - this.windowStart;
    return this.window.subarray(at, at + n);
  }

  /**
   * Reads a varint at `pos` that must end before `end`: [value, next position]. The value
   * is exact when it is a safe integer, NaN otherwise; a 10-byte varint with the sign bit
   * set (a negative int32/int64) is returned negative.
   */
  varint(pos: number, end: number): [number, number] {
    const avail = Math.min(10, end - pos);
    if (avail <= 0) this.fail(`truncated varint at byte ${pos}`);
    const b = this.bytes(pos, avail);
    let lo = 0; // bits 0..27
    let hi = 0; // bits 28..63 as a float multiple of 2^28
    for (let i = 0; i < avail; i++) {
      const byte = b[i]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else hi += bits * 2 ** (7 * i - 28);
      if ((byte & 0x80) === 0) {
        if (i === 9 && byte > 1) this.fail(`varint at byte ${pos} overflows 64 bits`);
        return [combine(lo >>> 0, hi), pos + i + 1];
      }
    }
    return this.fail(avail < 10 ? `truncated varint at byte ${pos}` : `varint at byte ${pos} is longer than 10 bytes`);
  }

  /**
   * Calls `visit` for each field of the message at `start..end`. Unknown wire types and
   * lengths past the message end are errors; groups (wire types 3/4) are refused.
   */
  fields(start: number, end: number, visit: (f: ProtoField) => void): void {
    let pos = start;
    while (pos < end) {
      const [key, afterKey] = this.varint(pos, end);
      if (!Number.isSafeInteger(key) || key < 8) this.fail(`bad field key ${key} at byte ${pos}`);
      const number = Math.floor(key / 8);
      const wire = key % 8;
      let f: ProtoField;
      switch (wire) {
        case WIRE_VARINT: {
          const [value, next] = this.varint(afterKey, end);
          f = { number, wire, value, start: afterKey, end: next };
          break;
        }
        case WIRE_I64:
          f = { number, wire, value: Number.NaN, start: afterKey, end: afterKey + 8 };
          break;
        case WIRE_I32:
          f = { number, wire, value: Number.NaN, start: afterKey, end: afterKey + 4 };
          break;
        case WIRE_LEN: {
          const [len, payload] = this.varint(afterKey, end);
          if (!(len >= 0) || payload + len > end) this.fail(`field ${number} at byte ${pos} claims ${len} bytes, past the end of its message at byte ${end}`);
          f = { number, wire, value: len, start: payload, end: payload + len };
          break;
        }
        default:
          this.fail(`unsupported wire type ${wire} (field ${number}) at byte ${pos}`);
      }
      if (f.end > end) this.fail(`field ${number} at byte ${pos} runs past the end of its message at byte ${end}`);
      visit(f);
      pos = f.end;
    }
  }

  /** A LEN field's payload as UTF-8, refused beyond `max` bytes. */
  string(f: ProtoField, max = 64 * 1024): string {
    this.expect(f, WIRE_LEN);
    const n = f.end - f.start;
    if (n > max) this.fail(`string field ${f.number} of ${n} bytes is over the ${max}-byte limit`);
    if (n === 0) return '';
    return (n <= WINDOW_BYTES ? this.bytes(f.start, n) : this.file.read(f.start, n)).toString('utf8');
  }

  /** The SHA-256 (hex) of a LEN field's payload, read a window at a time (values too long to keep). */
  sha256(f: ProtoField): string {
    this.expect(f, WIRE_LEN);
    const hash = crypto().createHash('sha256');
    for (let pos = f.start; pos < f.end; pos += WINDOW_BYTES) hash.update(this.file.read(pos, Math.min(WINDOW_BYTES, f.end - pos)));
    return hash.digest('hex');
  }

  /** A fixed 32-bit field as a float. */
  float32(f: ProtoField): number {
    this.expect(f, WIRE_I32);
    return this.bytes(f.start, 4).readFloatLE(0);
  }

  /** A fixed 64-bit field as a double. */
  float64(f: ProtoField): number {
    this.expect(f, WIRE_I64);
    return this.bytes(f.start, 8).readDoubleLE(0);
  }

  /** The varint values of a repeated field given packed (LEN) or one at a time, up to `max` values. */
  varints(f: ProtoField, max: number, into: number[]): void {
    if (f.wire === WIRE_VARINT) {
      if (into.length >= max) this.fail(`field ${f.number} has more than ${max} values`);
      into.push(f.value);
      return;
    }
    this.expect(f, WIRE_LEN);
    for (let pos = f.start; pos < f.end; ) {
      if (into.length >= max) this.fail(`field ${f.number} has more than ${max} values`);
      const [v, next] = this.varint(pos, f.end);
      into.push(v);
      pos = next;
    }
  }

  expect(f: ProtoField, wire: number): void {
    if (f.wire !== wire) this.fail(`field ${f.number} at byte ${f.start} has wire type ${f.wire}, expected ${wire}`);
  }
}

/** lo (bits 0..27, unsigned) + hi·2^28 as a number; negative for sign-extended 64-bit values; NaN when not a safe integer. */
function combine(lo: number, hi: number): number {
  // hi holds bits 28..63 as an exact float when < 2^53; a 64-bit two's complement negative has bit 63 set.
  const TWO36 = 2 ** 36;
  if (hi >= TWO36 / 2) {
    // Negative: value = (hi - 2^36)·2^28 + lo.
    const v = (hi - TWO36) * 2 ** 28 + lo;
    return Number.isSafeInteger(v) ? v : Number.NaN;
  }
  const v = hi * 2 ** 28 + lo;
  return Number.isSafeInteger(v) ? v : Number.NaN;
}
