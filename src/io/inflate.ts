/**
 * Bounded inflation of compressed file ranges (zip DEFLATE entries, zlib streams such as
 * MATLAB's miCOMPRESSED). Three shapes, one job each:
 * - `inflateRangeSync`: a whole small stream (metadata: data.pkl, byteorder), with an
 *   output cap so a decompression bomb fails after `maxOutput` bytes instead of filling memory;
 * - `InflatedRegion`: a compressed region parsed forward at scattered positions (npz and
 *   MAT-file headers), memory bounded by what is asked for;
 * - `InflateStream`: sequential reads of a stream into caller buffers (tensor data; the
 *   engine's streaming loop can adopt it).
 */
import type { Readable } from 'node:stream';
import type { Inflate, InflateRaw } from 'node:zlib';
import { DiffaiError } from '../errors.js';
import { lazyBuiltin } from '../lazy-builtin.js';
import type { ByteSource } from '../formats/types.js';
import type { RandomAccessFile } from './file.js';
import { checkRange, type ByteRegion } from './range.js';

/** Most files are never compressed (zlib costs ~4 ms of start-up). */
const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');

export type CompressionFormat = 'raw' | 'zlib';

/**
 * Inflated bytes any file may ask for, whatever its ratio: a gzip bomb is refused after
 * inflating (and spooling) this much, so it is also what a refusal costs (~3–7 s loaded).
 */
export const INFLATE_FLOOR_BYTES = 512 << 20;
/** Inflated bytes a file may ask for beyond the floor, per byte of the file. */
export const INFLATE_RATIO = 4;
/** Environment variable that sets the allowance per file (bytes), for files that really need more. */
export const INFLATE_LIMIT_ENV = 'DIFFAI_INFLATE_MAX_BYTES';

/**
 * What is wrong when `inflated` bytes come from `compressed` bytes (a file's size, or what a
 * stream has read so far), or undefined within the allowance: 512 MiB at any ratio plus
 * INFLATE_RATIO times the compressed bytes, or DIFFAI_INFLATE_MAX_BYTES when set.
 */
export function inflateBudgetProblem(inflated: number, compressed: number): string | undefined {
  const raw = process.env[INFLATE_LIMIT_ENV];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new DiffaiError(undefined, `${INFLATE_LIMIT_ENV} must be a positive whole number of bytes, got ${JSON.stringify(raw.slice(0, 40))}`);
    if (inflated <= n) return undefined;
    return `more than ${n} bytes, the limit ${INFLATE_LIMIT_ENV} sets`;
  }
  const allowed = INFLATE_FLOOR_BYTES + INFLATE_RATIO * compressed;
  if (inflated <= allowed) return undefined;
  return `more than ${allowed} bytes from ${compressed} compressed bytes, over the budget of 512 MiB plus ${INFLATE_RATIO} times the compressed size (a decompression bomb? set ${INFLATE_LIMIT_ENV} to allow more)`;
}

export interface InflateOptions {
  /** What is being inflated, for messages (`zip entry "data.pkl"`). */
  what?: string;
  /** Most output bytes accepted; more is refused as a decompression bomb. */
  maxOutput: number;
  /** Most compressed bytes read before inflating; default: any length inside the file. */
  maxInput?: number;
}

/**
 * Inflates `compressedLength` bytes at `offset` whole. The range is checked against the file
 * and `maxInput` before it is read, and inflation stops after `maxOutput` bytes.
 */
export function inflateRangeSync(file: RandomAccessFile, offset: number, compressedLength: number, format: CompressionFormat, options: InflateOptions): Buffer {
  const what = options.what ?? 'compressed data';
  checkRange(file, offset, compressedLength, { what: `${what} (compressed)`, budget: options.maxInput });
  return inflateBytesSync(file.path, file.read(offset, compressedLength), format, options);
}

