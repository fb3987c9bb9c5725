/**
 * Tie groups: names that hold the same values by construction. Two sources: tensors of one
 * file whose descriptors point at the same storage bytes through the same view (torch.save
 * keeps one storage for `lm_head.weight = tok_emb.weight`), and names a safetensors writer
 * dropped for a tie and recorded in `__metadata__` as `{dropped: kept}`
 * (safetensors.torch.save_model's `_remove_duplicate_names` convention).
 */
import type { TensorColumns } from '../formats/table.js';
import type { LeafValue, TensorDescriptor } from '../formats/types.js';

export interface TieGroup {
  /** The name the group is known by: the kept name of a metadata alias, else the first name in code-point order (as save_model keeps it). */
  representative: string;
  /** Every name of the group, the representative included, sorted. */
  members: string[];
  /** Members with no tensor of their own in the file (dropped by the writer, recorded in metadata). */
  aliases: string[];
}

/** The safetensors metadata prefix the reader gives `__metadata__` entries. */
export const SAFETENSORS_METADATA_PREFIX = '__metadata__.';

function storageKey(t: TensorDescriptor): string | undefined {
  if (t.numel === 0) return undefined;
  const s = t.source;
  const where = s.kind === 'deflate' ? `${s.path}\0${s.offset}\0${s.skip}\0${s.length}` : `${s.path}\0${s.offset}\0${s.length}`;
  const view = t.view ? `${t.view.offset}\0${t.view.strides.join(',')}` : '-';
  return `${s.kind}\0${where}\0${view}\0${t.storedAs ?? t.dtype}\0${t.shape.join(',')}`;
}

/**
 * Metadata entries that record a dropped tied name: the key names no tensor of the file, the
 * value names one. Returns dropped name → kept name.
 */
export function metadataAliases(tensors: TensorColumns, leaves: Record<string, LeafValue>): Map<string, string> {
  const aliases = new Map<string, string>();
  let candidates = false;
  for (const key in leaves)
    if (key.startsWith(SAFETENSORS_METADATA_PREFIX) && typeof leaves[key] === 'string') {
      candidates = true;
      break;
    }
  if (!candidates) return aliases; // no name index for a file without string metadata
  for (const [key, value] of Object.entries(leaves)) {
    if (!key.startsWith(SAFETENSORS_METADATA_PREFIX) || typeof value !== 'string') continue;
    const dropped = key.slice(SAFETENSORS_METADATA_PREFIX.length);
    if (tensors.indexOf(dropped) < 0 && tensors.indexOf(value) >= 0) aliases.set(dropped, value);
  }
  return aliases;
}

function byCodePoint(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Tensors that may share their first byte with another: none when the (non-empty) tensors of
 * one file come in strictly ascending offsets (a safetensors file, most zips), so such a file
 * needs no per-tensor bucket at all.
 */
function startsAtSharedBytes(tensors: TensorColumns): TensorDescriptor[] {
  if (tensors.ascending) return [];
  const list = Array.from({ length: tensors.count }, (_, i) => tensors.descriptor(i));
  let path: string | undefined;
  let last = -1;
  for (const t of list) {
    if (t.numel === 0) continue;
    if (path === undefined) path = t.source.path;
    if (t.source.path !== path || t.source.offset <= last) return list;
    last = t.source.offset;
  }
  return [];
}

export function findTieGroups(tensors: TensorColumns, aliases: Map<string, string>): TieGroup[] {
  // Bucket by (path, first byte) with numbers first: building a string key for every tensor
  // of a 100,000-tensor file costs a second; only tensors that start at the same byte need one.
  const byStart = new Map<string, Map<number, TensorDescriptor | TensorDescriptor[]>>();
  for (const t of startsAtSharedBytes(tensors)) {
    if (t.numel === 0) continue;
    let inFile = byStart.get(t.source.path);
    if (!inFile) byStart.set(t.source.path, (inFile = new Map()));
    const hit = inFile.get(t.source.offset);
    if (hit === undefined) inFile.set(t.source.offset, t);
    else if (Array.isArray(hit)) hit.push(t);
    else inFile.set(t.source.offset, [hit, t]);
  }
  const shared = new Map<string, string[]>();
  for (const inFile of byStart.values()) {
    for (const hit of inFile.values()) {
      if (!Array.isArray(hit)) continue;
      for (const t of hit) {
        const key = storageKey(t)!;
        const names = shared.get(key);
        if (names) names.push(t.name);
        else shared.set(key, [t.name]);
      }
    }
  }
  // representative → group; a metadata alias joins the group of the tensor it names
  const groups = new Map<string, TieGroup>();
  const groupOf = new Map<string, TieGroup>();
  for (const names of shared.values()) {
    if (names.length < 2) continue;
    const members = [...names].sort(byCodePoint);
    const group: TieGroup = { representative: members[0]!, members, aliases: [] };
    groups.set(group.representative, group);
    for (const n of members) groupOf.set(n, group);
  }
  for (const [dropped, kept] of aliases) {
    let group = groupOf.get(kept);
    if (!group) {
      group = { representative: kept, members: [kept], aliases: [] };
      groups.set(kept, group);
      groupOf.set(kept, group);
    }
    group.members.push(dropped);
    group.aliases.push(dropped);
  }
  for (const g of groups.values()) {
    g.members.sort(byCodePoint);
    g.aliases.sort(byCodePoint);
  }
  return [...groups.values()].sort((x, y) => byCodePoint(x.representative, y.representative));
}
