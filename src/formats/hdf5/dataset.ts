/**
 * An HDF5 dataset → where its elements are: compact (inside the object header) and
 * contiguous layouts are file ranges; chunked layouts (B-tree v1 chunk index, or version 4's
 * single-chunk and implicit indexes) become a `chunked` source that the engine assembles in
 * C order, one band of chunks at a time, through the deflate, shuffle and Fletcher-32
 * filters. Other filters and chunk indexes are refused by name.
 */
import { byteLength } from '../../dtypes.js';
import type { ByteCursor } from '../../io/cursor.js';
import type { ByteSource, ChunkFilter, TensorDescriptor } from '../types.js';
import { type Hdf5File, MAX_BTREE_NODES } from './objects.js';
import { type Hdf5Type, readDataspace, readDatatype } from './types.js';

const FILTER_NAMES: Record<number, string> = {
  1: 'deflate',
  2: 'shuffle',
  3: 'fletcher32',
  4: 'szip',
  5: 'nbit',
  6: 'scaleoffset',
  32000: 'lzf',
  32001: 'blosc',
  32004: 'lz4',
  32015: 'zstd',
};
/** Most chunks of one dataset. */
const MAX_CHUNKS = 4_000_000;

export interface DatasetInfo {
  dims: number[];
  type: Hdf5Type;
}

/** Shape and type of the dataset at `address`, or undefined when the object is not a dataset. */
export function datasetInfo(h: Hdf5File, address: number): DatasetInfo | undefined {
  const space = h.message(address, 0x01, 'dataspace message');
  const dtype = h.message(address, 0x03, 'datatype message');
  if (!space || !dtype) return undefined;
  const dims = readDataspace(h, space);
  return { dims: dims ?? [0], type: readDatatype(h, dtype) };
}

/** The descriptor of a numeric dataset, named `name`. */
export function describeDataset(h: Hdf5File, address: number, name: string, info: DatasetInfo): TensorDescriptor {
  if (info.type.kind !== 'numeric') h.fail(`dataset '${name}' has an unsupported element type`);
  const { dtype, size, byteOrder } = info.type;
  let numel = 1;
  for (const d of info.dims) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) h.fail(`dataset '${name}': element count overflows`);
  }
  const bytes = byteLength(dtype, numel);
  const source =
    numel === 0 ? ({ kind: 'file', path: h.file.path, offset: 0, length: 0 } as ByteSource) : layoutSource(h, address, name, info.dims, size, bytes);
  return { name, dtype, shape: info.dims, numel, source, byteOrder };
}

function layoutSource(h: Hdf5File, address: number, name: string, dims: number[], elementSize: number, bytes: number): ByteSource {
  const c = h.message(address, 0x08, 'data layout message');
  if (!c) h.fail(`dataset '${name}' has no data layout message`);
  const path = h.file.path;
  const version = c.u8('layout version');
  const fileRange = (at: number, length: number): ByteSource => {
    if (length < bytes) h.fail(`dataset '${name}' holds ${length} bytes, but its shape needs ${bytes}`);
    if (at + bytes > h.file.size) h.fail(`dataset '${name}' runs past the end of the file`);
    h.work.add(address, bytes, [{ offset: at, size: bytes }]);
    return { kind: 'file', path, offset: at, length: bytes };
  };
  if (version === 1 || version === 2) {
    const rank = c.u8('dimensionality');
    const cls = c.u8('layout class');
    c.skip(5, 'reserved');
    if (cls === 0) {
      c.skip(rank * 4, 'dimension sizes');
      const size = c.u32('compact data size');
      return fileRange(c.base + c.pos, size);
    }
    const at = h.address(c, 'raw data address');
    if (cls === 1) return fileRange(at, bytes);
    const chunk: number[] = [];
    for (let i = 0; i < rank; i++) chunk.push(c.u32('chunk dimension'));
    return chunkedSource(h, address, name, dims, elementSize, chunk.slice(0, -1), btreeChunks(h, at, rank - 1), filters(h, address));
  }
  if (version === 3 || version === 4) {
    const cls = c.u8('layout class');
    if (version === 4 && cls === 2) return layoutV4(h, c, address, name, dims, elementSize);
    if (cls === 0) {
      const size = c.u16('compact data size');
      return fileRange(c.base + c.pos, size);
    }
    if (cls === 1) {
      const at = h.offset(c, 'raw data address');
      const size = h.length(c, 'raw data size');
      if (at < 0) h.fail(`dataset '${name}' has no data written`);
      return fileRange(h.absolute(at, 'raw data address'), size);
    }
    if (cls === 2) {
      const rank = c.u8('dimensionality');
      const at = h.offset(c, 'chunk index address');
      const chunk: number[] = [];
      for (let i = 0; i < rank; i++) chunk.push(c.u32('chunk dimension'));
      const list = at < 0 ? [] : btreeChunks(h, h.absolute(at, 'chunk index address'), rank - 1);
      return chunkedSource(h, address, name, dims, elementSize, chunk.slice(0, -1), list, filters(h, address));
    }
    c.fail(`layout class ${cls}`);
  }
  return c.fail(`data layout version ${version}`);
}

