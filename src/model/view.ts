/**
 * The model view: what each entry of a described file is (role), which names hold the same
 * values (tie groups) and the hyperparameters stored beside the weights. Built from a
 * ModelDescription alone; reads no tensor data.
 */
import type { DType } from '../dtypes.js';
import { type RowFacts, type TensorColumns, TensorTable, tensorColumns } from '../formats/table.js';
import type { NameTable } from '../formats/name-table.js';
import { compareNames } from '../names.js';
import { storedByteLength, type FormatName, type ModelDescription, type TensorDescriptor } from '../formats/types.js';
import { readHuggingFaceConfig, readHyperparameters, type HuggingFaceConfig, type Hyperparameters } from './hyperparameters.js';
import { ROLES, roleContext, roleOf, type Role, type RoleContext } from './roles.js';
import { SAFETENSORS_METADATA_PREFIX, findTieGroups, metadataAliases, type TieGroup } from './ties.js';

export interface ModelEntry {
  name: string;
  role: Role;
  /** Tied names other than the representative: the group's representative. */
  tiedTo?: string;
  /** Quantized entries: the float parameter name they replace (`fc1.weight`). */
  linkedTo?: string;
  /** False for a name the writer dropped for a tie (its values are the representative's). */
  stored: boolean;
  /** Where its values are; for a dropped name, the representative's tensor under this name. */
  descriptor: TensorDescriptor;
}

export interface RoleTotals {
  /** Tensors (names) with this role. */
  tensors: number;
  /** Elements, each tie group once. */
  elements: number;
  /** Bytes as stored, each tie group once. */
  bytes: number;
}

export interface ModelView {
  description: ModelDescription;
  /** Every tensor name and every dropped tied name, in natural name order (built on first use from `rows`). */
  entries: Map<string, ModelEntry>;
  /** The same entries column-wise, in the same order: what the differ and inspect walk. */
  rows: ViewRows;
  tieGroups: TieGroup[];
  hyperparameters: Hyperparameters;
  /** Leaves that are tie aliases (`__metadata__.tok_emb.weight`): shown as ties, not metadata. */
  aliasLeaves: Set<string>;
  /** Leaves only this file's format has a place for (safetensors `__metadata__` entries). */
  formatLeaves: Set<string>;
  /** The tie group `name` belongs to, if any. */
  tieGroupOf(name: string): TieGroup | undefined;
  /** Learnable parameter elements, each tie group counted once. */
  parameterCount(): number;
  /** Elements and bytes per role, each tie group counted once. */
  totals(): Record<Role, RoleTotals>;
  warnings: string[];
}

/**
 * The entries of a view by position k (0 ≤ k < size, natural name order), without an
 * object per entry: a million-tensor file keeps its names and a byte of role each.
 */
export interface ViewRows {
  readonly size: number;
  name(k: number): string;
  role(k: number): Role;
  tiedTo(k: number): string | undefined;
  linkedTo(k: number): string | undefined;
  stored(k: number): boolean;
  numel(k: number): number;
  shape(k: number): number[];
  dtype(k: number): DType;
  /** Bytes the engine reads for entry k's values. */
  readBytes(k: number): number;
  /** Where entry k's values are (built on demand). */
  descriptor(k: number): TensorDescriptor;
  /** The position of `name`, or -1 (a binary search in name order). */
  find(name: string): number;
  /** compareNames(this.name(k), other.name(j)), without making the strings when both sides keep names as bytes. */
  compareName(k: number, other: ViewRows, j: number): number;
  /**
   * The one file whose dense little-endian byte ranges hold every entry's values (a
   * TensorTable's file), or undefined; then byteOffset(k) is where entry k's values start.
   */
  plainFile(): string | undefined;
  byteOffset(k: number): number;
}

export interface ModelViewOptions {
  /** A Hugging Face config.json to attach (see readHuggingFaceConfig). */
  config?: HuggingFaceConfig;
}

/** Formats whose files carry a safetensors `__metadata__` table (a sharded model of safetensors shards). */
export function holdsSafetensorsMetadata(format: FormatName): boolean {
  return format === 'safetensors' || format === 'sharded';
}

/**
 * Which kind of file-level metadata a format holds: safetensors `__metadata__`, GGUF's
 * key/value pairs (tokenizer, hyperparameters, quantization version), ONNX's model
 * fields (ir_version, producer, opsets, metadata_props — every ONNX entry), TensorFlow's
 * graph versions, or an HDF5 file's root attributes (Keras version, backend, model config). Entries of
 * a kind the other side's format cannot hold are not differences between the two formats.
 */
export function metadataKind(format: FormatName): 'safetensors' | 'gguf' | 'onnx' | 'tensorflow' | 'hdf5' | undefined {
  if (holdsSafetensorsMetadata(format)) return 'safetensors';
  return format === 'gguf' || format === 'onnx' || format === 'tensorflow' || format === 'hdf5' ? format : undefined;
}

