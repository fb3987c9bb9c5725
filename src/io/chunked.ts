/**
 * An HDF5 chunked dataset read in C order. Chunks tile the array in blocks; the elements of
 * one band of rows (the chunks' height along the first dimension, all columns) are assembled
 * in memory, one chunk at a time through the filters (Fletcher-32 checksum dropped, deflate
 * inflated with an exact output cap, shuffle reversed), then handed out in order. Memory is
 * one band plus one chunk, both capped; missing chunks read as zeros (HDF5's default fill).
 */
import { DiffaiError } from '../errors.js';
import type { ByteSource } from '../formats/types.js';
import type { RandomAccessFile } from './file.js';
import { inflateBytesSync } from './inflate.js';

type ChunkedSource = Extract<ByteSource, { kind: 'chunked' }>;

/** Largest band of rows (and chunk) held at once. */
export const MAX_BAND_BYTES = 96 * 1024 * 1024;

export class ChunkedStream {
  private readonly rowElems: number;
  private readonly bandRows: number;
  private readonly chunkBytes: number;
  /** Index in `source.chunks` of the first chunk of each band. */
  private readonly bandStarts: number[];
  private band = -1;
  private buf = new Uint8Array(0);
  private pos = 0;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly source: ChunkedSource,
    /** Element to start at. */
    first = 0,
  ) {
    const { shape, chunk, elementSize } = source;
    this.rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    this.bandRows = chunk[0]!;
    this.chunkBytes = chunk.reduce((a, b) => a * b, elementSize);
    if (this.chunkBytes > MAX_BAND_BYTES || this.bandRows * this.rowElems * elementSize > MAX_BAND_BYTES) {
      this.fail(`chunks of [${chunk.join(', ')}] need more than ${MAX_BAND_BYTES} bytes in memory at once`);
    }
    const bands = Math.ceil(shape[0]! / this.bandRows);
    this.bandStarts = new Array<number>(bands + 1).fill(source.chunks.length);
    for (let i = source.chunks.length - 1; i >= 0; i--) this.bandStarts[source.chunks[i]!.coords[0]! / this.bandRows] = i;
    for (let b = bands - 1; b >= 0; b--) this.bandStarts[b] = Math.min(this.bandStarts[b]!, this.bandStarts[b + 1]!);
    const perBand = this.bandRows * this.rowElems;
    this.load(Math.floor(first / perBand));
    this.pos = (first % perBand) * elementSize;
  }

  private fail(message: string): never {
    throw new DiffaiError(this.source.path, `HDF5 chunked dataset: ${message}`);
  }

  private load(band: number): void {
    const { shape, elementSize } = this.source;
    const rows = Math.min(this.bandRows, shape[0]! - band * this.bandRows);
    if (rows <= 0) this.fail('read past the end of the dataset');
    this.buf = new Uint8Array(rows * this.rowElems * elementSize);
    for (let i = this.bandStarts[band]!; i < this.bandStarts[band + 1]!; i++) this.scatter(band, this.source.chunks[i]!);
    this.band = band;
    this.pos = 0;
  }

  /** The chunk's full (padded) bytes, unfiltered. */
  private chunkData(c: ChunkedSource['chunks'][number]): Uint8Array {
    if (c.size > MAX_BAND_BYTES) this.fail(`a chunk of ${c.size} bytes is over the ${MAX_BAND_BYTES}-byte limit`);
    let data: Uint8Array = this.file.read(c.offset, c.size);
    const { filters, elementSize } = this.source;
    for (let f = filters.length - 1; f >= 0; f--) {
      if (c.mask & (1 << f)) continue;
      switch (filters[f]) {
        case 'fletcher32':
          if (data.length < 4) this.fail('a chunk too short for its checksum');
          data = data.subarray(0, data.length - 4);
          break;
        case 'deflate':
          data = inflateBytesSync(this.source.path, data, 'zlib', { what: 'HDF5 chunk', maxOutput: this.chunkBytes });
          break;
        case 'shuffle':
          data = unshuffle(data, elementSize);
          break;
      }
    }
    if (data.length !== this.chunkBytes) this.fail(`a chunk holds ${data.length} bytes after its filters, expected ${this.chunkBytes}`);
    return data;
  }

  /** Copies the part of chunk `c` inside the array into the band buffer. */
  private scatter(band: number, c: ChunkedSource['chunks'][number]): void {
    const { shape, chunk, elementSize } = this.source;
    const data = this.chunkData(c);
    const rank = shape.length;
    const strides = new Array<number>(rank);
    for (let d = rank - 1, s = 1; d >= 0; d--) {
      strides[d] = s;
      s *= shape[d]!;
    }
    const last = rank - 1;
    const run = Math.min(chunk[last]!, shape[last]! - c.coords[last]!) * elementSize;
    const extent = c.coords.map((o, d) => Math.min(chunk[d]!, shape[d]! - o));
    const j = new Array<number>(rank).fill(0);
    const rowsBefore = band * this.bandRows;
    for (;;) {
      let src = 0;
      let dst = (c.coords[0]! + j[0]! - rowsBefore) * strides[0]!;
      for (let d = 0; d < rank; d++) {
        src = src * chunk[d]! + j[d]!;
        if (d > 0) dst += (c.coords[d]! + j[d]!) * strides[d]!;
      }
      this.buf.set(data.subarray(src * elementSize, src * elementSize + run), dst * elementSize);
      let d = last - 1;
      for (; d >= 0; d--) {
        if (++j[d]! < extent[d]!) break;
        j[d] = 0;
      }
      if (d < 0) break;
    }
  }

  readIntoSync(target: Uint8Array): void {
    let filled = 0;
    while (filled < target.length) {
      if (this.pos === this.buf.length) this.load(this.band + 1);
      const n = Math.min(target.length - filled, this.buf.length - this.pos);
      target.set(this.buf.subarray(this.pos, this.pos + n), filled);
      this.pos += n;
      filled += n;
    }
  }
}

/** Reverses HDF5's shuffle filter: byte k of every element was stored in plane k. */
function unshuffle(data: Uint8Array, size: number): Uint8Array {
  if (size <= 1) return data;
  const n = Math.floor(data.length / size);
  const out = new Uint8Array(data.length);
  for (let k = 0; k < size; k++) {
    const plane = k * n;
    for (let e = 0; e < n; e++) out[e * size + k] = data[plane + e]!;
  }
  out.set(data.subarray(n * size), n * size); // trailing bytes are stored as they are
  return out;
}