/** Layout version 4, chunked: a single-chunk or implicit index; the others are refused by name. */
function layoutV4(h: Hdf5File, c: ByteCursor, address: number, name: string, dims: number[], elementSize: number): ByteSource {
  const flags = c.u8('chunked flags');
  const rank = c.u8('dimensionality');
  const enc = c.u8('dimension size encoding');
  const chunk: number[] = [];
  for (let i = 0; i < rank; i++)
    chunk.push(enc === 1 ? c.u8('chunk dimension') : enc === 2 ? c.u16('chunk dimension') : enc === 4 ? c.u32('chunk dimension') : c.u64('chunk dimension'));
  const index = c.u8('chunk index type');
  const shape = chunk.slice(0, -1);
  if (index === 1) {
    let size = -1;
    let mask = 0;
    if (flags & 2) {
      size = h.length(c, 'filtered chunk size');
      mask = c.u32('filter mask');
    }
    const at = h.address(c, 'chunk address');
    const full = shape.reduce((a, b) => a * b, 1) * elementSize;
    return chunkedSource(
      h,
      address,
      name,
      dims,
      elementSize,
      shape,
      [{ coords: shape.map(() => 0), offset: at, size: size < 0 ? full : size, mask }],
      filters(h, address),
    );
  }
  if (index === 2) {
    const at = h.address(c, 'chunk address');
    const per = shape.reduce((a, b) => a * b, 1) * elementSize;
    const grid = dims.map((d, i) => Math.ceil(d / shape[i]!));
    const count = grid.reduce((a, b) => a * b, 1);
    if (count > MAX_CHUNKS) h.fail(`dataset '${name}' has more than ${MAX_CHUNKS} chunks`);
    if (at + count * per > h.file.size) h.fail(`dataset '${name}': its ${count} chunks run past the end of the file`);
    const list: Chunk[] = [];
    const idx = grid.map(() => 0);
    for (let k = 0; k < count; k++) {
      list.push({ coords: idx.map((v, i) => v * shape[i]!), offset: at + k * per, size: per, mask: 0 });
      for (let d = grid.length - 1; d >= 0; d--) {
        if (++idx[d]! < grid[d]!) break;
        idx[d] = 0;
      }
    }
    return chunkedSource(h, address, name, dims, elementSize, shape, list, []);
  }
  const names: Record<number, string> = { 3: 'fixed array', 4: 'extensible array', 5: 'version 2 B-tree' };
  return c.fail(`dataset '${name}': the ${names[index] ?? `type ${index}`} chunk index is not supported (re-save with h5py's default libver)`);
}

interface Chunk {
  coords: number[];
  offset: number;
  size: number;
  mask: number;
}

