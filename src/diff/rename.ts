/**
 * Key remapping before the name join, for checkpoints of one model saved by different code:
 * `module.` of DistributedDataParallel, `model.` of a Lightning wrapper, renamed layers.
 * Rules apply to tensor names and other entries alike, in this order: every strip-prefix in
 * the order given (each removes its prefix once, where present), then the side's own renames
 * (which bring each side to common names), then the renames for both sides. A description keeps each changed name's original in
 * `originalNames`, and results carry it (`original`), so output can show both.
 */
import { DiffaiError } from '../errors.js';
import type { LeafValue, ModelDescription } from '../formats/types.js';
import { tensorColumns, tensorTable } from '../formats/table.js';
import type { DiffResult } from './types.js';
import { guardBacktracking, userRegExp } from '../regexp.js';

/** One `--rename` rule: every match of `pattern` is replaced (`$1` … refer to groups). */
export interface RenameRule {
  pattern: RegExp | string;
  replacement: string;
}

export interface KeyMapOptions {
  /** Prefixes removed from every name that starts with them, on both sides, in order. */
  stripPrefix?: string[];
  /** Rules for both sides, in order (after stripPrefix and the side rules). */
  rename?: RenameRule[];
  /** Rules for side A only (after stripPrefix, before `rename`). */
  renameA?: RenameRule[];
  /** Rules for side B (and later files of a sequence) only. */
  renameB?: RenameRule[];
}

/** Parses `REGEX=REPLACEMENT` (split at the last `=`; the regex may hold `=`, e.g. in `(?=…)`). */
export function parseRenameRule(text: string, flag = '--rename'): RenameRule {
  const at = text.lastIndexOf('=');
  if (at <= 0) throw new DiffaiError(undefined, `${flag}: expected REGEX=REPLACEMENT, got ${JSON.stringify(text)}`);
  const source = text.slice(0, at);
  try {
    return { pattern: userRegExp(source, 'g'), replacement: text.slice(at + 1) };
  } catch (e) {
    throw new DiffaiError(undefined, `${flag}: ${(e as Error).message}`);
  }
}

function globalPattern(p: RegExp | string): RegExp {
  if (typeof p === 'string') return userRegExp(p, 'g');
  guardBacktracking();
  return p.global ? p : new RegExp(p.source, `${p.flags}g`);
}

/** True when these options change any name. */
export function hasKeyMap(o: KeyMapOptions): boolean {
  return (o.stripPrefix?.length ?? 0) + (o.rename?.length ?? 0) + (o.renameA?.length ?? 0) + (o.renameB?.length ?? 0) > 0;
}

/** The name-mapping function of one side. */
export function keyMapper(o: KeyMapOptions, side: 'a' | 'b'): (name: string) => string {
  const prefixes = (o.stripPrefix ?? []).filter((p) => p.length > 0);
  const rules = [...((side === 'a' ? o.renameA : o.renameB) ?? []), ...(o.rename ?? [])].map((r) => ({
    pattern: globalPattern(r.pattern),
    replacement: r.replacement,
  }));
  return (name) => {
    let n = name;
    for (const p of prefixes) if (n.startsWith(p)) n = n.slice(p.length);
    for (const r of rules) n = n.replace(r.pattern, r.replacement);
    return n;
  };
}

/**
 * The description with names mapped; the same object when nothing changed. Two names that
 * map to one are an error (the join would silently drop one of them).
 */
