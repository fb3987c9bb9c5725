/**
 * Element readers: each yields the bytes of a tensor's elements in logical (C) order, a
 * chunk at a time, into a caller-given buffer (a view of WASM memory). Contiguous file
 * ranges are read in place with positional reads; compressed sources are inflated as a
 * stream; strided views gather from a bounded window of their storage.
 */
import { InflateStream } from '../io/inflate.js';
import { VarintStream } from '../io/varint.js';
import { ChunkedStream } from '../io/chunked.js';
import { byteLength, dtypeInfo } from '../dtypes.js';
import { DiffaiError } from '../errors.js';
import { LocalFile, RandomAccessFile } from '../io/file.js';
import { contiguousStrides, isContiguousLayout, storedDtype, type ByteSource, type TensorDescriptor, type TensorView } from '../formats/types.js';

/**
 * Largest storage span a non-contiguous view of a compressed source may gather from memory
 * (a stream cannot be read at random; views of files read bounded blocks instead).
 */
export const MAX_GATHER_BYTES = 128 * 1024 * 1024;
/** Logical elements a block of a gathered file view holds, at most (in bytes). */
export const GATHER_BLOCK_BYTES = 8 << 20;
/** Storage bytes one positional read of a gathered file view covers, at most. */
export const GATHER_SPAN_BYTES = 16 << 20;
/** A windowed gather of a non-file source may read this much, or 8× its chunk, per chunk. */
const MIN_WINDOW_BYTES = 16 << 20;

export interface ElementReader {
  /** Fills `target` with the next `target.length` bytes of logical elements. */
  read(target: Uint8Array): Promise<void>;
  /**
   * True when a read takes its place in the stream as it is called, so the next may be
   * issued before it completes (positional reads of a local file); otherwise each read must
   * be awaited before the next (streams, gathers, remote files).
   */
  readonly parallel?: boolean;
  /**
   * Fills `target` with the next bytes at once, on this thread: present where that is a plain
   * positional read of a local file (the engine's inline reads, engine.ts ReadMode).
   */
  readNow?(target: Uint8Array): void;
  close(): void;
}

/** Stored bytes of `elements` elements of the tensor's storage (whole blocks for block-quantized data). */
export function storageBytes(desc: TensorDescriptor, elements: number): number {
  return byteLength(storedDtype(desc), elements);
}

/** The dimensions a view's strides walk: its own `dims`, or the tensor's shape. */
export function viewDims(desc: TensorDescriptor): number[] {
  return desc.view?.dims ?? desc.shape;
}

/** A reader of the tensor's logical elements from element `first` on (whole blocks for block-quantized data). */
export function openElementReader(desc: TensorDescriptor, files: FileCache, first = 0): ElementReader {
  const view = desc.view;
  const src = desc.source;
  if (src.kind === 'varint') {
    const { blockElements, blockBytes } = dtypeInfo(storedDtype(desc));
    if (view || src.count * blockElements !== desc.numel) throw new DiffaiError(src.path, `tensor ${desc.name}: packed values do not match its shape`);
    const stream = new VarintStream(files.get(src.path), src, blockBytes, first / blockElements);
    return { read: (target) => stream.readInto(target), close: () => {} };
  }
  if (isDense(desc)) {
    const start = storageBytes(desc, view?.offset ?? 0);
    const length = storageBytes(desc, desc.numel);
    if (start + length > src.length) {
      throw new DiffaiError(src.path, `tensor ${desc.name}: elements run past the end of its storage`);
    }
    if (src.kind === 'file') return new FileRangeReader(files.get(src.path), src.offset + start + storageBytes(desc, first));
    if (src.kind === 'chunked') {
      // Opened on the first read, so that its errors arrive as the read's rejection.
      let stream: ChunkedStream | undefined;
      return {
        read: async (target) => {
          stream ??= new ChunkedStream(files.get(src.path), src, (view?.offset ?? 0) + first);
          stream.readIntoSync(target);
        },
        close: () => {},
      };
    }
    return inflatedElements(files.get(src.path), src, start + storageBytes(desc, first));
  }
  const units = gatherUnits(desc, view!);
  if (src.kind === 'file') return new BlockGatherReader(desc, units, files.get(src.path), first);
  return new GatherReader(desc, units, files, first);
}

/** True when the logical elements lie one after another in storage (no gathering needed). */
export function isDense(desc: TensorDescriptor): boolean {
  return !desc.view || isContiguousLayout(viewDims(desc), desc.view.strides);
}