function formatLeafNames(desc: ModelDescription): string[] {
  switch (metadataKind(desc.format)) {
    case 'safetensors':
      return Object.keys(desc.leaves).filter((k) => k.startsWith(SAFETENSORS_METADATA_PREFIX));
    case 'gguf':
    case 'onnx':
    case 'tensorflow':
    case 'hdf5':
      return Object.keys(desc.leaves);
    default:
      return [];
  }
}

export function buildModelView(desc: ModelDescription, options: ModelViewOptions = {}): ModelView {
  const cols = tensorColumns(desc);
  const aliases = metadataAliases(cols, desc.leaves);
  const tieGroups = findTieGroups(cols, aliases);
  const tiedTo = new Map<string, string>();
  for (const g of tieGroups) for (const m of g.members) if (m !== g.representative) tiedTo.set(m, g.representative);
  const rows = new Rows(cols, aliases, tiedTo, () => roleContext(tensorNamesOf(cols), Object.keys(desc.leaves)));

  const aliasLeaves = new Set([...aliases.keys()].map((k) => SAFETENSORS_METADATA_PREFIX + k));
  const formatLeaves = new Set(formatLeafNames(desc));
  const hyperparameters = readHyperparameters(desc.leaves, cols);
  if (options.config) hyperparameters.config = options.config;

  const totals = (): Record<Role, RoleTotals> => {
    const out = {} as Record<Role, RoleTotals>;
    for (const r of ROLES) out[r] = { tensors: 0, elements: 0, bytes: 0 };
    for (let k = 0; k < rows.size; k++) {
      const t = out[rows.role(k)];
      t.tensors++;
      if (rows.tiedTo(k) !== undefined) continue; // the representative counts for the group
      t.elements += rows.numel(k);
      t.bytes += storedByteLength(rows.facts(k));
    }
    return out;
  };
  const groupByRepresentative = new Map(tieGroups.map((g) => [g.representative, g]));
  let entries: Map<string, ModelEntry> | undefined;
  return {
    description: desc,
    get entries() {
      return (entries ??= rows.entries());
    },
    rows,
    tieGroups,
    hyperparameters,
    aliasLeaves,
    formatLeaves,
    tieGroupOf: (name) => groupByRepresentative.get(tiedTo.get(name) ?? name),
    parameterCount: () => totals().parameter.elements,
    totals,
    warnings: [],
  };
}

/** The tensor names of `cols`, one at a time (a table makes each string when asked; nothing is kept). */
function* tensorNamesOf(cols: TensorColumns): Iterable<string> {
  for (let i = 0; i < cols.count; i++) yield cols.name(i);
}

/**
 * Entries column-wise. Row r < cols.count is tensor r; row cols.count + j is the j-th name a
 * writer dropped for a tie (its values are its representative's tensor). `order` lists rows
 * in natural name order (absent when the file already lists them so); a name given twice
 * keeps its last row, as a Map would. Roles are worked out on first use (a plain diff asks
 * for none).
 */
class Rows implements ViewRows {
  readonly size: number;
  private readonly order: Uint32Array | undefined;
  private roles: Uint8Array | undefined;
  /** Links of quantized stand-ins, by row (few). */
  private readonly links = new Map<number, string>();
  private readonly dropped: string[];
  private readonly kept: number[];
  /** The table's names when the file has one and no dropped names: order and joins then compare bytes. */
  private readonly names: NameTable | undefined;

  constructor(
    private readonly cols: TensorColumns,
    aliases: Map<string, string>,
    private readonly ties: Map<string, string>,
    private readonly context: () => RoleContext,
  ) {
    this.dropped = [...aliases.keys()];
    this.kept = [...aliases.values()].map((k) => cols.indexOf(k));
    this.names = this.dropped.length === 0 && cols instanceof TensorTable ? cols.names : undefined;
    const total = cols.count + this.dropped.length;
    // A table already knows whether its names are in order (the reader asked).
    const known = this.dropped.length === 0 ? cols.inNaturalOrder?.() : undefined;
    let sorted = known ?? true;
    if (known === undefined) for (let r = 1; r < total && sorted; r++) sorted = compareNames(this.nameOfRow(r - 1), this.nameOfRow(r)) < 0;
    if (sorted) {
      this.order = undefined;
      this.size = total;
      return;
    }
    const names = this.names;
    const byName = names
      ? (x: number, y: number) => names.compare(x, names, y) || x - y
      : (x: number, y: number) => compareNames(this.nameOfRow(x), this.nameOfRow(y)) || x - y;
    const order = new Uint32Array(total);
    for (let r = 0; r < total; r++) order[r] = r;
    order.sort(byName);
    // Equal names are adjacent: keep the last row of each run.
    const same = names ? (x: number, y: number) => names.same(x, names, y) : (x: number, y: number) => this.nameOfRow(x) === this.nameOfRow(y);
    let n = 0;
    for (let k = 0; k < total; k++) if (k + 1 === total || !same(order[k + 1]!, order[k]!)) order[n++] = order[k]!;
    this.order = n === total ? order : order.slice(0, n);
    this.size = n;
  }

