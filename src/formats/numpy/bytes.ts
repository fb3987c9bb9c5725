/**
 * Bounded, forward-only access to headers inside files and inside compressed streams.
 * Used by the .npy/.npz and MATLAB readers to parse headers without reading tensor data:
 * a compressed stream is inflated incrementally and everything before the requested
 * position is discarded, so memory stays bounded however large the stream is.
 */
import { createInflate, createInflateRaw, type Inflate, type InflateRaw } from 'node:zlib';
import { DiffaiError } from '../../errors.js';
import type { RandomAccessFile } from '../../io/file.js';
import type { ByteSource } from '../types.js';

/** Positions are relative to the start of the region (a file range or an inflated stream). */
export interface ByteReader {
  /** Bytes available, or Infinity when unknown until the stream ends. */
  readonly size: number;
  /** Exactly `len` bytes at `pos`; throws DiffaiError when the region is shorter. */
  read(pos: number, len: number): Promise<Buffer>;
  /** The ByteSource of `len` bytes at `pos` of this region. */
  source(pos: number, len: number): ByteSource;
  close(): void;
}

/** A byte range of a file, read in place. */
export class FileRangeReader implements ByteReader {
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

const INPUT_CHUNK = 8 * 1024;

/**
 * A compressed region inflated forward on demand. Reads must not go backwards past the
 * start of the previous read. Memory is bounded by the bytes asked for plus what one
 * input chunk (8 KiB) can inflate to.
 */
export class InflateReader implements ByteReader {
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
    private readonly format: 'raw' | 'zlib',
    private readonly what: string,
  ) {
    if (offset + compressedLength > file.size) {
      throw new DiffaiError(file.path, `${what}compressed data (${compressedLength} bytes at ${offset}) runs past the end of the file`);
    }
    this.inPos = offset;
    this.inEnd = offset + compressedLength;
    this.z = format === 'raw' ? createInflateRaw() : createInflate();
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
      throw new Error(`InflateReader: backward read at ${pos} (already past ${this.keptStart})`);
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
