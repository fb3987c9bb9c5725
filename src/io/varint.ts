/**
 * Packed protocol-buffers varints as fixed-size little-endian elements: ONNX and TensorFlow
 * store small integer, bool and 16-bit float tensors in `int32_data`/`int64_data`/`half_val`
 * as varints, and the engine reads them through this stream as if they were stored plainly.
 * Each value becomes its low `elementSize` bytes (two's complement, so sign-extended negative
 * int8/int16/int32 values come out right). The packed bytes are read 1 MiB at a time.
 */
import { DiffaiError } from '../errors.js';
import type { RandomAccessFile } from './file.js';

const READ_BYTES = 1 << 20;

export interface VarintSource {
  path: string;
  /** Absolute offset and length of the packed varint bytes. */
  offset: number;
  length: number;
  /** Number of values in the packed bytes. */
  count: number;
}

export class VarintStream {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  /** File position of the next byte to load into `buf`. */
  private next: number;
  private readonly end: number;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly source: VarintSource,
    private readonly elementSize: number,
    /** Values to skip first (a range that starts mid-tensor). */
    skip = 0,
  ) {
    this.next = source.offset;
    this.end = source.offset + source.length;
    for (let i = 0; i < skip; i++) this.decode();
  }

  private fail(message: string): never {
    throw new DiffaiError(this.source.path, `packed varints at byte ${this.source.offset}: ${message}`);
  }

  private byte(): number {
    if (this.at === this.buf.length) {
      if (this.next >= this.end) this.fail('the data ends before the tensor does');
      const n = Math.min(READ_BYTES, this.end - this.next);
      this.buf = this.file.read(this.next, n);
      this.next += n;
      this.at = 0;
    }
    return this.buf[this.at++]!;
  }

  /** The next value as [low 32 bits, high 32 bits], both unsigned. */
  private decode(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    return this.fail('a varint is longer than 10 bytes');
  }

  /** Fills `target` with the next `target.length / elementSize` values. */
  async readInto(target: Uint8Array): Promise<void> {
    this.readIntoSync(target);
  }

  readIntoSync(target: Uint8Array): void {
    const size = this.elementSize;
    for (let e = 0; e < target.length; e += size) {
      const [lo, hi] = this.decode();
      for (let k = 0; k < size; k++) target[e + k] = k < 4 ? (lo >>> (8 * k)) & 0xff : (hi >>> (8 * (k - 4))) & 0xff;
    }
  }
}

/**
 * Counts the values in packed varint bytes (each ends with a byte below 0x80) and checks the
 * last one is complete, reading 1 MiB at a time.
 */
export function countVarints(file: RandomAccessFile, offset: number, length: number): number {
  let count = 0;
  let last = 0;
  for (let pos = offset; pos < offset + length; ) {
    const n = Math.min(READ_BYTES, offset + length - pos);
    const chunk = file.read(pos, n);
    for (let i = 0; i < n; i++) if (chunk[i]! < 0x80) count++;
    last = chunk[n - 1]!;
    pos += n;
  }
  if (length > 0 && last >= 0x80) throw new DiffaiError(file.path, `packed varints at byte ${offset}: the last value is cut off`);
  return count;
}