/** Inflates compressed bytes already in memory, with the same output cap. */
export function inflateBytesSync(path: string, compressed: Uint8Array, format: CompressionFormat, options: InflateOptions): Buffer {
  const what = options.what ?? 'compressed data';
  // One more byte than allowed: reaching it proves the stream is over the cap.
  const maxOutputLength = Math.max(1, options.maxOutput + 1);
  try {
    const out = format === 'raw' ? zlib().inflateRawSync(compressed, { maxOutputLength }) : zlib().inflateSync(compressed, { maxOutputLength });
    if (out.length > options.maxOutput) throw new DiffaiError(path, `${what} inflates to more than the ${options.maxOutput}-byte limit`);
    return out;
  } catch (e) {
    if (e instanceof DiffaiError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new DiffaiError(path, `${what} inflates to more than the ${options.maxOutput}-byte limit`);
    }
    throw new DiffaiError(path, `cannot inflate ${what}: ${(e as Error).message}`);
  }
}

/**
 * zlib's output piece: each piece is one trip to libuv's thread pool and back, so the 16 KiB
 * default made inflating a 300 MB stream 18,000 trips (seconds on a loaded machine).
 */
const OUTPUT_PIECE = 1 << 20;
/**
 * Compressed bytes fed at once to an InflatedRegion: about INFLATE_AHEAD bytes of output at the
 * ratio seen so far (1 MiB of input for real weights, 16 KiB for a stream of zeros), so
 * memory stays bounded by what was asked for plus INFLATE_AHEAD whatever the ratio.
 */
const INFLATE_AHEAD = 16 << 20;
const MIN_INPUT = 8 << 10;
const MAX_INPUT = 1 << 20;

/**
 * A compressed region inflated forward on demand. Reads must not go backwards past the
 * start of the previous read. Memory is bounded by the bytes asked for plus what one
 * input chunk can inflate to (about INFLATE_AHEAD).
 */
