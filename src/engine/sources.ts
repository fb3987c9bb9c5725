/**
 * Element readers: each yields the bytes of a tensor's elements in logical (C) order, a
 * chunk at a time, into a caller-given buffer (a view of WASM memory). Contiguous file
 * ranges are read in place with positional reads; compressed sources are inflated as a
 * stream; strided views gather from a bounded window of their storage.
 */
import { read } from 'node:fs';
import { InflateStream } from '../io/inflate.js';
import { VarintStream } from '../io/varint.js';
import { ChunkedStream } from '../io/chunked.js';
import { byteLength, dtypeInfo } from '../dtypes.js';
import { DiffaiError } from '../errors.js';
import { RandomAccessFile } from '../io/file.js';
import { isContiguousLayout, storedDtype, type ByteSource, type TensorDescriptor, type TensorView } from '../formats/types.js';

/** Largest storage span a non-contiguous view may gather from memory. */
export const MAX_GATHER_BYTES = 128 * 1024 * 1024; // with the rest of the process, peak RSS stays under 200 MB

export interface ElementReader {
  /** Fills `target` with the next `target.length` bytes of logical elements. */
  read(target: Uint8Array): Promise<void>;
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
      const stream = new ChunkedStream(files.get(src.path), src, (view?.offset ?? 0) + first);
      return { read: async (target) => stream.readIntoSync(target), close: () => {} };
    }
    return inflatedElements(src, start + storageBytes(desc, first));
  }
  return new GatherReader(desc, gatherUnits(desc, view!), files, first);
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
 * Positional reads on libuv's thread pool, so the engine can have the next chunk read into
 * one buffer while the kernels run on the other.
 */
class FileRangeReader implements ElementReader {
  constructor(
    private file: RandomAccessFile,
    private position: number,
  ) {}

  read(target: Uint8Array): Promise<void> {
    const position = this.position;
    this.position += target.length;
    return readAt(this.file, target, position);
  }

  close(): void {}
}

/** Fills `target` from byte `position` of the file with positional reads on libuv's pool. */
export function readAt(file: RandomAccessFile, target: Uint8Array, position: number): Promise<void> {
  if (position + target.length > file.size) {
    return Promise.reject(new DiffaiError(file.path, `truncated: needs bytes ${position}..${position + target.length} but the file has ${file.size}`));
  }
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === target.length) {
        resolve();
        return;
      }
      read(file.descriptor, target, done, target.length - done, position + done, (err, n) => {
        if (err) reject(new DiffaiError(file.path, err.message));
        else if (n === 0) reject(new DiffaiError(file.path, `unexpected end of file at byte ${position + done}`));
        else step(done + n);
      });
    };
    step(0);
  });
}

/** A compressed source's elements, inflated as a stream by the io layer. */
function inflatedElements(source: Extract<ByteSource, { kind: 'deflate' }>, start: number): ElementReader {
  const stream = new InflateStream(source, start);
  return { read: (target) => stream.readInto(target), close: () => stream.close() };
}

/**
 * A non-contiguous view (transpose, strided slice, Fortran order, permuted rows): loads the
 * span of storage the view touches (bounded by MAX_GATHER_BYTES) and walks logical indices,
 * copying each contiguous run of the innermost dimension at once.
 */
class GatherReader implements ElementReader {
  private span: Uint8Array | undefined;
  private base = 0;
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

  private async load(): Promise<Uint8Array> {
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
    if (bytes > MAX_GATHER_BYTES) {
      throw new DiffaiError(
        path,
        `tensor ${this.desc.name}: non-contiguous view over ${bytes} bytes of storage is larger than the ${MAX_GATHER_BYTES}-byte gather limit`,
      );
    }
    this.base = lo;
    const span = new Uint8Array(bytes);
    const source = this.desc.source;
    if (source.kind === 'file') {
      this.files.get(source.path).readInto(span, source.offset + lo * size);
    } else if (source.kind === 'varint') {
      throw new DiffaiError(path, `tensor ${this.desc.name}: a view over packed values is not supported`);
    } else if (source.kind === 'chunked') {
      new ChunkedStream(this.files.get(source.path), source, lo).readIntoSync(span);
    } else {
      const reader = inflatedElements(source, lo * size);
      try {
        await reader.read(span);
      } finally {
        reader.close();
      }
    }
    return span;
  }

  async read(target: Uint8Array): Promise<void> {
    this.span ??= await this.load();
    const span = this.span;
    const { dims, strides, offset, size } = this.units;
    const rank = dims.length;
    const count = target.length / size;
    const last = rank - 1;
    // Units along the innermost dimension with stride 1 are one contiguous run.
    const runs = last >= 0 && strides[last] === 1;
    for (let e = 0; e < count; ) {
      let unit = offset - this.base;
      for (let k = 0; k < rank; k++) unit += this.index[k]! * strides[k]!;
      const run = runs ? Math.min(count - e, dims[last]! - this.index[last]!) : 1;
      if (run === 1) for (let b = 0; b < size; b++) target[e * size + b] = span[unit * size + b]!;
      else target.set(span.subarray(unit * size, (unit + run) * size), e * size);
      e += run;
      // Advance the odometer over logical indices by `run` units (a run never passes its row).
      if (rank === 0) continue;
      this.index[last]! += run;
      for (let k = last; k > 0 && this.index[k]! >= dims[k]!; k--) {
        this.index[k] = 0;
        this.index[k - 1]!++;
      }
    }
  }

  close(): void {
    this.span = undefined;
  }
}
