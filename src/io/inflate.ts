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

const INPUT_CHUNK = 8 * 1024;

/**
 * A compressed region inflated forward on demand. Reads must not go backwards past the
 * start of the previous read. Memory is bounded by the bytes asked for plus what one
 * input chunk (8 KiB) can inflate to.
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
    this.z = format === 'raw' ? zlib().createInflateRaw() : zlib().createInflate();
    this.z.on('data', (c: Buffer) => this.onData(c));
    this.z.on('end', () => {
      this.ended = true;
      this.poke();
    });
    this.z.on('error', (e: Error) => {
      this.error = e;
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
      const n = Math.min(INPUT_CHUNK, this.inEnd - this.inPos);
      const chunk = this.file.read(this.inPos, n);
      this.inPos += n;
      await Promise.race([
        waitEvent,
        new Promise<void>((resolve) => {
          this.z.write(chunk, () => resolve());
        }),
      ]);
      // Let pushed output reach the 'data' handler.
      await new Promise<void>((resolve) => setImmediate(resolve));
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
    const inflate = source.format === 'raw' ? zlib().createInflateRaw() : zlib().createInflate();
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
