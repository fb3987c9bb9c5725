/**
 * Partitioned diffs for more than one machine. `diffPartition` computes share K of N of a
 * diff's tensor work — the plan's steps split by bytes into N contiguous shares, the same on
 * every machine — and returns the engine's partial results of that share as JSON (exact:
 * every double survives the round trip, non-finite values and −0 as strings).
 * `mergePartials` checks that the parts belong together and cover every share once, reads
 * the two files' headers again (no tensor data) and runs the differ on the recorded partials
 * instead of the engine: the report, and so every output format, is the one a single run
 * makes, bit for bit.
 */
import { readFileSync, statSync } from 'node:fs';
import type { ComparedTensors, TensorPartials } from '../engine/executor.js';
import { Executor, tensorBytes } from '../engine/executor.js';
import { type ComparePartial, emptyCompare, emptyStats, type StatsPartial } from '../engine/partials.js';
import { DiffaiError } from '../errors.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { describeFsError, notRegular } from '../io/file.js';
import { type LoadOptions, withModels } from '../load.js';
import { diffModels, type DiffOptions, type PlanStep, planDiff, type TensorSource } from './differ.js';
import type { DiffResult } from './types.js';
import { userRegExp } from '../regexp.js';
import { parseJson } from '../io/json.js';

export const PARTIALS_FORMAT = 'diffai-partials';
const VERSION = 1;
/** Largest part file merge reads: a partial record is ~1 KB per tensor, so ~1M tensors. */
const MAX_PART_BYTES = 1 << 30;

/** The options a partitioned run records, so that merge diffs exactly as the run did. */
export interface PartitionOptions {
  epsilon: number;
  path?: string;
  /** The source of --ignore-keys-regex (a RegExp does not survive JSON). */
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  sortByChangeMagnitude: boolean;
  /** How the files were read (--format, --strip-prefix, --rename…), as typed: merge reads them the same way. */
  input: Record<string, string | string[] | undefined>;
}

/** Turns the recorded input options into the loader's (the CLI parses them). */
export type LoadOptionsOf = (input: PartitionOptions['input']) => LoadOptions;

interface PartRecord {
  /** 'a' (stats of a removed tensor), 'b' (of an added one) or 'c' (a compared pair). */
  key: string;
  a?: TensorPartials;
  b?: TensorPartials;
  comparison?: ComparePartial;
}

export interface PartialsFile {
  format: typeof PARTIALS_FORMAT;
  version: number;
  share: [number, number];
  files: [string, string];
  sizes: [number, number];
  options: PartitionOptions;
  records: PartRecord[];
}

/** "K/N" with 1 ≤ K ≤ N. */
export function parsePartition(text: string): [number, number] {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text);
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || k < 1 || k > n) throw new DiffaiError(undefined, `--partition must be K/N with 1 ≤ K ≤ N, got ${JSON.stringify(text)}`);
  return [k, n];
}

/**
 * The share (0-based) of every plan step: steps in plan order, cut into n contiguous runs of
 * about equal bytes (a step belongs to the share its byte midpoint falls in). Depends only on
 * the plan, so every machine computes the same split.
 */
export function sharesOf(plan: PlanStep[], bytesOf: (step: PlanStep) => number, n: number): number[] {
  const sizes = plan.map(bytesOf);
  const total = sizes.reduce((s, x) => s + x, 0);
  let before = 0;
  return sizes.map((size) => {
    const mid = before + size / 2;
    before += size;
    return total === 0 ? 0 : Math.min(n - 1, Math.floor((mid * n) / total));
  });
}

/**
 * The record key of each tensor the differ asks the engine about, by name (the plan builds
 * descriptors afresh for each window; a name is removed, added or common, never two of them).
 */
function keysOf(plan: PlanStep[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const s of plan) {
    if (s.kind === 'removed') keys.set(s.a.name, `a:${s.a.name}`);
    else if (s.kind === 'added') keys.set(s.b.name, `b:${s.b.name}`);
    else keys.set(s.a.name, `c:${s.a.name}`);
  }
  return keys;
}

function stepBytes(s: PlanStep): number {
  return tensorBytes(s.kind === 'common' ? [s.a, s.b] : s.kind === 'added' ? [s.b] : [s.a]);
}

