/**
 * Bounded positional reads of a file range. A length read from a file is untrusted: it is
 * checked against the file and against the caller's budget *before* a buffer is allocated,
 * so a corrupt size field costs one error line, not a multi-gigabyte allocation.
 */
import { DiffaiError } from '../errors.js';
import type { ByteSource } from '../formats/types.js';
import { ByteCursor, type CursorOptions } from './cursor.js';
import type { RandomAccessFile } from './file.js';

export interface RangeOptions {
  /** What is being read, for messages (`zip central directory`, `data.pkl`). */
  what?: string;
  /** Largest length accepted (bytes); default: no limit beyond the file. */
  budget?: number;
}

/** Checks that `length` bytes at `offset` lie inside the file and within the budget. */
export function checkRange(file: RandomAccessFile, offset: number, length: number, options: RangeOptions = {}): void {
  const what = options.what ?? 'data';
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new DiffaiError(file.path, `${what}: bad byte range ${offset}+${length}`);
  }
  if (options.budget !== undefined && length > options.budget) {
    throw new DiffaiError(file.path, `${what} of ${length} bytes exceeds the ${options.budget}-byte limit`);
  }
  if (offset + length > file.size) {
    throw new DiffaiError(file.path, `truncated: ${what} needs bytes ${offset}..${offset + length} but the file has ${file.size}`);
  }
}

/** Exactly `length` bytes at `offset`, checked first. */
export function readRange(file: RandomAccessFile, offset: number, length: number, options?: RangeOptions): Buffer {
  checkRange(file, offset, length, options);
  return file.read(offset, length);
}

/** A bounded cursor over `length` bytes at `offset` of the file (messages give file offsets). */
export function cursorAt(file: RandomAccessFile, offset: number, length: number, options: RangeOptions & Omit<CursorOptions, 'base'> = {}): ByteCursor {
  const bytes = readRange(file, offset, length, options);
  return new ByteCursor(bytes, file.path, { littleEndian: options.littleEndian, what: options.what, base: offset });
}

/**
 * A region of bytes a format parses: a file range, or a compressed stream inflated forward
 * (see inflate.ts). Positions are relative to the region's start.
 */
export interface ByteRegion {
  /** Bytes available, or Infinity when unknown until the stream ends. */
  readonly size: number;
  /** Exactly `len` bytes at `pos`; throws DiffaiError when the region is shorter. */
  read(pos: number, len: number): Promise<Buffer>;
  /** The ByteSource of `len` bytes at `pos` of this region. */
  source(pos: number, len: number): ByteSource;
  close(): void;
}

/** A byte range of a file, read in place. `what` prefixes messages (`npz entry 'w.npy': `). */
export class FileRegion implements ByteRegion {
  constructor(
    private readonly file: RandomAccessFile,
    private readonly start: number,
    readonly size: number,
    private readonly what: string,
  ) {}

  async read(pos: number, len: number): Promise<Buffer> {
    if (pos < 0 || len < 0 || pos + len > this.size) {
      throw new DiffaiError(this.file.path, `${this.what}truncated: needs bytes ${pos}..${pos + len} but only ${this.size} are there`);
    }
    return this.file.read(this.start + pos, len);
  }

  source(pos: number, len: number): ByteSource {
    return { kind: 'file', path: this.file.path, offset: this.start + pos, length: len };
  }

  close(): void {}
}
