/**
 * Tensor descriptors column-wise. A file of a million small tensors described as a million
 * objects (descriptor, byte source, shape) costs ~180 bytes a tensor before anything is
 * compared; as columns it costs its name and ~30 bytes. Readers of plain files (every tensor
 * a dense little-endian byte range of one file: safetensors) fill a TensorTable; the model
 * view, the differ and inspect walk rows through TensorColumns and build a TensorDescriptor
 * only for the rows they hand to the engine or show, a window at a time.
 */
import { DTYPES, dtypeInfo, type DType } from '../dtypes.js';
import { readByteLength, type ModelDescription, type TensorDescriptor } from './types.js';

/** What the model view asks of a row to decide its role (a descriptor has all of it). */
export type RowFacts = Pick<TensorDescriptor, 'name' | 'dtype' | 'storedAs' | 'shape' | 'numel' | 'linkedTo' | 'quantization'>;

/** The tensors of a description by row: a TensorTable, or an adapter over a descriptor list. */
export interface TensorColumns {
  readonly count: number;
  /** True when the non-empty rows start at strictly ascending offsets of one file, so no two share storage. */
  readonly ascending?: boolean;
  name(i: number): string;
  numel(i: number): number;
  shape(i: number): number[];
  dtype(i: number): DType;
  /** Bytes the engine reads for row i (readByteLength of its descriptor). */
  readBytes(i: number): number;
  /** Name, dtype, shape, numel (and links) of row i, without building its byte source. */
  facts(i: number): RowFacts;
  /** The full descriptor of row i (built on demand from columns). */
  descriptor(i: number): TensorDescriptor;
}

const DTYPE_CODE = new Map<DType, number>(DTYPES.map((d, i) => [d, i]));

/** Distinct shapes kept once each (files of many tensors repeat a few shapes); beyond this, one array per row. */
const MAX_SHARED_SHAPES = 4096;

/** Bytes of `numel` elements of a dtype of one element per block; NaN for block-quantized dtypes (their lengths are kept per row). */
function plainLength(dtype: DType, numel: number): number {
  const { blockElements, blockBytes } = dtypeInfo(dtype);
  return blockElements === 1 ? numel * blockBytes : Number.NaN;
}

/** Dense little-endian tensors stored as byte ranges of one file, column-wise; filled by `add`. */
export class TensorTable implements TensorColumns {
  count = 0;
  ascending = true;
  private lastStart = -1;
  /** Row names, in row order (read-only to callers). */
  readonly names: string[] = [];
  private dtypes = new Uint8Array(64);
  private shapeIds = new Uint32Array(64);
  private numels = new Float64Array(64);
  private offsets = new Float64Array(64);
  /**
   * Byte lengths that differ from numel × element size, by row: none for a valid
   * safetensors file (its reader checks each size), so a length costs no column.
   */
  private oddLengths = new Map<number, number>();
  /** Shapes by id: the first MAX_SHARED_SHAPES distinct ones shared (frozen), then one per row. */
  private shapes: number[][] = [];
  private shapeIndex = new Map<string, number>();

  constructor(readonly path: string) {}

  /** Appends a tensor of `numel` elements whose bytes are [offset, offset + length) of the file. */
  add(name: string, dtype: DType, shape: number[], numel: number, offset: number, length: number): void {
    const i = this.count;
    if (i === this.dtypes.length) this.grow();
    this.names.push(name);
    this.dtypes[i] = DTYPE_CODE.get(dtype)!;
    this.shapeIds[i] = this.shapeId(shape);
    this.numels[i] = numel;
    this.offsets[i] = offset;
    if (length !== plainLength(dtype, numel)) this.oddLengths.set(i, length);
    this.count = i + 1;
    if (numel > 0) {
      this.ascending &&= offset > this.lastStart;
      this.lastStart = offset;
    }
  }

  name(i: number): string {
    return this.names[i]!;
  }
  dtype(i: number): DType {
    return DTYPES[this.dtypes[i]!]!;
  }
  shape(i: number): number[] {
    return this.shapes[this.shapeIds[i]!]!;
  }
  numel(i: number): number {
    return this.numels[i]!;
  }
  /** Absolute byte offset of row i's elements in the file. */
  offset(i: number): number {
    return this.offsets[i]!;
  }
  /** Bytes of row i's elements. */
  length(i: number): number {
    const odd = this.oddLengths.size === 0 ? undefined : this.oddLengths.get(i);
    return odd ?? plainLength(this.dtype(i), this.numels[i]!);
  }

