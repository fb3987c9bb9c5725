/**
 * Positional, bounded reads of a file. Nothing here ever reads a whole file: callers ask for
 * byte ranges, and every range is checked against the file size first.
 */
import { closeSync, constants, createReadStream, type Dirent, fstatSync, openSync, read, readdirSync, readSync, type Stats, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DiffaiError } from '../errors.js';
import type { ByteFile } from './random-access.js';
import { isRemotePath } from './remote-path.js';
import { RemoteFile } from './remote-file.js';

/** A file read by position: local, or remote (a URL or hf:// path, read by HTTP Range requests). */
export type RandomAccessFile = ByteFile;

export const RandomAccessFile = {
  open(path: string): RandomAccessFile {
    return isRemotePath(path) ? RemoteFile.open(path) : LocalFile.open(path);
  },
};

/** Reads up to this size go through the read-ahead block. */
const SMALL_READ_BYTES = 4096;
const READ_AHEAD_BYTES = 64 << 10;
/**
 * readAt reads up to this size at once, in this thread: from the page cache that takes
 * microseconds, less than handing it to libuv's thread pool and back, and a small diff then
 * never starts the pool's threads (measurable in its start-up on a loaded machine).
 */
const READ_NOW_BYTES = 64 << 10;

export class LocalFile implements ByteFile {
  readonly size: number;
  private fd: number;
  private blockBuffer: Buffer | undefined;
  /** The bytes of the read-ahead block now held, from file position blockStart. */
  private block: Buffer | undefined;
  private blockStart = 0;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      closeSync(fd);
      throw new DiffaiError(path, notRegular(stat));
    }
    this.size = stat.size;
  }

  static open(path: string): LocalFile {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below);
      // on a regular file the flag changes nothing.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      throw new DiffaiError(path, describeFsError(e));
    }
    return new LocalFile(path, fd);
  }

  /** Throws unless `length` bytes at `position` lie inside the file. */
  private checkBounds(position: number, length: number): void {
    if (!(position >= 0) || !(length >= 0) || position + length > this.size) {
      throw new DiffaiError(this.path, `truncated: needs bytes ${position}..${position + length} but the file has ${this.size}`);
    }
  }

  /** Reads exactly `target.length` bytes at `position` into `target` (which may view WASM memory). */
  readInto(target: Uint8Array, position: number): void {
    this.checkBounds(position, target.length);
    let done = 0;
    while (done < target.length) {
      const n = readSync(this.fd, target, done, target.length - done, position + done);
      if (n === 0) throw new DiffaiError(this.path, `unexpected end of file at byte ${position + done}`);
      done += n;
    }
  }

  /** Reads `length` bytes at `position` into a new buffer; a caller budget belongs in range.ts's `readRange`. */
  read(position: number, length: number): Buffer {
    this.checkBounds(position, length); // before allocating: `length` may come from a corrupt field
    if (length <= SMALL_READ_BYTES) return this.readSmall(position, length);
    const buf = Buffer.allocUnsafe(length);
    this.readInto(buf, position);
    return buf;
  }

  /**
   * Small reads (headers of zip entries and .npy arrays, one after another) are served from a
   * read-ahead block: a 100,000-entry archive costs a few thousand reads, not 300,000.
   */
  private readSmall(position: number, length: number): Buffer {
    let block = this.block;
    if (!block || position < this.blockStart || position + length > this.blockStart + block.length) {
      const size = Math.min(READ_AHEAD_BYTES, this.size - position);
      this.blockBuffer ??= Buffer.allocUnsafe(READ_AHEAD_BYTES);
      block = this.blockBuffer.subarray(0, size);
      this.readInto(block, position);
      this.block = block;
      this.blockStart = position;
    }
    return Buffer.from(block.subarray(position - this.blockStart, position - this.blockStart + length));
  }

  /** Reads up to `length` bytes at `position` (fewer at end of file). */
  readUpTo(position: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.size - position));
    return this.read(position, n);
  }

  /**
   * Positional reads on libuv's thread pool, so the engine reads the next chunk while the
   * kernels run; small ones at once (READ_NOW_BYTES).
   */
  readAt(target: Uint8Array, position: number): Promise<void> {
    if (position + target.length > this.size) {
      return Promise.reject(new DiffaiError(this.path, `truncated: needs bytes ${position}..${position + target.length} but the file has ${this.size}`));
    }
    if (target.length <= READ_NOW_BYTES) return this.readNow(target, position);
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done === target.length) {
          resolve();
          return;
        }
        read(this.fd, target, done, target.length - done, position + done, (err, n) => {
          if (err) reject(new DiffaiError(this.path, err.message));
          else if (n === 0) reject(new DiffaiError(this.path, `unexpected end of file at byte ${position + done}`));
          else step(done + n);
        });
      };
      step(0);
    });
  }

  /** readAt in this thread, with the same errors. */
  private readNow(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    try {
      while (done < target.length) {
        const n = readSync(this.fd, target, done, target.length - done, position + done);
        if (n === 0) return Promise.reject(new DiffaiError(this.path, `unexpected end of file at byte ${position + done}`));
        done += n;
      }
    } catch (e) {
      return Promise.reject(new DiffaiError(this.path, (e as Error).message));
    }
    return Promise.resolve();
  }

  stream(start: number, end: number): Readable {
    return createReadStream(this.path, { start, end: end - 1, highWaterMark: 1 << 20 });
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** What is wrong with a path, from a file system error (never the raw message: it repeats the path unescaped). */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links (a symlink loop?)';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'ENXIO':
      return 'not a regular file (a device or socket with nothing behind it)';
    case 'EIO':
      return 'input/output error';
    default:
      return code ? `cannot be read (${code})` : 'cannot be read';
  }
}

/** Why a path that is not a regular file cannot be a model. */
export function notRegular(st: Stats): string {
  const kind = st.isFIFO()
    ? 'a FIFO (named pipe)'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isDirectory()
            ? 'a directory'
            : 'not a file';
  return `not a regular file but ${kind}`;
}

/** The path's status (symlinks followed); undefined when nothing is there; other failures are a DiffaiError naming the path. */
export function statPath(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new DiffaiError(path, describeFsError(e));
  }
}

/** A directory's entries; failures are a DiffaiError naming the directory. */
export function listDirectory(path: string): Dirent[] {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch (e) {
    throw new DiffaiError(path, describeFsError(e));
  }
}