function toDiffOptions(o: PartitionOptions): DiffOptions {
  return {
    epsilon: o.epsilon,
    path: o.path,
    ignoreKeysRegex: o.ignoreKeysRegex === undefined ? undefined : userRegExp(o.ignoreKeysRegex),
    shapeOnly: o.shapeOnly,
    sortByChangeMagnitude: o.sortByChangeMagnitude,
  };
}

const emptyPartials = (): TensorPartials => ({ stats: emptyStats() });

/** Share K of N of the diff of two files, as the JSON text of a PartialsFile. */
export async function diffPartition(
  pathA: string,
  pathB: string,
  [k, n]: [number, number],
  options: PartitionOptions,
  loadOptionsOf: LoadOptionsOf,
  engine: { threads?: number; onBytes?: (bytes: number) => void; onTotalBytes?: (bytes: number) => void } = {},
): Promise<string> {
  const records: PartRecord[] = [];
  await withModels([pathA, pathB], loadOptionsOf(options.input), async ([a, b]) => {
    const diffOptions = toDiffOptions(options);
    const plan = planDiff(a!, b!, diffOptions);
    const steps = plan.steps();
    const shares = sharesOf(steps, stepBytes, n);
    const keys = keysOf(steps);
    const mine = new Set(steps.filter((_, i) => shares[i] === k - 1).map((s) => keys.get((s.kind === 'added' ? s.b : s.a).name)!));
    const bytes = diffOptions.shapeOnly ? 0 : steps.reduce((sum, s, i) => sum + (shares[i] === k - 1 ? stepBytes(s) : 0), 0);
    engine.onTotalBytes?.(bytes);
    const executor = new Executor(engine, bytes);
    const ours = (desc: TensorDescriptor): string | undefined => {
      const key = keys.get(desc.name);
      return key !== undefined && mine.has(key) ? key : undefined;
    };
    const stats = async (desc: TensorDescriptor, p: TensorPartials): Promise<TensorPartials> => {
      const key = ours(desc)!;
      records.push(key.startsWith('a:') ? { key, a: p } : { key, b: p });
      return p;
    };
    const compared = (ta: TensorDescriptor, r: ComparedTensors): ComparedTensors => {
      records.push({ key: ours(ta)!, a: r.a, b: r.b, comparison: r.comparison });
      return r;
    };
    // The differ decides what each step needs; steps of other shares get empty partials and
    // are not recorded (their results are thrown away).
    const source: TensorSource = {
      stats: async (desc) => (ours(desc) ? stats(desc, await executor.stats(desc)) : emptyPartials()),
      compare: async (ta, tb, epsilon) => (ours(ta) ? compared(ta, await executor.compare(ta, tb, epsilon)) : emptyCompared()),
      statsMany: async (descs) => {
        const computed = await executor.statsMany(descs.filter((d) => ours(d)));
        let i = 0;
        return Promise.all(descs.map((d) => (ours(d) ? stats(d, computed[i++]!) : emptyPartials())));
      },
      compareMany: async (pairs, epsilon) => {
        const computed = await executor.compareMany(
          pairs.filter(([ta]) => ours(ta)),
          epsilon,
        );
        let i = 0;
        return pairs.map(([ta]) => (ours(ta) ? compared(ta, computed[i++]!) : emptyCompared()));
      },
    };
    try {
      await diffModels(a!, b!, source, diffOptions, plan);
    } finally {
      await executor.close();
    }
  });
  records.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const file: PartialsFile = {
    format: PARTIALS_FORMAT,
    version: VERSION,
    share: [k, n],
    files: [pathA, pathB],
    sizes: [statSync(pathA).size, statSync(pathB).size],
    options,
    records,
  };
  return `${JSON.stringify(file, exactNumbers)}\n`;
}

const emptyCompared = (): ComparedTensors => ({ a: emptyPartials(), b: emptyPartials(), comparison: emptyCompare() });

/** JSON has no NaN, ±Infinity or −0: they travel as strings. */
function exactNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (Object.is(value, -0)) return '-0';
  return Number.isFinite(value) ? value : String(value);
}

export interface MergedDiff {
  a: ModelDescription;
  b: ModelDescription;
  results: DiffResult[];
  options: PartitionOptions;
}

