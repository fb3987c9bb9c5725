/**
 * The model view: what each entry of a described file is (role), which names hold the same
 * values (tie groups) and the hyperparameters stored beside the weights. Built from a
 * ModelDescription alone; reads no tensor data.
 */
import { storedByteLength, type FormatName, type ModelDescription, type TensorDescriptor } from '../formats/types.js';
import { readHuggingFaceConfig, readHyperparameters, type HuggingFaceConfig, type Hyperparameters } from './hyperparameters.js';
import { ROLES, roleContext, roleOf, type Role } from './roles.js';
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
  /** Every tensor name and every dropped tied name, in code-point order. */
  entries: Map<string, ModelEntry>;
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

function byCodePoint(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

export function buildModelView(desc: ModelDescription, options: ModelViewOptions = {}): ModelView {
  const aliases = metadataAliases(desc.tensors, desc.leaves);
  const tieGroups = findTieGroups(desc.tensors, aliases);
  const tiedTo = new Map<string, string>();
  for (const g of tieGroups) for (const m of g.members) if (m !== g.representative) tiedTo.set(m, g.representative);

  const ctx = roleContext(desc.tensors, Object.keys(desc.leaves));
  const list: ModelEntry[] = [];
  for (const t of desc.tensors) {
    const { role, linkedTo } = roleOf(t, ctx);
    const e: ModelEntry = { name: t.name, role, stored: true, descriptor: t };
    const tie = tiedTo.size === 0 ? undefined : tiedTo.get(t.name);
    if (tie !== undefined) e.tiedTo = tie;
    if (linkedTo !== undefined) e.linkedTo = linkedTo;
    list.push(e);
  }
  // Only files with dropped tied names need the name index (none of a 100,000-tensor plain file).
  const byName = aliases.size === 0 ? undefined : new Map(desc.tensors.map((t) => [t.name, t]));
  for (const [dropped, kept] of aliases) {
    const rep = byName!.get(kept)!;
    const { role, linkedTo } = roleOf({ ...rep, name: dropped }, ctx);
    const e: ModelEntry = { name: dropped, role, stored: false, tiedTo: kept, descriptor: { ...rep, name: dropped } };
    if (linkedTo !== undefined) e.linkedTo = linkedTo;
    list.push(e);
  }
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = list[i - 1]!.name < list[i]!.name;
  if (!sorted) list.sort((x, y) => byCodePoint(x.name, y.name));
  const entries = new Map<string, ModelEntry>();
  for (const e of list) entries.set(e.name, e);

  const aliasLeaves = new Set([...aliases.keys()].map((k) => SAFETENSORS_METADATA_PREFIX + k));
  const formatLeaves = new Set(formatLeafNames(desc));
  const hyperparameters = readHyperparameters(desc.leaves, desc.tensors);
  if (options.config) hyperparameters.config = options.config;

  const totals = (): Record<Role, RoleTotals> => {
    const out = {} as Record<Role, RoleTotals>;
    for (const r of ROLES) out[r] = { tensors: 0, elements: 0, bytes: 0 };
    for (const e of entries.values()) {
      const t = out[e.role];
      t.tensors++;
      if (e.tiedTo !== undefined) continue; // the representative counts for the group
      t.elements += e.descriptor.numel;
      t.bytes += storedByteLength(e.descriptor);
    }
    return out;
  };
  const groupByRepresentative = new Map(tieGroups.map((g) => [g.representative, g]));
  return {
    description: desc,
    entries,
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