export class InflatedRegion implements ByteRegion {
  readonly size = Infinity;
  private readonly z: Inflate | InflateRaw;
  private chunks: Buffer[] = [];
  /** Stream offset of chunks[0][0]; keptStart + kept is always the number of bytes inflated so far. */
  private keptStart = 0;
  private kept = 0;
  /** Bytes before this stream offset are dropped as they arrive. */
  private discardBefore = 0;
  private inPos: number;
  private readonly inEnd: number;
  private ended = false;
  private endRequested = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private input: Buffer | undefined;
  /** Resolves the pending write's wait, also when the inflater fails instead of calling back. */
  private writeDone: (() => void) | undefined;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly offset: number,
    private readonly compressedLength: number,
    private readonly format: CompressionFormat,
    private readonly what: string,
  ) {
    if (offset + compressedLength > file.size) {
      throw new DiffaiError(file.path, `${what}compressed data (${compressedLength} bytes at ${offset}) runs past the end of the file`);
    }
    this.inPos = offset;
    this.inEnd = offset + compressedLength;
    this.z = format === 'raw' ? zlib().createInflateRaw({ chunkSize: OUTPUT_PIECE }) : zlib().createInflate({ chunkSize: OUTPUT_PIECE });
    this.z.on('data', (c: Buffer) => this.onData(c));
    this.z.on('end', () => {
      this.ended = true;
      this.poke();
    });
    this.z.on('error', (e: Error) => {
      this.error = e;
      this.writeDone?.();
      this.poke();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private onData(c: Buffer): void {
    const end = this.keptStart + this.kept + c.length;
    if (this.kept === 0 && end <= this.discardBefore) {
      this.keptStart = end;
    } else {
      if (this.kept === 0 && this.keptStart < this.discardBefore) {
        c = c.subarray(this.discardBefore - this.keptStart);
        this.keptStart = this.discardBefore;
      }
      this.chunks.push(c);
      this.kept += c.length;
    }
    this.poke();
  }

  private trim(before: number): void {
    while (this.chunks.length > 0 && this.keptStart < before) {
      const c = this.chunks[0]!;
      const drop = Math.min(c.length, before - this.keptStart);
      if (drop === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(drop);
      this.keptStart += drop;
      this.kept -= drop;
    }
  }

  /** Feeds one more input chunk (or ends the input) and waits for the inflater to answer. */
  private async feed(): Promise<void> {
    // Resolved by the next data/end/error event (or, for a write, its callback).
    const waitEvent = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (this.inPos < this.inEnd) {
      const consumed = this.inPos - this.offset;
      const ratio = consumed > 0 ? Math.max(1, (this.keptStart + this.kept) / consumed) : INFLATE_AHEAD / MIN_INPUT;
      const n = Math.min(Math.max(MIN_INPUT, Math.min(MAX_INPUT, Math.floor(INFLATE_AHEAD / ratio))), this.inEnd - this.inPos);
      // One input buffer, reused: zlib is done with it when the write's callback runs (or it failed).
      this.input ??= Buffer.allocUnsafe(MAX_INPUT);
      const chunk = this.input.subarray(0, n);
      this.file.readInto(chunk, this.inPos);
      this.inPos += n;
      await new Promise<void>((resolve) => {
        this.writeDone = resolve;
        this.z.write(chunk, () => resolve());
      });
      this.writeDone = undefined;
    } else if (!this.endRequested) {
      this.endRequested = true;
      this.z.end();
      await waitEvent;
    } else {
      await waitEvent;
    }
  }

  async read(pos: number, len: number): Promise<Buffer> {
    if (pos < this.keptStart) {
      throw new Error(`InflatedRegion: backward read at ${pos} (already past ${this.keptStart})`);
    }
    this.discardBefore = pos;
    this.trim(pos);
    const want = pos + len;
    while (this.keptStart + this.kept < want) {
      if (this.error) {
        throw new DiffaiError(this.file.path, `${this.what}corrupt compressed data (${this.error.message})`);
      }
      if (this.ended) {
        throw new DiffaiError(
          this.file.path,
          `${this.what}compressed stream ends after ${this.keptStart + this.kept} bytes but ${want} are needed (truncated?)`,
        );
      }
      await this.feed();
    }
    const out = Buffer.allocUnsafe(len);
    let p = this.keptStart;
    let o = 0;
    for (const c of this.chunks) {
      if (o >= len) break;
      const from = Math.max(0, pos - p);
      if (from < c.length) {
        const n = Math.min(c.length - from, len - o);
        c.copy(out, o, from, from + n);
        o += n;
      }
      p += c.length;
    }
    return out;
  }

  source(pos: number, len: number): ByteSource {
    return {
      kind: 'deflate',
      path: this.file.path,
      offset: this.offset,
      compressedLength: this.compressedLength,
      format: this.format,
      skip: pos,
      length: len,
    };
  }

  close(): void {
    this.z.removeAllListeners('data');
    this.z.on('error', () => {});
    this.z.destroy();
  }
}

/**
 * Sequential reads of a compressed stream into caller buffers: the first `skip` inflated bytes
 * are dropped, then each `readInto` fills its target completely or throws. Input is read in
 * 1 MiB chunks, so memory is bounded by one chunk and what it inflates to.
 */
export class InflateStream {
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly stream: Readable;
  private pending: Buffer = Buffer.alloc(0);
  private toSkip: number;

  constructor(
    file: RandomAccessFile,
    private readonly source: Extract<ByteSource, { kind: 'deflate' }>,
    /** Further bytes to drop after the source's own `skip`. */
    start = 0,
  ) {
    this.toSkip = source.skip + start;
    this.stream = file.stream(source.offset, source.offset + source.compressedLength);
    const inflate = source.format === 'raw' ? zlib().createInflateRaw({ chunkSize: OUTPUT_PIECE }) : zlib().createInflate({ chunkSize: OUTPUT_PIECE });
    this.stream.on('error', (e) => inflate.destroy(e));
    this.iterator = this.stream.pipe(inflate)[Symbol.asyncIterator]();
  }

  async readInto(target: Uint8Array): Promise<void> {
    let filled = 0;
    while (filled < target.length) {
      if (this.pending.length === 0) {
        let next: IteratorResult<Buffer>;
        try {
          next = await this.iterator.next();
        } catch (e) {
          throw new DiffaiError(this.source.path, `corrupt compressed data: ${(e as Error).message}`);
        }
        if (next.done) throw new DiffaiError(this.source.path, 'compressed data ends before the tensor does');
        this.pending = next.value;
      }
      if (this.toSkip > 0) {
        const n = Math.min(this.toSkip, this.pending.length);
        this.pending = this.pending.subarray(n);
        this.toSkip -= n;
        continue;
      }
      const n = Math.min(target.length - filled, this.pending.length);
      target.set(this.pending.subarray(0, n), filled);
      this.pending = this.pending.subarray(n);
      filled += n;
    }
  }

  close(): void {
    this.stream.destroy();
  }
}