export function applyKeyMap(desc: ModelDescription, o: KeyMapOptions, side: 'a' | 'b'): ModelDescription {
  if (!hasKeyMap(o)) return desc;
  const map = keyMapper(o, side);
  const originalNames = new Map<string, string>(desc.originalNames);
  const claim = (seen: Map<string, string>, from: string, to: string) => {
    const other = seen.get(to);
    if (other !== undefined) throw new DiffaiError(desc.path, `the name mapping turns both ${other} and ${from} into ${to}`);
    seen.set(to, from);
    if (to !== from) originalNames.set(to, desc.originalNames?.get(from) ?? from);
  };
  const tensorNames = new Map<string, string>();
  const tensors = desc.tensors.map((t) => {
    const name = map(t.name);
    claim(tensorNames, t.name, name);
    return name === t.name ? t : { ...t, name };
  });
  const leafNames = new Map<string, string>();
  const leaves = Object.create(null) as Record<string, LeafValue>;
  for (const [k, v] of Object.entries(desc.leaves)) {
    const name = map(k);
    claim(leafNames, k, name);
    leaves[name] = v;
  }
  return originalNames.size === 0 ? desc : { ...desc, tensors, leaves, originalNames };
}

/** Adds `original` (the names in the files) to results whose name was mapped on either side. */
export function annotateOriginalNames(results: DiffResult[], a: ModelDescription, b: ModelDescription): DiffResult[] {
  if (!a.originalNames && !b.originalNames) return results;
  return results.map((r) => {
    const onA = r.kind !== 'TensorAdded' && r.kind !== 'Added';
    const onB = r.kind !== 'TensorRemoved' && r.kind !== 'Removed';
    const inA = onA ? a.originalNames?.get(r.name) : undefined;
    const inB = onB ? b.originalNames?.get(r.name) : undefined;
    if (inA === undefined && inB === undefined) return r;
    return { ...r, original: { ...(onA ? { a: inA ?? r.name } : {}), ...(onB ? { b: inB ?? r.name } : {}) } };
  });
}

/**
 * A hint when every tensor name of one side starts with a dotted prefix that the other
 * side's names lack, and removing it would match names of the other side: the prefix to
 * pass to --strip-prefix (the longest that matches most names), or undefined.
 */
export function prefixHint(a: ModelDescription, b: ModelDescription): { side: 'a' | 'b'; prefix: string; matches: number } | undefined {
  return hintFor(a, b, 'a') ?? hintFor(b, a, 'b');
}

function hintFor(own: ModelDescription, other: ModelDescription, side: 'a' | 'b'): { side: 'a' | 'b'; prefix: string; matches: number } | undefined {
  const names = tensorColumns(own);
  const others = tensorColumns(other);
  if (names.count === 0 || others.count === 0) return undefined;
  // Only prefixes the other side's names do not all share; the name index only when one is left.
  const prefixes = commonDottedPrefixes(own).filter((prefix) => !everyNameStartsWith(other, prefix, false));
  if (prefixes.length === 0) return undefined;
  let best: { side: 'a' | 'b'; prefix: string; matches: number } | undefined;
  for (const prefix of prefixes) {
    let matches = 0;
    for (let i = 0; i < names.count; i++) if (others.indexOf(names.name(i).slice(prefix.length)) >= 0) matches++;
    if (matches > (best?.matches ?? 0)) best = { side, prefix, matches };
  }
  return best;
}

/** True when every tensor name of `desc` starts with `prefix` (and, with `longer`, has more after it); a table checks its bytes. */
function everyNameStartsWith(desc: ModelDescription, prefix: string, longer: boolean): boolean {
  const table = tensorTable(desc);
  if (table) return table.names.everyStartsWith(prefix, longer);
  return desc.tensors.every((t) => t.name.startsWith(prefix) && (!longer || t.name.length > prefix.length));
}

/** `a.`, `a.b.` … for every dotted prefix that all tensor names of `desc` share (at least one part left). */
function commonDottedPrefixes(desc: ModelDescription): string[] {
  const parts = tensorColumns(desc).name(0).split('.');
  const out: string[] = [];
  for (let k = 1; k < parts.length; k++) {
    const prefix = `${parts.slice(0, k).join('.')}.`;
    if (!everyNameStartsWith(desc, prefix, true)) break;
    out.push(prefix);
  }
  return out;
}