  /** Roles and links of every row, worked out once. */
  private roleCodes(): Uint8Array {
    if (this.roles !== undefined) return this.roles;
    const ctx = this.context();
    const total = this.cols.count + this.dropped.length;
    const roles = new Uint8Array(total);
    for (let r = 0; r < total; r++) {
      const { role, linkedTo } = roleOf(this.facts0(r), ctx);
      roles[r] = ROLE_CODE[role];
      if (linkedTo !== undefined) this.links.set(r, linkedTo);
    }
    this.roles = roles;
    return roles;
  }

  private rowAt(k: number): number {
    return this.order === undefined ? k : this.order[k]!;
  }
  private nameOfRow(r: number): string {
    return r < this.cols.count ? this.cols.name(r) : this.dropped[r - this.cols.count]!;
  }
  /** The tensor row whose values row r has (itself, or a dropped name's representative). */
  private valueRow(r: number): number {
    return r < this.cols.count ? r : this.kept[r - this.cols.count]!;
  }
  private facts0(r: number): RowFacts {
    const v = this.valueRow(r);
    return v === r ? this.cols.facts(r) : { ...this.cols.facts(v), name: this.nameOfRow(r) };
  }

  name(k: number): string {
    return this.nameOfRow(this.rowAt(k));
  }
  role(k: number): Role {
    return ROLES[this.roleCodes()[this.rowAt(k)]!]!;
  }
  tiedTo(k: number): string | undefined {
    const r = this.rowAt(k);
    if (r >= this.cols.count) return this.cols.name(this.kept[r - this.cols.count]!);
    return this.ties.size === 0 ? undefined : this.ties.get(this.cols.name(r));
  }
  linkedTo(k: number): string | undefined {
    this.roleCodes();
    return this.links.size === 0 ? undefined : this.links.get(this.rowAt(k));
  }
  stored(k: number): boolean {
    return this.rowAt(k) < this.cols.count;
  }
  numel(k: number): number {
    return this.cols.numel(this.valueRow(this.rowAt(k)));
  }
  shape(k: number): number[] {
    return this.cols.shape(this.valueRow(this.rowAt(k)));
  }
  dtype(k: number): DType {
    return this.cols.dtype(this.valueRow(this.rowAt(k)));
  }
  readBytes(k: number): number {
    return this.cols.readBytes(this.valueRow(this.rowAt(k)));
  }
  facts(k: number): RowFacts {
    return this.facts0(this.rowAt(k));
  }
  descriptor(k: number): TensorDescriptor {
    const r = this.rowAt(k);
    const v = this.valueRow(r);
    return v === r ? this.cols.descriptor(r) : { ...this.cols.descriptor(v), name: this.nameOfRow(r) };
  }
  plainFile(): string | undefined {
    return this.cols instanceof TensorTable ? this.cols.path : undefined;
  }
  byteOffset(k: number): number {
    return (this.cols as TensorTable).offset(this.valueRow(this.rowAt(k)));
  }
  compareName(k: number, other: ViewRows, j: number): number {
    if (this.names && other instanceof Rows && other.names) return this.names.compare(this.rowAt(k), other.names, other.rowAt(j));
    return compareNames(this.name(k), other.name(j));
  }
  find(name: string): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareNames(this.name(mid), name);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** One ModelEntry per position, in order. */
  entries(): Map<string, ModelEntry> {
    const out = new Map<string, ModelEntry>();
    for (let k = 0; k < this.size; k++) {
      const e: ModelEntry = { name: this.name(k), role: this.role(k), stored: this.stored(k), descriptor: this.descriptor(k) };
      const tie = this.tiedTo(k);
      if (tie !== undefined) e.tiedTo = tie;
      const link = this.linkedTo(k);
      if (link !== undefined) e.linkedTo = link;
      out.set(e.name, e);
    }
    return out;
  }
}

const ROLE_CODE = Object.fromEntries(ROLES.map((r, i) => [r, i])) as Record<Role, number>;

/** The model view of the file at `desc.path`, with its Hugging Face config.json when there is one. */
export function buildModelViewWithConfig(desc: ModelDescription): ModelView {
  const warnings: string[] = [];
  const config = readHuggingFaceConfig(desc.path, warnings);
  const view = buildModelView(desc, { config });
  view.warnings.push(...warnings);
  return view;
}

const cache = new WeakMap<ModelDescription, ModelView>();

/** buildModelView, once per description object (the differ and its callers share it). */
export function modelViewOf(desc: ModelDescription): ModelView {
  let view = cache.get(desc);
  if (!view) cache.set(desc, (view = buildModelView(desc)));
  return view;
}