  readBytes(i: number): number {
    return this.length(i);
  }

  facts(i: number): RowFacts {
    return { name: this.names[i]!, dtype: this.dtype(i), shape: this.shape(i), numel: this.numels[i]! };
  }

  descriptor(i: number): TensorDescriptor {
    return {
      name: this.names[i]!,
      dtype: this.dtype(i),
      shape: this.shape(i),
      numel: this.numels[i]!,
      byteOrder: 'little',
      source: { kind: 'file', path: this.path, offset: this.offsets[i]!, length: this.length(i) },
    };
  }

  /** Every row as a descriptor (what `ModelDescription.tensors` holds once someone asks for the list). */
  descriptors(): TensorDescriptor[] {
    return Array.from({ length: this.count }, (_, i) => this.descriptor(i));
  }

  private shapeId(shape: number[]): number {
    const key = shape.length <= 8 ? shape.join(',') : undefined;
    const known = key === undefined ? undefined : this.shapeIndex.get(key);
    if (known !== undefined) return known;
    const id = this.shapes.length;
    this.shapes.push(Object.freeze(shape) as number[]);
    if (key !== undefined && this.shapeIndex.size < MAX_SHARED_SHAPES) this.shapeIndex.set(key, id);
    return id;
  }

  private grow(): void {
    const n = this.dtypes.length * 2;
    const more = <T extends Uint8Array | Uint32Array | Float64Array>(old: T, make: new (n: number) => T): T => {
      const out = new make(n);
      out.set(old);
      return out;
    };
    this.dtypes = more(this.dtypes, Uint8Array);
    this.shapeIds = more(this.shapeIds, Uint32Array);
    this.numels = more(this.numels, Float64Array);
    this.offsets = more(this.offsets, Float64Array);
  }
}

/** A descriptor list seen as columns. */
class ListColumns implements TensorColumns {
  constructor(private readonly list: TensorDescriptor[]) {}
  get count(): number {
    return this.list.length;
  }
  name(i: number): string {
    return this.list[i]!.name;
  }
  numel(i: number): number {
    return this.list[i]!.numel;
  }
  shape(i: number): number[] {
    return this.list[i]!.shape;
  }
  dtype(i: number): DType {
    return this.list[i]!.dtype;
  }
  readBytes(i: number): number {
    return readByteLength(this.list[i]!);
  }
  facts(i: number): RowFacts {
    return this.list[i]!;
  }
  descriptor(i: number): TensorDescriptor {
    return this.list[i]!;
  }
}

const TABLES = new WeakMap<ModelDescription, TensorTable>();

/**
 * A description whose tensors are `table`: `tensors` is built from it the first time someone
 * reads it (library users, analyses), while the view, the differ and inspect read the
 * columns. A copy made by spreading (`{ ...desc, tensors }`) is an ordinary description.
 */
export function tableDescription(base: Omit<ModelDescription, 'tensors'>, table: TensorTable): ModelDescription {
  let list: TensorDescriptor[] | undefined;
  const desc = Object.defineProperty({ ...base }, 'tensors', {
    enumerable: true,
    configurable: true,
    get: () => (list ??= table.descriptors()),
    set: (value: TensorDescriptor[]) => {
      list = value;
      TABLES.delete(desc); // the list replaces the table
    },
  }) as ModelDescription;
  TABLES.set(desc, table);
  return desc;
}

/** The tensors of `desc` by row (its table when a reader kept one, else its list). */
export function tensorColumns(desc: ModelDescription): TensorColumns {
  return TABLES.get(desc) ?? new ListColumns(desc.tensors);
}

/** Names of the tensors of `desc` (without building descriptors; a table's own list, not to be changed). */
export function tensorNames(desc: ModelDescription): readonly string[] {
  const table = TABLES.get(desc);
  return table ? table.names : desc.tensors.map((t) => t.name);
}