/**
 * What a gather moves: elements, or for block-quantized data whole blocks. A block view's
 * innermost dimension must run contiguously over whole blocks (rows permuted, never split).
 */
interface GatherUnits {
  /** Bytes per unit. */
  size: number;
  /** Elements per unit. */
  elements: number;
  dims: number[];
  strides: number[];
  offset: number;
}

function gatherUnits(desc: TensorDescriptor, view: TensorView): GatherUnits {
  const { blockElements: b, blockBytes } = dtypeInfo(storedDtype(desc));
  const dims = viewDims(desc);
  if (b === 1) return { size: blockBytes, elements: 1, dims, strides: view.strides, offset: view.offset };
  const last = dims.length - 1;
  const whole =
    last >= 0 && view.strides[last] === 1 && dims[last]! % b === 0 && view.offset % b === 0 && view.strides.every((s, k) => k === last || s % b === 0);
  if (!whole) throw new DiffaiError(desc.source.path, `tensor ${desc.name}: a view of ${storedDtype(desc)} data must keep its ${b}-element blocks whole`);
  return {
    size: blockBytes,
    elements: b,
    dims: dims.map((d, k) => (k === last ? d / b : d)),
    strides: view.strides.map((s, k) => (k === last ? 1 : s / b)),
    offset: view.offset / b,
  };
}

/** Keeps one open handle per path for the life of a diff. */
export class FileCache {
  private files = new Map<string, RandomAccessFile>();
  get(path: string): RandomAccessFile {
    let file = this.files.get(path);
    if (!file) {
      file = RandomAccessFile.open(path);
      this.files.set(path, file);
    }
    return file;
  }
  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}

/**
 * Positional reads on libuv's thread pool, so the engine can have the next chunks read into
 * their slots while the kernels run on another.
 */
class FileRangeReader implements ElementReader {
  readonly parallel: boolean;
  readonly readNow?: (target: Uint8Array) => void;

  constructor(
    private file: RandomAccessFile,
    private position: number,
  ) {
    this.parallel = file instanceof LocalFile; // positional reads: several may be under way at once
    if (readsInline(file)) {
      this.readNow = (target) => {
        const position = this.position;
        this.position += target.length;
        file.readInto(target, position);
      };
    }
  }

  read(target: Uint8Array): Promise<void> {
    const position = this.position;
    this.position += target.length;
    return readAt(this.file, target, position);
  }

  close(): void {}
}

/** Fills `target` from byte `position` of the file without blocking (libuv's pool, or HTTP range streams). */
export function readAt(file: RandomAccessFile, target: Uint8Array, position: number): Promise<void> {
  return file.readAt(target, position);
}

/** True when `file` is read inline by positional reads on this thread (a local file; remote ones stream). */
export function readsInline(file: RandomAccessFile): file is LocalFile {
  return file instanceof LocalFile;
}

/** A compressed source's elements, inflated as a stream by the io layer. */
function inflatedElements(file: RandomAccessFile, source: Extract<ByteSource, { kind: 'deflate' }>, start: number): ElementReader {
  const stream = new InflateStream(file, source, start);
  return { read: (target) => stream.readInto(target), close: () => stream.close() };
}

/**
 * A non-contiguous view of a compressed or chunked source (transpose, strided slice,
 * Fortran order, permuted rows): loads the span of storage the view touches (bounded by
 * MAX_GATHER_BYTES) and walks logical indices, copying each contiguous run of the innermost
 * dimension at once.
 */
class GatherReader implements ElementReader {
  private span: Uint8Array | undefined;
  /** Storage unit at span[0]. */
  private base = 0;
  /** Views over more than MAX_GATHER_BYTES of a file: each read loads only the window it touches. */
  private windowed = false;
  private index: number[];

  constructor(
    private desc: TensorDescriptor,
    private units: GatherUnits,
    private files: FileCache,
    first: number,
  ) {
    // The index of unit `first / elements`, in C order over the view's dims.
    const dims = units.dims;
    this.index = dims.map(() => 0);
    for (let k = dims.length - 1, rest = first / units.elements; k >= 0; k--) {
      const dim = dims[k]!;
      this.index[k] = dim > 0 ? rest % dim : 0;
      rest = dim > 0 ? Math.floor(rest / dim) : 0;
    }
  }

