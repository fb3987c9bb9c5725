/**
 * Forward reads of a GGUF header through a bounded window. A GGUF header (metadata with
 * its tokenizer arrays, then tensor infos) can be tens of megabytes, so it is parsed as a
 * stream of small fields, never read whole; every field is checked against the file's end
 * before it is read, and a string's length before anything is allocated for it.
 */
import type { Hash } from 'node:crypto';
import { DiffaiError } from '../../errors.js';
import type { RandomAccessFile } from '../../io/file.js';
import { lazyBuiltin } from '../../lazy-builtin.js';

/** Only files with checksums need it (crypto costs ~10 ms of start-up). */
const crypto = lazyBuiltin<typeof import('node:crypto')>('node:crypto');

/** A field's name for messages; a function when building it costs more than reading the field (one per tensor of a 10^6-tensor header). */
export type Field = string | (() => string);
const named = (field: Field): string => (typeof field === 'string' ? field : field());

/** Bytes read from the file at a time. */
const WINDOW = 1 << 20;

export class HeaderStream {
  private window: Buffer = Buffer.alloc(0);
  /** File position of window[0]. */
  private windowStart = 0;
  /** File position of the next field. */
  pos = 0;

  constructor(
    private readonly file: RandomAccessFile,
    /** What is being read, for messages (`GGUF metadata`, `GGUF tensor info`). */
    public what: string,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /** Bytes left between the next field and the end of the file. */
  get remaining(): number {
    return this.file.size - this.pos;
  }

  fail(message: string): never {
    throw new DiffaiError(this.file.path, `${this.what}: ${message}`);
  }

  /** The window offset of `n` bytes at pos (moving past them), refilled from the file as needed. */
  private take(n: number, field: Field): number {
    if (this.pos + n > this.file.size) {
      throw new DiffaiError(
        this.file.path,
        `truncated: ${this.what}: ${named(field)} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.file.size}`,
      );
    }
    let at = this.pos - this.windowStart;
    if (at < 0 || at + n > this.window.length) {
      const length = Math.min(Math.max(n, WINDOW), this.file.size - this.pos);
      this.window = this.file.read(this.pos, length);
      this.windowStart = this.pos;
      at = 0;
    }
    this.pos += n;
    return at;
  }

  u8(field: Field): number {
    const at = this.take(1, field); // before reading this.window: take() may replace it
    return this.window.readUInt8(at);
  }
  i8(field: Field): number {
    const at = this.take(1, field);
    return this.window.readInt8(at);
  }
  u16(field: Field): number {
    const at = this.take(2, field);
    return this.window.readUInt16LE(at);
  }
  i16(field: Field): number {
    const at = this.take(2, field);
    return this.window.readInt16LE(at);
  }
  u32(field: Field): number {
    const at = this.take(4, field);
    return this.window.readUInt32LE(at);
  }
  i32(field: Field): number {
    const at = this.take(4, field);
    return this.window.readInt32LE(at);
  }
  f32(field: Field): number {
    const at = this.take(4, field);
    return this.window.readFloatLE(at);
  }
  f64(field: Field): number {
    const at = this.take(8, field);
    return this.window.readDoubleLE(at);
  }
  u64n(field: Field): bigint {
    const at = this.take(8, field);
    return this.window.readBigUInt64LE(at);
  }
  i64n(field: Field): bigint {
    const at = this.take(8, field);
    return this.window.readBigInt64LE(at);
  }

  /** A u64 count or size that must be at most `max` (and so a safe integer). */
  size(field: Field, max: number): number {
    const v = this.u64n(field);
    if (v > BigInt(max))
      this.fail(`${named(field)} ${v} is larger than ${max === this.remaining ? `the ${max} bytes left in the file` : `the limit of ${max}`}`);
    return Number(v);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes; the length is capped before reading. */
  string(field: Field, max: number): string {
    return this.text(
      this.size(() => `${named(field)} length`, Math.min(max, this.remaining)),
      field,
    );
  }

  /** `n` bytes of UTF-8 (n already checked against a cap). */
  text(n: number, field: Field): string {
    const at = this.take(n, field);
    return this.window.toString('utf8', at, at + n);
  }

  /** Feeds `n` bytes to `hash` without keeping them (for long values summarized by digest). */
  hashBytes(n: number, hash: Hash, field: Field): void {
    for (let done = 0; done < n; ) {
      const step = Math.min(WINDOW, n - done);
      const at = this.take(step, field);
      hash.update(this.window.subarray(at, at + step));
      done += step;
    }
  }

  /** Feeds `n` GGUF bools (bytes 0 or 1) to `hash` as the characters '0' and '1', refusing any other byte. */
  hashBools(n: number, hash: Hash, field: Field): void {
    for (let done = 0; done < n; ) {
      const step = Math.min(WINDOW, n - done);
      const at = this.take(step, field);
      const bytes = this.window.subarray(at, at + step);
      const bad = bytes.findIndex((b) => b > 1);
      if (bad >= 0) this.fail(`${named(field)}: bool value ${bytes[bad]} is neither 0 nor 1`);
      hash.update(Buffer.from(bytes.map((b) => b + 0x30)));
      done += step;
    }
  }

  skip(n: number, field: Field): void {
    if (this.pos + n > this.file.size) {
      throw new DiffaiError(
        this.file.path,
        `truncated: ${this.what}: ${named(field)} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.file.size}`,
      );
    }
    this.pos += n;
  }
}

export function sha256(): Hash {
  return crypto().createHash('sha256');
}
