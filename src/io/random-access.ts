/**
 * What readers and the engine read through: a file of known size read by position. Local
 * files (io/file.ts) and remote ones (io/remote-file.ts, HTTP Range requests) both provide it.
 */
import type { Readable } from 'node:stream';

export interface ByteFile {
  /** The path as given (a local path, a URL or an hf:// path); messages name it. */
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `position` (checked against the size before allocating). */
  read(position: number, length: number): Buffer;
  /** Up to `length` bytes at `position` (fewer at the end of the file). */
  readUpTo(position: number, length: number): Buffer;
  /** Fills `target` (which may view WASM memory) from `position`, synchronously. */
  readInto(target: Uint8Array, position: number): void;
  /** Fills `target` from `position` without blocking the thread (the engine's streaming reads). */
  readAt(target: Uint8Array, position: number): Promise<void>;
  /** The bytes `start..end-1` as a stream of buffers (compressed entries inflated forward). */
  stream(start: number, end: number): Readable;
  close(): void;
  /**
   * Remote files only: bytes a reader expects at given positions, checked before any byte
   * they guard is handed out (a reader that placed data without reading the bytes that say
   * where it is: zip local headers of a remote archive).
   */
  expect?(checks: ByteCheck[]): void;
  /** Remote files only: many small scattered ranges at once (coalesced, a few requests in parallel), in the order asked. */
  readRanges?(ranges: Array<[start: number, end: number]>): Uint8Array[];
}

/**
 * The bytes `expected` must be at `position` (only those whose bit is set in `mask`: bit i for
 * byte i, at most 32 bytes) before bytes `guardStart..guardEnd-1` are used; else `mismatch`
 * is the error.
 */
export interface ByteCheck {
  position: number;
  expected: Uint8Array;
  mask: number;
  guardStart: number;
  guardEnd: number;
  mismatch: string;
}