  private tooLarge(bytes: number, what: string): DiffaiError {
    return new DiffaiError(
      this.desc.source.path,
      `tensor ${this.desc.name}: non-contiguous view over ${bytes} bytes of storage${what} is larger than the ${MAX_GATHER_BYTES}-byte gather limit`,
    );
  }

  private async load(): Promise<Uint8Array | undefined> {
    const { dims, strides, offset, size } = this.units;
    let lo = offset;
    let hi = offset;
    for (let k = 0; k < dims.length; k++) {
      if (dims[k] === 0) continue;
      const reach = (dims[k]! - 1) * strides[k]!;
      if (reach < 0) lo += reach;
      else hi += reach;
    }
    const path = this.desc.source.path;
    if (lo < 0 || (hi + 1) * size > this.desc.source.length) {
      throw new DiffaiError(path, `tensor ${this.desc.name}: view reaches outside its storage`);
    }
    const bytes = (hi - lo + 1) * size;
    const source = this.desc.source;
    if (bytes > MAX_GATHER_BYTES) {
      // A file can be read where each chunk needs it (a row permutation touches a few rows).
      if (source.kind === 'file') {
        this.windowed = true;
        return undefined;
      }
      throw this.tooLarge(bytes, '');
    }
    this.base = lo;
    const span = new Uint8Array(bytes);
    if (source.kind === 'file') {
      this.files.get(source.path).readInto(span, source.offset + lo * size);
    } else if (source.kind === 'varint') {
      throw new DiffaiError(path, `tensor ${this.desc.name}: a view over packed values is not supported`);
    } else if (source.kind === 'chunked') {
      new ChunkedStream(this.files.get(source.path), source, lo).readIntoSync(span);
    } else {
      const reader = inflatedElements(this.files.get(source.path), source, lo * size);
      try {
        await reader.read(span);
      } finally {
        reader.close();
      }
    }
    return span;
  }

  /**
   * Walks `count` logical units from `index` (advancing it): `visit(e, unit, run)` for each run
   * of `run` units stored one after another from storage unit `unit`, logical position `e`.
   */
  private walk(index: number[], count: number, visit: (e: number, unit: number, run: number) => void): void {
    const { dims, strides, offset } = this.units;
    const rank = dims.length;
    const last = rank - 1;
    // Units along the innermost dimension with stride 1 are one contiguous run.
    const runs = last >= 0 && strides[last] === 1;
    for (let e = 0; e < count; ) {
      let unit = offset;
      for (let k = 0; k < rank; k++) unit += index[k]! * strides[k]!;
      const run = runs ? Math.min(count - e, dims[last]! - index[last]!) : 1;
      visit(e, unit, run);
      e += run;
      // Advance the odometer over logical indices by `run` units (a run never passes its row).
      if (rank === 0) continue;
      index[last]! += run;
      for (let k = last; k > 0 && index[k]! >= dims[k]!; k--) {
        index[k] = 0;
        index[k - 1]!++;
      }
    }
  }

  /** Windowed mode: reads the storage the next `count` units touch (bounded by MAX_GATHER_BYTES). */
  private loadWindow(count: number): void {
    let lo = Infinity;
    let hi = -Infinity;
    this.walk([...this.index], count, (_e, unit, run) => {
      lo = Math.min(lo, unit);
      hi = Math.max(hi, unit + run - 1);
    });
    const size = this.units.size;
    const bytes = (hi - lo + 1) * size;
    // Each chunk reads its window: a window far larger than the chunk (a transpose) would read
    // the storage over and over, so such views stay refused.
    if (bytes > Math.min(MAX_GATHER_BYTES, Math.max(MIN_WINDOW_BYTES, 8 * count * size))) throw this.tooLarge(bytes, ' for one chunk');
    if (!this.span || this.span.length < bytes) this.span = new Uint8Array(bytes);
    const source = this.desc.source as Extract<ByteSource, { kind: 'file' }>;
    this.files.get(source.path).readInto(this.span.subarray(0, bytes), source.offset + lo * size);
    this.base = lo;
  }

  async read(target: Uint8Array): Promise<void> {
    const size = this.units.size;
    const count = target.length / size;
    if (!this.span && !this.windowed) this.span = await this.load();
    if (this.windowed) this.loadWindow(count);
    const span = this.span!;
    const base = this.base;
    this.walk(this.index, count, (e, unit, run) => {
      const from = (unit - base) * size;
      if (run === 1) for (let b = 0; b < size; b++) target[e * size + b] = span[from + b]!;
      else target.set(span.subarray(from, from + run * size), e * size);
    });
  }

