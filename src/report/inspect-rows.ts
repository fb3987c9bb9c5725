/**
 * An inspection column-wise. A million inspected tensors as objects (name, role, twelve
 * statistics, shape) cost ~250 bytes each before anything is printed; here the engine's
 * partials sit in one Float64Array (80 bytes a tensor) beside the model view's rows, and a
 * tensor's object is built only when a renderer asks for it, one row at a time.
 * `InspectReport.tensors` is still there for library users: built from the rows the first
 * time it is read.
 */
import { STATS_FIELDS, packStats, unpackStats } from '../engine/columns.js';
import type { TensorPartials } from '../engine/executor.js';
import { recordTensorStats, tensorStats } from '../diff/stats.js';
import type { NameFilterName } from '../diff/differ.js';
import type { TensorStats } from '../diff/types.js';
import type { DType } from '../dtypes.js';
import type { FormatName, LeafValue } from '../formats/types.js';
import type { Role } from '../model/roles.js';
import type { ViewRows } from '../model/view.js';

export interface InspectedTensor extends TensorStats {
  name: string;
  role: Role;
  /** Tied tensors other than their group's representative: the representative. */
  tied_to?: string;
  /** Quantized stand-ins (dynamic-quantization packed params): the float parameter they replace. */
  linked_to?: string;
}

export interface InspectReport {
  kind: 'inspect';
  file: string;
  format: FormatName;
  tensors: InspectedTensor[];
  metadata: Record<string, LeafValue>;
  warnings: string[];
  /** Name filters (`path`, `ignoreKeysRegex`) that matched no name in the file. */
  unmatchedFilters?: NameFilterName[];
}

/** What renderers ask of an inspection, row by row (a TensorTable-backed report or a plain one). */
export interface InspectRows {
  readonly count: number;
  role(i: number): Role;
  tiedTo(i: number): string | undefined;
  numel(i: number): number;
  /** Row i as `InspectReport.tensors[i]` holds it (a new object each call). */
  tensor(i: number): InspectedTensor;
}

const FIELDS = STATS_FIELDS;
const NONE = 0;
const PLAIN = 1;
const COMPLEX = 2;

/** Partial statistics by view position: plain tensors in one Float64Array, complex ones (few) by object. */
export class PartialsColumns {
  private readonly values: Float64Array;
  private readonly state: Uint8Array;
  private readonly complex = new Map<number, TensorPartials>();

  constructor(size: number) {
    this.values = new Float64Array(size * FIELDS);
    this.state = new Uint8Array(size);
  }

  set(k: number, p: TensorPartials): void {
    if (p.real !== undefined || p.imag !== undefined) {
      this.complex.set(k, p);
      this.state[k] = COMPLEX;
      return;
    }
    packStats(p.stats, this.values, k * FIELDS);
    this.state[k] = PLAIN;
  }

  /** Stores the packed statistics record at records[at…] (a stats column job's) for position k, as set() would. */
  setRecord(k: number, records: Float64Array, at: number): void {
    // Field by field: a subarray per tensor cost more than the ten copies.
    const values = this.values;
    for (let f = 0, to = k * FIELDS; f < FIELDS; f++) values[to + f] = records[at + f]!;
    this.state[k] = PLAIN;
  }

  /** The contract's stats of position k when it holds plain statistics (tensorStats of them, without the partials' objects), else undefined. */
  plainStats(k: number, shape: number[], dtype: DType, numel: number): TensorStats | undefined {
    return this.state[k] === PLAIN ? recordTensorStats(shape, dtype, numel, this.values, k * FIELDS) : undefined;
  }

  /** The partials stored for position k (undefined when nothing was read). */
  get(k: number): TensorPartials | undefined {
    const state = this.state[k] ?? NONE; // columns sized 0 when nothing is read (shapeOnly)
    if (state === NONE) return undefined;
    if (state === COMPLEX) return this.complex.get(k);
    const stats = unpackStats(this.values, k * FIELDS);
    return { stats };
  }
}

/** The rows of an inspection: view positions shown (`selected`), each with the position its values come from. */
export class ViewInspectRows implements InspectRows {
  constructor(
    private readonly rows: ViewRows,
    private readonly selected: Uint32Array,
    private readonly source: Uint32Array,
    private readonly partials: PartialsColumns,
  ) {}

  get count(): number {
    return this.selected.length;
  }
  role(i: number): Role {
    return this.rows.role(this.selected[i]!);
  }
  tiedTo(i: number): string | undefined {
    return this.rows.tiedTo(this.selected[i]!);
  }
  numel(i: number): number {
    return this.rows.numel(this.selected[i]!);
  }
  tensor(i: number): InspectedTensor {
    const k = this.selected[i]!;
    // Built field by field (no spreads): one hidden class for every row.
    const t = { name: this.rows.name(k), role: this.rows.role(k) } as InspectedTensor;
    const tie = this.rows.tiedTo(k);
    if (tie !== undefined) t.tied_to = tie;
    const link = this.rows.linkedTo(k);
    if (link !== undefined) t.linked_to = link;
    // A table's rows (plain files: no quantization) with plain statistics need no descriptor.
    const plain =
      this.rows.plainFile() !== undefined ? this.partials.plainStats(this.source[i]!, this.rows.shape(k), this.rows.dtype(k), this.rows.numel(k)) : undefined;
    return Object.assign(t, plain ?? tensorStats(this.rows.descriptor(k), this.partials.get(this.source[i]!)));
  }
}

/** A plain report's tensor list seen as rows. */
class ListInspectRows implements InspectRows {
  constructor(private readonly list: InspectedTensor[]) {}
  get count(): number {
    return this.list.length;
  }
  role(i: number): Role {
    return this.list[i]!.role;
  }
  tiedTo(i: number): string | undefined {
    return this.list[i]!.tied_to;
  }
  numel(i: number): number {
    return this.list[i]!.total_params;
  }
  tensor(i: number): InspectedTensor {
    return this.list[i]!;
  }
}

const ROWS = new WeakMap<InspectReport, InspectRows>();

/**
 * An inspect report whose `tensors` are `rows`: the list is built the first time someone
 * reads it (library users, YAML, Markdown, HTML), while the text and JSON renderers walk the
 * rows. Key order is that of a plain report (file, format, tensors, metadata, …).
 */
export function rowsInspectReport(base: Omit<InspectReport, 'tensors'>, rows: InspectRows): InspectReport {
  let list: InspectedTensor[] | undefined;
  const { kind, file, format, ...rest } = base;
  const report = Object.defineProperty({ kind, file, format }, 'tensors', {
    enumerable: true,
    configurable: true,
    get: () => (list ??= Array.from({ length: rows.count }, (_, i) => rows.tensor(i))),
    set: (value: InspectedTensor[]) => {
      list = value;
      ROWS.delete(report); // the list replaces the rows
    },
  }) as InspectReport;
  Object.assign(report, rest);
  ROWS.set(report, rows);
  return report;
}

/** The tensors of an inspect report by row (its rows when it has them, else its list). */
export function inspectRows(report: InspectReport): InspectRows {
  return ROWS.get(report) ?? new ListInspectRows(report.tensors);
}
