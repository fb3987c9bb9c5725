/**
 * Tensor descriptors column-wise. A file of a million small tensors described as a million
 * objects (descriptor, byte source, shape) costs ~180 bytes a tensor before anything is
 * compared; as columns it costs its name and ~30 bytes. Readers of plain files (every tensor
 * a dense little-endian byte range of one file: safetensors) fill a TensorTable; the model
 * view, the differ and inspect walk rows through TensorColumns and build a TensorDescriptor
 * only for the rows they hand to the engine or show, a window at a time.
 */
import { DTYPES, dtypeInfo, type DType } from '../dtypes.js';
import { NameTable } from './name-table.js';
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
  /** True when the names are in strictly ascending natural order (compareNames), if the columns know it cheaply. */
  inNaturalOrder?(): boolean;
  /** The (last) row named `name`, or -1 (an index built on first use). */
  indexOf(name: string): number;
  /** name(i).endsWith(suffix) for an ASCII suffix (a table answers from its bytes). */
  nameEndsWith(i: number, suffix: string): boolean;
  /** Name, dtype, shape, numel (and links) of row i, without building its byte source. */
  facts(i: number): RowFacts;
  /** The full descriptor of row i (built on demand from columns). */
  descriptor(i: number): TensorDescriptor;
}

const DTYPE_CODE = new Map<DType, number>(DTYPES.map((d, i) => [d, i]));

/** Distinct shapes kept once each (files of many tensors repeat a few shapes); beyond this, one array per row. */
const MAX_SHARED_SHAPES = 4096;

/** Bytes of an element by dtype code; NaN for block-quantized dtypes (their lengths are kept per row). */
const ELEMENT_BYTES = Float64Array.from(DTYPES, (d) => {
  const { blockElements, blockBytes } = dtypeInfo(d);
  return blockElements === 1 ? blockBytes : Number.NaN;
});

/** Dense little-endian tensors stored as byte ranges of one file, column-wise; filled by `add`. */
export class TensorTable implements TensorColumns {
  count = 0;
  ascending = true;
  private lastStart = -1;
  /** Row names, in row order, as one string table (read-only to callers). */
  readonly names: NameTable;
  private dtypes: Uint8Array;
  private shapeIds: Uint32Array;
  private numels: Float64Array;
  private offsets: Float64Array;
  /**
   * Byte lengths that differ from numel × element size, by row: none for a valid
   * safetensors file (its reader checks each size), so a length costs no column.
   */
  private oddLengths = new Map<number, number>();
  /** Shapes by id: the first MAX_SHARED_SHAPES distinct ones shared (frozen), then one per row. */
  private shapes: number[][] = [];
  /** Shared shape ids by a hash of their dimensions (no string key per row). */
  private shapeIndex = new Map<number, number | number[]>();
  private sharedShapes = 0;

  /** `expected`: rows the caller expects (the columns start that large; they grow as needed). */
  constructor(
    readonly path: string,
    expected = 64,
  ) {
    const n = Math.max(64, Math.ceil(expected));
    this.names = new NameTable(n, n * 24);
    this.dtypes = new Uint8Array(n);
    this.shapeIds = new Uint32Array(n);
    this.numels = new Float64Array(n);
    this.offsets = new Float64Array(n);
  }

  /**
   * Appends a tensor of `numel` elements whose bytes are [offset, offset + length) of the
   * file. `shape` is copied when it is new, so a caller may reuse one array for every row.
   */
  add(name: string, dtype: DType, shape: readonly number[], numel: number, offset: number, length: number): void {
    this.names.add(name);
    this.addRow(dtype, shape, numel, offset, length);
  }

  /** add() for a name given as its bytes src[start, end) (UTF-8; `ascii` when known all ASCII): no string is made. */
  addNamedBytes(
    src: Uint8Array,
    start: number,
    end: number,
    ascii: boolean,
    dtype: DType,
    shape: readonly number[],
    numel: number,
    offset: number,
    length: number,
  ): void {
    this.names.addBytes(src, start, end, ascii);
    this.addRow(dtype, shape, numel, offset, length);
  }

  private addRow(dtype: DType, shape: readonly number[], numel: number, offset: number, length: number): void {
    const i = this.count;
    if (i === this.dtypes.length) this.grow();
    this.dtypes[i] = DTYPE_CODE.get(dtype)!;
    this.shapeIds[i] = this.shapeId(shape);
    this.numels[i] = numel;
    this.offsets[i] = offset;
    if (length !== numel * ELEMENT_BYTES[this.dtypes[i]!]!) this.oddLengths.set(i, length);
    this.count = i + 1;
    if (numel > 0) {
      this.ascending &&= offset > this.lastStart;
      this.lastStart = offset;
    }
  }

  name(i: number): string {
    return this.names.name(i);
  }
  indexOf(name: string): number {
    return this.names.indexOf(name);
  }
  nameEndsWith(i: number, suffix: string): boolean {
    return this.names.endsWith(i, suffix);
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
    return odd ?? this.numels[i]! * ELEMENT_BYTES[this.dtypes[i]!]!;
  }

  readBytes(i: number): number {
    return this.length(i);
  }

  facts(i: number): RowFacts {
    return { name: this.names.name(i), dtype: this.dtype(i), shape: this.shape(i), numel: this.numels[i]! };
  }

  descriptor(i: number): TensorDescriptor {
    return {
      name: this.names.name(i),
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

  /** True when the names are in strictly ascending natural order (how writers list them); computed once. */
  inNaturalOrder(): boolean {
    return this.names.inNaturalOrder();
  }

  private shapeId(shape: readonly number[]): number {
    let hash = shape.length;
    for (let k = 0; k < shape.length; k++) {
      const d = shape[k]!;
      hash = (Math.imul(hash, 31) + (d | 0) + ((d / 4294967296) | 0)) | 0;
    }
    const known = this.shapeIndex.get(hash);
    if (known !== undefined) {
      if (typeof known === 'number') {
        if (sameShape(this.shapes[known]!, shape)) return known;
      } else for (const id of known) if (sameShape(this.shapes[id]!, shape)) return id;
    }
    const id = this.shapes.length;
    this.shapes.push(Object.freeze([...shape]) as number[]);
    if (this.sharedShapes < MAX_SHARED_SHAPES) {
      this.sharedShapes++;
      if (known === undefined) this.shapeIndex.set(hash, id);
      else if (typeof known === 'number') this.shapeIndex.set(hash, [known, id]);
      else known.push(id);
    }
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

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A descriptor list seen as columns. */
class ListColumns implements TensorColumns {
  private rows: Map<string, number> | undefined;
  constructor(private readonly list: TensorDescriptor[]) {}
  nameEndsWith(i: number, suffix: string): boolean {
    return this.list[i]!.name.endsWith(suffix);
  }
  indexOf(name: string): number {
    this.rows ??= new Map(this.list.map((t, i) => [t.name, i]));
    return this.rows.get(name) ?? -1;
  }
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

/** The table `desc` was described into, if its reader kept one. */
export function tensorTable(desc: ModelDescription): TensorTable | undefined {
  return TABLES.get(desc);
}