  close(): void {
    this.span = undefined;
  }
}

/** Storage element range [lo, hi] a view (offset, shape, strides) touches. */
function viewSpan(offset: number, shape: number[], strides: number[]): [number, number] {
  let lo = offset;
  let hi = offset;
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 0) continue;
    const reach = (shape[k]! - 1) * strides[k]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  return [lo, hi];
}

/**
 * A non-contiguous view of a file (transpose against a dense tensor, strided slice, any
 * permutation): logical elements are produced a block at a time, with bounded memory
 * whatever the storage size. A block fixes the leading dimensions, takes a tile of one
 * dimension and all of the dimensions after it, so its elements are consecutive in logical
 * order; it is read in one positional read when its storage span is small, else as runs
 * along its smallest-stride dimension (a transposed matrix: one short run per column).
 * Working set: one block (GATHER_BLOCK_BYTES) and one read (GATHER_SPAN_BYTES).
 */
class BlockGatherReader implements ElementReader {
  /** The tiled dimension; dimensions after it are whole in every block. */
  private readonly k: number;
  private readonly tile: number;
  private readonly inner: number;
  /** Next block: indices of dimensions before k, and the tile's start in dimension k. */
  private readonly prefix: number[];
  private tileStart = 0;
  private block = new Uint8Array(0);
  private blockLength = 0;
  private blockPos = 0;
  private scratch: Uint8Array | undefined;
  /** Elements of the first block to drop (a reader started at an element inside it). */
  private pendingSkip = 0;

  private readonly shape: number[];
  private readonly strides: number[];
  private readonly size: number;

  /** `units`: the view in storage units (elements, or whole blocks of block-quantized data). */
  constructor(
    private readonly desc: TensorDescriptor,
    private readonly units: GatherUnits,
    private readonly file: RandomAccessFile,
    first: number,
  ) {
    const shape = units.dims;
    const size = units.size;
    this.shape = shape;
    this.strides = units.strides;
    this.size = size;
    const [lo, hi] = viewSpan(units.offset, shape, units.strides);
    if (desc.numel > 0 && (lo < 0 || (hi + 1) * size > desc.source.length)) {
      throw new DiffaiError(desc.source.path, `tensor ${desc.name}: view reaches outside its storage`);
    }
    const maxElements = Math.max(1, Math.floor(GATHER_BLOCK_BYTES / size));
    // The outermost dimension whose trailing dimensions fit in one block.
    let k = shape.length - 1;
    let inner = 1;
    while (k > 0 && inner * shape[k]! <= maxElements) inner *= shape[k--]!;
    if (shape.length === 0) k = -1;
    this.k = k;
    this.inner = inner;
    this.tile = k < 0 ? 1 : Math.max(1, Math.min(shape[k]!, Math.floor(maxElements / inner)));
    this.prefix = shape.slice(0, Math.max(0, k)).map(() => 0);
    this.skip(first / units.elements);
  }

  /** Positions the block cursor at logical element `first`. */
  private skip(first: number): void {
    if (first === 0 || this.k < 0) {
      this.pendingSkip = first;
      return;
    }
    const dimK = this.shape[this.k]!;
    const perPrefix = dimK * this.inner;
    let rest = Math.floor(first / perPrefix);
    for (let d = this.prefix.length - 1; d >= 0; d--) {
      const n = this.shape[d]!;
      this.prefix[d] = rest % n;
      rest = Math.floor(rest / n);
    }
    const within = first % perPrefix;
    this.tileStart = Math.floor(within / (this.tile * this.inner)) * this.tile;
    this.pendingSkip = within - this.tileStart * this.inner;
  }

  async read(target: Uint8Array): Promise<void> {
    let done = 0;
    while (done < target.length) {
      if (this.blockPos === this.blockLength) {
        this.loadBlock();
        if (this.pendingSkip > 0) {
          this.blockPos = this.pendingSkip * this.size;
          this.pendingSkip = 0;
        }
      }
      const n = Math.min(target.length - done, this.blockLength - this.blockPos);
      target.set(this.block.subarray(this.blockPos, this.blockPos + n), done);
      this.blockPos += n;
      done += n;
    }
  }

