/**
 * What a format reader returns: a description of the tensors in a file and where their
 * bytes are. Readers never compute statistics and never read tensor data; the engine does.
 */
import { byteLength, type DType } from '../dtypes.js';

/** Where the bytes of a tensor's storage are. */
export type ByteSource =
  /** `length` bytes at absolute `offset` of the file at `path`, read in place. */
  | { kind: 'file'; path: string; offset: number; length: number }
  /**
   * A compressed stream at absolute `offset` of `path` (`compressedLength` bytes). When
   * inflated it yields at least `skip + length` bytes; the storage is the `length` bytes
   * after the first `skip`. `format` is 'raw' for zip DEFLATE entries, 'zlib' for zlib-wrapped.
   */
  | {
      kind: 'deflate';
      path: string;
      offset: number;
      compressedLength: number;
      format: 'raw' | 'zlib';
      skip: number;
      length: number;
    }
  /**
   * Protocol-buffers packed varints (`length` bytes at `offset`, `count` values), each value
   * standing for one storage block — an element, or a byte of packed 4-bit elements — as its
   * low bytes (ONNX `int32_data`, TensorFlow `int_val`).
   */
  | { kind: 'varint'; path: string; offset: number; length: number; count: number }
  /**
   * An HDF5 chunked dataset: `chunks` (each `size` bytes at absolute `offset`, at element
   * coordinates `coords`, filtered by `filters` except those whose bit is set in `mask`) tile
   * an array of `shape` in blocks of `chunk` elements. Missing chunks read as zeros.
   * `offset` is the dataset's object header (it identifies the storage), `length` the bytes
   * of the whole array.
   */
  | {
      kind: 'chunked';
      path: string;
      offset: number;
      length: number;
      shape: number[];
      chunk: number[];
      elementSize: number;
      filters: ChunkFilter[];
      chunks: Array<{ coords: number[]; offset: number; size: number; mask: number }>;
    };

/** HDF5 filters diffai reverses, in the order they were applied when writing. */
export type ChunkFilter = 'deflate' | 'shuffle' | 'fletcher32';

/**
 * A view of a storage: the logical tensor's element (i0, i1, …) is the storage element
 * `offset + Σ ik·strides[k]` (counted in elements, as torch does). Absent means
 * C-contiguous from storage element 0.
 */
export interface TensorView {
  offset: number;
  /** One stride per dimension of `dims` (or of the shape when `dims` is absent). */
  strides: number[];
  /**
   * The index space the strides walk, when it is finer than the shape: the logical
   * elements in C order are those of `dims` in C order (product = numel). Undoing a row
   * permutation (GGUF's Q/K rows: [heads, 2, half, cols] walked as [heads, half, 2, cols])
   * needs more dimensions than the tensor's shape has.
   */
  dims?: number[];
}

/** Strides (in elements) of a C-contiguous tensor of this shape. */
export function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k]!;
  }
  return strides;
}

/** Strides (in elements) of a column-major (Fortran-order: NumPy `fortran_order`, MATLAB) tensor of this shape. */
export function fortranStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = 0; k < shape.length; k++) {
    strides[k] = s;
    s *= shape[k]!;
  }
  return strides;
}

/** The view of a column-major tensor of this shape; undefined when that layout is also C order (at most one dimension > 1). */
export function fortranView(shape: number[]): TensorView | undefined {
  if (shape.filter((d) => d > 1).length <= 1) return undefined;
  return { offset: 0, strides: fortranStrides(shape) };
}

/** The linear element offset of index `idx` under `strides`. */
export function stridedOffset(idx: number[], strides: number[]): number {
  let off = 0;
  for (let k = 0; k < idx.length; k++) off += idx[k]! * strides[k]!;
  return off;
}

/** True when these strides lay the shape out C-contiguously (size-1 dimensions may have any stride). */
export function isContiguousLayout(shape: number[], strides: number[]): boolean {
  const c = contiguousStrides(shape);
  return shape.every((d, k) => d === 1 || strides[k] === c[k]);
}

export interface TensorDescriptor {
  /** Dotted path of the tensor (`fc1.weight`, `optimizer_state_dict.state.0.exp_avg`). */
  name: string;
  dtype: DType;
  /**
   * The element type in the file when it differs from `dtype` (MATLAB writes integer-valued
   * doubles as u8/i16 …): the engine reads `storedAs` and the values are `dtype`'s.
   */
  storedAs?: DType;
  shape: number[];
  /** Product of shape (1 for 0-d tensors). */
  numel: number;
  source: ByteSource;
  /** Byte order of the stored elements; 'little' for nearly everything. */
  byteOrder: 'little' | 'big';
  view?: TensorView;
  /**
   * Optional affine dequantization for quantized tensors (torch qint8 etc.):
   * real = (stored - zeroPoint) * scale. Statistics are over the real values.
   */
  quantization?: { scheme: string; scale: number; zeroPoint: number };
  /**
   * Planar complex tensors (MATLAB v5 keeps the parts apart): `source` holds the real parts
   * and this the imaginary parts, each as elements of the dtype's real part.
   */
  imagSource?: ByteSource;
  /**
   * A quantized stand-in's float counterpart, when the file says so (ONNX DequantizeLinear):
   * the model view gives it the `quantized` role linked to this name.
   */
  linkedTo?: string;
  /** Free-form facts a reader wants `inspect` to show (e.g. `quantized: qint8`). */
  notes?: string[];
}

/** The element type as stored in the file. */
export function storedDtype(desc: Pick<TensorDescriptor, 'dtype' | 'storedAs'>): DType {
  return desc.storedAs ?? desc.dtype;
}

/** The bytes the file holds for the tensor's elements (by its stored dtype). */
export function storedByteLength(desc: Pick<TensorDescriptor, 'dtype' | 'storedAs' | 'numel'>): number {
  return byteLength(storedDtype(desc), desc.numel);
}

/**
 * Bytes the engine reads for a tensor: a view that repeats its storage (a broadcast) reads no
 * more than the storage holds.
 */
export function readByteLength(desc: TensorDescriptor): number {
  return desc.view ? Math.min(storedByteLength(desc), desc.source.length) : storedByteLength(desc);
}

/** A non-tensor value in a file (metadata, epoch, loss, lr, args fields …). JSON-like. */
export type LeafValue = null | boolean | number | string | LeafValue[] | { [key: string]: LeafValue };

export type FormatName = 'safetensors' | 'pytorch' | 'numpy' | 'npz' | 'matlab' | 'gguf' | 'hdf5' | 'onnx' | 'tensorflow' | 'sharded';

export interface ModelDescription {
  path: string;
  format: FormatName;
  tensors: TensorDescriptor[];
  /** Non-tensor leaves by dotted path; compared as Added/Removed/Modified. */
  leaves: Record<string, LeafValue>;
  /** Problems that did not stop reading (skipped entries, index inconsistencies). */
  warnings: string[];
  /** Names changed by key remapping (diff/rename.ts): mapped name → name in the file. */
  originalNames?: Map<string, string>;
  /** Classes outside the allow-list that a pickle instantiates (torch.load(weights_only=False) would import them). */
  unlistedClasses?: string[];
}

/** A format reader: sniff by magic bytes, then describe. */
export interface FormatReader {
  name: FormatName;
  /** True when `head` (the first up-to-64 bytes of the file) looks like this format. */
  sniff(head: Uint8Array, path: string): boolean;
  /** Describe the file; throw DiffaiError(path, …) for anything malformed. */
  describe(path: string): Promise<ModelDescription>;
}