/** The diff a single run makes, from the part files of all N shares. */
export async function mergePartials(paths: string[], loadOptionsOf: LoadOptionsOf): Promise<MergedDiff> {
  if (paths.length === 0) throw new DiffaiError(undefined, 'merge: give the part files of every share');
  const parts = paths.map(readPart);
  const first = parts[0]!;
  const [, n] = first.share;
  const seen = new Map<number, string>();
  for (const [i, p] of parts.entries()) {
    const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
    if (p.share[1] !== n || !same(p.files, first.files) || !same(p.sizes, first.sizes) || !same(p.options, first.options)) {
      throw new DiffaiError(paths[i], `is a part of another run than ${paths[0]} (files, sizes, options or share count differ)`);
    }
    if (seen.has(p.share[0])) throw new DiffaiError(paths[i], `share ${p.share[0]}/${n} is also in ${seen.get(p.share[0])}`);
    seen.set(p.share[0], paths[i]!);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !seen.has(k));
  if (missing.length > 0)
    throw new DiffaiError(undefined, `merge: share${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${n}`).join(', ')} missing`);
  const [pathA, pathB] = first.files;
  [pathA, pathB].forEach((path, i) => {
    const size = statSync(path, { throwIfNoEntry: false })?.size;
    if (size === undefined) throw new DiffaiError(path, 'no such file (a partitioned run compared it; merge reads its header again)');
    if (size !== first.sizes[i]) throw new DiffaiError(path, 'changed since the partitioned run (its size differs)');
  });
  const records = new Map<string, PartRecord>();
  const from = new Map<string, string>();
  parts.forEach((p, i) => {
    for (const r of p.records) {
      // Each tensor belongs to one share: a second record for it is a forged or mixed-up part.
      if (records.has(r.key)) throw new DiffaiError(paths[i], `holds a second record of ${JSON.stringify(r.key.slice(2))} (also in ${from.get(r.key)})`);
      records.set(r.key, r);
      from.set(r.key, paths[i]!);
    }
  });
  const diffOptions = toDiffOptions(first.options);
  return withModels([pathA, pathB], loadOptionsOf(first.options.input), async ([a, b]) => {
    const plan = planDiff(a!, b!, diffOptions);
    const keys = keysOf(plan.steps());
    const recorded = (desc: TensorDescriptor): PartRecord => {
      const r = records.get(keys.get(desc.name) ?? '');
      if (!r) throw new DiffaiError(undefined, `merge: no part holds the results of tensor ${JSON.stringify(desc.name)}`);
      return r;
    };
    const stats = (desc: TensorDescriptor): TensorPartials => {
      const r = recorded(desc);
      return (r.a ?? r.b)!;
    };
    const compare = (ta: TensorDescriptor): ComparedTensors => {
      const r = recorded(ta);
      if (!r.comparison) throw new DiffaiError(undefined, `merge: the part record of tensor ${JSON.stringify(ta.name)} holds no comparison`);
      return { a: r.a!, b: r.b!, comparison: r.comparison };
    };
    const replay: TensorSource = {
      stats: async (desc) => stats(desc),
      compare: async (ta) => compare(ta),
      statsMany: async (descs) => descs.map(stats),
      compareMany: async (pairs) => pairs.map(([ta]) => compare(ta)),
    };
    return { a: a!, b: b!, results: await diffModels(a!, b!, replay, diffOptions, plan), options: first.options };
  });
}

/** One part file, checked field by field (a part file is input like any other). */
function readPart(path: string): PartialsFile {
  let size: number;
  try {
    const st = statSync(path);
    // A device or FIFO (`merge /dev/zero`) would be read forever.
    if (!st.isFile()) throw new DiffaiError(path, notRegular(st));
    size = st.size;
  } catch (e) {
    if (e instanceof DiffaiError) throw e;
    throw new DiffaiError(path, describeFsError(e));
  }
  if (size > MAX_PART_BYTES) throw new DiffaiError(path, `is ${size} bytes, more than the ${MAX_PART_BYTES}-byte limit for a part file`);
  // Depth-checked: a part's values are compared and printed by walks that recurse.
  const json = parseJson(readFileSync(path, 'utf8'), path, 'is not a diffai part file');
  const bad = (what: string): never => {
    throw new DiffaiError(path, `is not a valid diffai part file (${what})`);
  };
  const o = json as Partial<PartialsFile>;
  if (typeof o !== 'object' || o === null || o.format !== PARTIALS_FORMAT) bad('format');
  if (o.version !== VERSION) bad(`version ${String(o.version)}, expected ${VERSION}`);
  const pair = (x: unknown, kind: 'number' | 'string') => Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === kind);
  if (!pair(o.share, 'number') || !o.share!.every(Number.isSafeInteger) || !(o.share![0] >= 1 && o.share![0] <= o.share![1])) bad('share');
  if (!pair(o.files, 'string') || !pair(o.sizes, 'number') || !o.sizes!.every((x) => Number.isSafeInteger(x) && x >= 0)) bad('files');
  const opts = o.options as PartitionOptions | undefined;
  if (
    typeof opts !== 'object' ||
    opts === null ||
    typeof opts.epsilon !== 'number' ||
    typeof opts.shapeOnly !== 'boolean' ||
    typeof opts.input !== 'object' ||
    opts.input === null
  )
    bad('options');
  if (!Array.isArray(o.records)) bad('records');
  const keys = new Set<string>();
  const records = o.records!.map((r, i) => {
    if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || !/^[abc]:/.test(r.key)) bad(`record ${i}`);
    if (keys.has(r.key)) bad(`record ${i} repeats ${JSON.stringify(r.key.slice(2))}`);
    keys.add(r.key);
    const out: PartRecord = { key: r.key };
    if (r.a !== undefined) out.a = tensorPartials(r.a, bad);
    if (r.b !== undefined) out.b = tensorPartials(r.b, bad);
    if (r.comparison !== undefined) out.comparison = compareOf(r.comparison, bad);
    const complete = r.key.startsWith('c:') ? out.a && out.b && out.comparison : r.key.startsWith('a:') ? out.a : out.b;
    if (!complete) bad(`record ${i} is incomplete`);
    return out;
  });
  return { ...(o as PartialsFile), records };
}

const STATS_FIELDS = Object.keys(emptyStats()) as Array<keyof StatsPartial>;
const COMPARE_FIELDS = Object.keys(emptyCompare()) as Array<keyof ComparePartial>;

function tensorPartials(x: unknown, bad: (what: string) => never): TensorPartials {
  const o = x as { stats?: unknown; real?: unknown; imag?: unknown };
  if (typeof o !== 'object' || o === null) return bad('partials');
  const out: TensorPartials = { stats: statsOf(o.stats, bad) };
  if (o.real !== undefined) out.real = statsOf(o.real, bad);
  if (o.imag !== undefined) out.imag = statsOf(o.imag, bad);
  return out;
}

const isCount = (x: number) => Number.isSafeInteger(x) && x >= 0;

/**
 * Statistics a run could have written: counts are whole and non-negative, no count exceeds
 * the elements, m2 is not negative, min ≤ max once a value was seen. A forged part cannot
 * make merge print statistics no file has.
 */
function statsOf(x: unknown, bad: (what: string) => never): StatsPartial {
  const s = numbers(x, STATS_FIELDS, bad) as unknown as StatsPartial;
  for (const f of ['count', 'nan', 'posinf', 'neginf', 'zeros'] as const) if (!isCount(s[f])) bad(`field ${f}`);
  if (s.zeros > s.count) bad('field zeros');
  if (!Number.isInteger(s.exp)) bad('field exp');
  if (s.m2 < 0) bad('field m2');
  if (s.count > 0 && !(s.min <= s.max)) bad('fields min and max');
  return s;
}

/** A comparison a run could have written (whole counts, changed ≤ pairs, no negative magnitudes). */
function compareOf(x: unknown, bad: (what: string) => never): ComparePartial {
  const c = numbers(x, COMPARE_FIELDS, bad) as unknown as ComparePartial;
  for (const f of ['pairs', 'changed', 'mismatched'] as const) if (!isCount(c[f])) bad(`field ${f}`);
  if (c.changed > c.pairs) bad('field changed');
  for (const f of ['maxAbs', 'sumAbs', 'sumSqDiff', 'sumAA', 'sumBB'] as const) if (c[f] < 0) bad(`field ${f}`);
  return c;
}

const SPECIAL: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

/** An object of exactly `fields`, each a number (or one of the special strings). */
function numbers(x: unknown, fields: string[], bad: (what: string) => never): Record<string, number> {
  if (typeof x !== 'object' || x === null) return bad('partials');
  const o = x as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const f of fields) {
    const v = o[f];
    if (typeof v === 'number') out[f] = v;
    else if (typeof v === 'string' && Object.hasOwn(SPECIAL, v)) out[f] = SPECIAL[v]!;
    else bad(`field ${f}`);
  }
  return out;
}