  /** Reads the block at the cursor and advances the cursor. */
  private loadBlock(): void {
    const { shape, strides } = this;
    const k = this.k;
    let offset = this.units.offset;
    for (let d = 0; d < this.prefix.length; d++) offset += this.prefix[d]! * strides[d]!;
    let subShape: number[];
    let subStrides: number[];
    if (k < 0) {
      subShape = [];
      subStrides = [];
    } else {
      const length = Math.min(this.tile, shape[k]! - this.tileStart);
      offset += this.tileStart * strides[k]!;
      subShape = [length, ...shape.slice(k + 1)];
      subStrides = strides.slice(k);
      // Advance: next tile, or the next prefix (an odometer over the leading dimensions).
      this.tileStart += length;
      if (this.tileStart >= shape[k]!) {
        this.tileStart = 0;
        for (let d = this.prefix.length - 1; d >= 0; d--) {
          if (++this.prefix[d]! < shape[d]!) break;
          this.prefix[d] = 0;
        }
      }
    }
    const count = subShape.reduce((a, b) => a * b, 1);
    const bytes = count * this.size;
    if (this.block.length < bytes) this.block = new Uint8Array(bytes);
    this.blockLength = bytes;
    this.blockPos = 0;
    this.gather(offset, subShape, subStrides);
  }

  private scratchOf(bytes: number): Uint8Array {
    if (!this.scratch || this.scratch.length < bytes) this.scratch = new Uint8Array(Math.min(GATHER_SPAN_BYTES, Math.max(bytes, 1 << 16)));
    return this.scratch.subarray(0, bytes);
  }

  /** Fills the block with the sub-view's elements in C order. */
  private gather(offset: number, shape: number[], strides: number[]): void {
    const size = this.size;
    const base = this.desc.source.offset;
    const [lo, hi] = viewSpan(offset, shape, strides);
    if ((hi - lo + 1) * size <= GATHER_SPAN_BYTES) {
      // One read of the whole span, then a walk over logical indices.
      const span = this.scratchOf((hi - lo + 1) * size);
      this.file.readInto(span, base + lo * size);
      walk(shape, strides, contiguousStrides(shape), offset - lo, (at, e) => copyElement(span, at * size, this.block, e * size, size));
      return;
    }
    // Runs along the smallest-stride dimension r, one per index of the other dimensions.
    let r = 0;
    for (let d = 1; d < shape.length; d++) if (Math.abs(strides[d]!) < Math.abs(strides[r]!) || shape[r] === 1) r = d;
    const runLength = shape[r]!;
    const runStride = strides[r]!;
    const logical = contiguousStrides(shape);
    const others = shape.map((n, d) => (d === r ? 1 : n));
    const perRead = Math.max(1, Math.floor(GATHER_SPAN_BYTES / size / Math.max(1, Math.abs(runStride))));
    walk(others, strides, logical, offset, (runStart, e) => {
      for (let j0 = 0; j0 < runLength; j0 += perRead) {
        const n = Math.min(perRead, runLength - j0);
        const first = runStart + j0 * runStride;
        const [from, to] = runStride >= 0 ? [first, first + (n - 1) * runStride] : [first + (n - 1) * runStride, first];
        const span = this.scratchOf((to - from + 1) * size);
        this.file.readInto(span, base + from * size);
        for (let j = 0; j < n; j++) copyElement(span, (first + j * runStride - from) * size, this.block, (e + (j0 + j) * logical[r]!) * size, size);
      }
    });
  }

  close(): void {
    this.block = new Uint8Array(0);
    this.scratch = undefined;
  }
}

/**
 * Calls visit(storage element, logical position) for every index of shape, in C order;
 * `cStrides` give the logical distance of a step in each dimension.
 */
function walk(shape: number[], strides: number[], cStrides: number[], offset: number, visit: (at: number, logical: number) => void): void {
  const rank = shape.length;
  const total = shape.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  let logical = 0;
  for (let e = 0; e < total; e++) {
    visit(at, logical);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        at += strides[d]!;
        logical += cStrides[d]!;
        break;
      }
      at -= (shape[d]! - 1) * strides[d]!;
      logical -= (shape[d]! - 1) * cStrides[d]!;
      index[d] = 0;
    }
  }
}

function copyElement(from: Uint8Array, at: number, to: Uint8Array, dest: number, size: number): void {
  for (let b = 0; b < size; b++) to[dest + b] = from[at + b]!;
}