/** Chunks from a version 1 B-tree of type 1 (keys: size, filter mask, element offsets). */
function btreeChunks(h: Hdf5File, root: number, rank: number): Chunk[] {
  const out: Chunk[] = [];
  const stack = [root];
  const seen = new Set<number>();
  const keySize = 8 + 8 * (rank + 1);
  while (stack.length) {
    const at = stack.pop()!;
    if (seen.has(at)) h.fail(`chunk B-tree node ${at} is reached twice`);
    seen.add(at);
    if (seen.size > MAX_BTREE_NODES) h.fail(`a chunk B-tree has more than ${MAX_BTREE_NODES} nodes`);
    const head = h.cursor(at, 8, 'chunk B-tree node');
    if (head.ascii(4, 'signature') !== 'TREE') head.fail(`chunk B-tree node at byte ${at} without its TREE signature`);
    const type = head.u8('node type');
    if (type !== 1) head.fail(`chunk B-tree node of type ${type}`);
    const level = head.u8('node level');
    const used = head.u16('entries used');
    const c = h.cursor(at + 8, 2 * h.offsetSize + used * (keySize + h.offsetSize) + keySize, 'chunk B-tree node');
    c.skip(2 * h.offsetSize, 'siblings');
    for (let i = 0; i < used; i++) {
      const size = c.u32('chunk size');
      const mask = c.u32('filter mask');
      const coords: number[] = [];
      for (let d = 0; d <= rank; d++) coords.push(c.u64('chunk offset'));
      const child = h.address(c, 'chunk address');
      if (level > 0) stack.push(child);
      else {
        if (out.length >= MAX_CHUNKS) h.fail(`a dataset has more than ${MAX_CHUNKS} chunks`);
        out.push({ coords: coords.slice(0, rank), offset: child, size, mask });
      }
    }
  }
  return out;
}

/** The filter pipeline of a dataset, in the order the filters were applied when writing. */
function filters(h: Hdf5File, address: number): ChunkFilter[] {
  const c = h.message(address, 0x0b, 'filter pipeline message');
  if (!c) return [];
  const version = c.u8('filter pipeline version');
  const count = c.u8('filter count');
  if (version === 1) c.skip(6, 'reserved');
  const out: ChunkFilter[] = [];
  for (let i = 0; i < count; i++) {
    const id = c.u16('filter id');
    const nameLength = version === 1 || id >= 256 ? c.u16('filter name length') : 0;
    c.skip(2, 'filter flags');
    const values = c.u16('client data count');
    if (nameLength) c.skip(version === 1 ? (nameLength + 7) & ~7 : nameLength, 'filter name');
    c.skip(values * 4, 'client data');
    if (version === 1 && values % 2 === 1) c.skip(4, 'padding');
    const name = FILTER_NAMES[id];
    if (name !== 'deflate' && name !== 'shuffle' && name !== 'fletcher32')
      h.fail(`the ${name ?? `filter ${id}`} filter is not supported (deflate, shuffle and fletcher32 are)`);
    out.push(name);
  }
  return out;
}

function chunkedSource(
  h: Hdf5File,
  address: number,
  name: string,
  dims: number[],
  elementSize: number,
  chunk: number[],
  chunks: Chunk[],
  pipeline: ChunkFilter[],
): ByteSource {
  if (dims.length === 0 || chunk.length !== dims.length || chunk.some((d) => !(d >= 1)))
    h.fail(`dataset '${name}' has bad chunk dimensions [${chunk.join(', ')}]`);
  const chunkBytes = chunk.reduce((a, b) => a * b, elementSize);
  for (const k of chunks) {
    if (k.coords.some((o, i) => o % chunk[i]! !== 0 || o >= Math.max(dims[i]!, 1)))
      h.fail(`dataset '${name}' has a chunk at [${k.coords.join(', ')}] off its grid`);
    if (k.offset + k.size > h.file.size) h.fail(`dataset '${name}': a chunk runs past the end of the file`);
    if (pipeline.length === 0 && k.size !== chunkBytes) h.fail(`dataset '${name}': an unfiltered chunk of ${k.size} bytes, expected ${chunkBytes}`);
  }
  // Missing chunks read as zeros and chunks inflate: the file's work budget (Hdf5File.work) bounds both.
  h.work.add(
    address,
    dims.reduce((a, b) => a * b, elementSize),
    chunks,
  );
  chunks.sort((a, b) => {
    for (let i = 0; i < a.coords.length; i++) if (a.coords[i] !== b.coords[i]) return a.coords[i]! - b.coords[i]!;
    return 0;
  });
  for (let i = 1; i < chunks.length; i++)
    if (chunks[i]!.coords.every((v, d) => v === chunks[i - 1]!.coords[d])) h.fail(`dataset '${name}' has two chunks at one position`);
  const length = dims.reduce((a, b) => a * b, elementSize);
  return { kind: 'chunked', path: h.file.path, offset: address, length, shape: dims, chunk, elementSize, filters: pipeline, chunks };
}
