/**
 * The differ: joins two model descriptions by name, decides what is added, removed,
 * reshaped or re-typed from descriptors alone, and asks the engine to compare the values
 * of common tensors (one streaming pass per pair).
 */
import type { ComparedTensors, Executor, TensorPartials } from '../engine/executor.js';
import type { ComparePartial } from '../engine/partials.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../formats/types.js';
import { batchable, runAll, tensorBytes } from '../engine/executor.js';
import { SAFETENSORS_METADATA_PREFIX } from '../model/ties.js';
import { metadataKind, modelViewOf, type ModelView } from '../model/view.js';
import { compareNames } from '../names.js';
import { comparison, tensorStats } from './stats.js';
import { annotateOriginalNames } from './rename.js';
import type { DiffResult } from './types.js';

export interface DiffOptions {
  /** A common tensor is unchanged when every |a − b| ≤ epsilon (0: exact equality). */
  epsilon?: number;
  /** Only names containing this substring. */
  path?: string;
  /** Skip names matching this pattern. */
  ignoreKeysRegex?: RegExp;
  /** Compare headers only; read no tensor data. */
  shapeOnly?: boolean;
  /** Order value changes by relative L2 change, largest first. */
  sortByChangeMagnitude?: boolean;
  /** --regression-test: tolerances that replace the per-dtype defaults (either may be given alone). */
  tolerance?: { rtol?: number; atol?: number };
  /** --alert-on-degradation: fidelity bounds of B against A over the parameters (--min-sqnr in dB, --min-cosine). */
  degradation?: { minSqnrDb?: number; minCosine?: number };
  /** Attention analyses: query heads and key/value heads (--num-heads/--num-kv-heads), over config.json and file metadata. */
  numHeads?: number;
  numKvHeads?: number;
  /** --clustering-change: clusters (k) and the layer whose rows are clustered (--clusters, --cluster-layer). */
  clustering?: { clusters?: number; layer?: string };
  /** --low-rank-delta: singular values computed per weight delta (--rank-k; default 32). */
  rankK?: number;
  /** --inference-speed-estimate: --context-length, --input-shape (e.g. [1, 3, 224, 224]), --device-profile, --peak-tflops, --bandwidth-gbs. */
  inference?: { contextLength?: number; inputShape?: number[]; deviceProfile?: string; peakTflops?: number; bandwidthGbs?: number };
  /** Called with the partials of every tensor read (analyses reuse them; the diff does not change). */
  onTensor?: (event: TensorEvent) => void;
}

/** What the diff pass learned about one tensor: stats of A and/or B, and their comparison when both were read. */
export interface TensorEvent {
  name: string;
  a?: TensorDescriptor;
  b?: TensorDescriptor;
  partialsA?: TensorPartials;
  partialsB?: TensorPartials;
  comparison?: ComparePartial;
}

export function nameFilter(options: DiffOptions): (name: string) => boolean {
  const { path, ignoreKeysRegex } = options;
  return (name) => (path === undefined || name.includes(path)) && !(ignoreKeysRegex && matchesKey(ignoreKeysRegex, name));
}

/**
 * A metadata entry matches under its full name (`__metadata__.timestamp`) or its key alone
 * (`timestamp`), so the documents' `--ignore-keys-regex "^(timestamp|_metadata)"` works.
 */
function matchesKey(re: RegExp, name: string): boolean {
  // A /g or /y pattern keeps lastIndex between test() calls; reset it for each name.
  re.lastIndex = 0;
  if (re.test(name)) return true;
  if (!name.startsWith(SAFETENSORS_METADATA_PREFIX)) return false;
  re.lastIndex = 0;
  return re.test(name.slice(SAFETENSORS_METADATA_PREFIX.length));
}

export type NameFilterName = 'path' | 'ignoreKeysRegex';

/**
 * The name filters of `options` that match no name (tensor or other entry) of any of the
 * models: a `path` nothing contains, an `ignoreKeysRegex` nothing matches. Either one is
 * almost always a typo, and would otherwise look like "no differences".
 */
export function unmatchedFilters(models: ModelDescription[], options: DiffOptions): NameFilterName[] {
  const { path, ignoreKeysRegex } = options;
  let pathSeen = path === undefined;
  let regexSeen = ignoreKeysRegex === undefined;
  for (const m of models) {
    for (const name of namesOf(m)) {
      if (!pathSeen && name.includes(path!)) pathSeen = true;
      if (!regexSeen && matchesKey(ignoreKeysRegex!, name)) regexSeen = true;
      if (pathSeen && regexSeen) return [];
    }
  }
  return [...(pathSeen ? [] : ['path' as const]), ...(regexSeen ? [] : ['ignoreKeysRegex' as const])];
}

function* namesOf(m: ModelDescription): Iterable<string> {
  for (const t of m.tensors) yield t.name;
  yield* Object.keys(m.leaves);
}

/** What the differ asks about tensor values: the executor, or results recorded by partitioned runs (partition.ts). */
export type TensorSource = Pick<Executor, 'stats' | 'compare' | 'statsMany' | 'compareMany'>;

/** `plan` defaults to planDiff(a, b, options); callers that sized the work from it pass it in. */
export async function diffModels(
  a: ModelDescription,
  b: ModelDescription,
  executor: TensorSource,
  options: DiffOptions = {},
  plan: PlanStep[] = planDiff(a, b, options),
): Promise<DiffResult[]> {
  const epsilon = options.epsilon ?? 0;
  const read = !options.shapeOnly;
  const removed = (step: { a: TensorDescriptor }, p: TensorPartials | undefined): DiffResult[] => {
    options.onTensor?.({ name: step.a.name, a: step.a, partialsA: p });
    return [{ kind: 'TensorRemoved', name: step.a.name, stats: tensorStats(step.a, p) }];
  };
  const added = (step: { b: TensorDescriptor }, p: TensorPartials | undefined): DiffResult[] => {
    options.onTensor?.({ name: step.b.name, b: step.b, partialsB: p });
    return [{ kind: 'TensorAdded', name: step.b.name, stats: tensorStats(step.b, p) }];
  };
  /** The header-level results of a common tensor; `r` when its values were compared. */
  const common = (ta: TensorDescriptor, tb: TensorDescriptor, r: ComparedTensors | undefined): DiffResult[] => {
    const out: DiffResult[] = [];
    const unchanged = (): DiffResult[] => (out.length === 0 ? NOTHING : out);
    if (!sameDims(ta.shape, tb.shape)) out.push({ kind: 'TensorShapeChanged', name: ta.name, a: ta.shape, b: tb.shape });
    if (ta.dtype !== tb.dtype) out.push({ kind: 'TensorDtypeChanged', name: ta.name, a: ta.dtype, b: tb.dtype });
    if (!r) {
      options.onTensor?.({ name: ta.name, a: ta, b: tb });
      return unchanged();
    }
    options.onTensor?.({ name: ta.name, a: ta, b: tb, partialsA: r.a, partialsB: r.b, comparison: r.comparison });
    if (r.comparison.changed > 0) {
      out.push({ kind: 'TensorStatsChanged', name: ta.name, a: tensorStats(ta, r.a), b: tensorStats(tb, r.b), comparison: comparison(r.comparison) });
    }
    return unchanged();
  };
  // Values are compared even across dtypes (f32 → f16 rounding is a real change); not across shapes.
  const compares = (step: PlanStep) => read && (step.kind !== 'common' || sameDims(step.a.shape, step.b.shape));
  const results = await runAll(
    plan,
    // Steps that read nothing, and small plain tensors, are done in windows without a promise each.
    (step) => !compares(step) || stepTensors(step).every(batchable),
    async (step): Promise<DiffResult[]> => {
      if (step.kind === 'removed') return removed(step, await executor.stats(step.a));
      if (step.kind === 'added') return added(step, await executor.stats(step.b));
      return common(step.a, step.b, await executor.compare(step.a, step.b, epsilon));
    },
    async (steps): Promise<DiffResult[][]> => {
      const reads = steps.filter(compares);
      const pairs = reads.filter((s) => s.kind === 'common').map((s) => [s.a, s.b] as [TensorDescriptor, TensorDescriptor]);
      const singles = reads.filter((s) => s.kind !== 'common').map((s) => (s.kind === 'removed' ? s.a : s.b));
      const [compared, stats] = await Promise.all([executor.compareMany(pairs, epsilon), executor.statsMany(singles)]);
      let c = 0;
      let t = 0;
      return steps.map((step) => {
        const reads = compares(step);
        if (step.kind === 'common') return common(step.a, step.b, reads ? compared[c++] : undefined);
        const p = reads ? stats[t++] : undefined;
        return step.kind === 'removed' ? removed(step, p) : added(step, p);
      });
    },
  );
  const keep = nameFilter(options);
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const [leavesA, leavesB] = comparableLeaves(va, vb);
  const all = [...results.flat(), ...tieChanges(va, vb, keep), ...diffLeaves(leavesA, leavesB, keep)];
  return sortResults(annotateOriginalNames(all, a, b), options.sortByChangeMagnitude ?? false);
}

/** The results of an unchanged tensor: one shared empty list (a million tensors keep no million arrays). */
const NOTHING: DiffResult[] = Object.freeze([]) as unknown as DiffResult[];

export type PlanStep =
  | { kind: 'removed'; a: TensorDescriptor }
  | { kind: 'added'; b: TensorDescriptor }
  | { kind: 'common'; a: TensorDescriptor; b: TensorDescriptor };

/**
 * Joins the tensors of A and B by name (after the name filters); reads nothing. The join is
 * tie-aware: a name tied to the same representative on both sides is compared once, through
 * the representative; a name missing on one side whose tie partner is on both sides is not a
 * removal or addition; a name the writer dropped for a tie compares its representative's values.
 */
export function planDiff(a: ModelDescription, b: ModelDescription, options: DiffOptions = {}): PlanStep[] {
  const keep = nameFilter(options);
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const plan: PlanStep[] = [];
  for (const [name, ea] of va.entries) {
    if (!keep(name)) continue;
    const eb = vb.entries.get(name);
    if (eb) {
      if (ea.tiedTo !== undefined && ea.tiedTo === eb.tiedTo && keep(ea.tiedTo)) continue;
      plan.push({ kind: 'common', a: ea.descriptor, b: eb.descriptor });
    } else if (!partnerOnBothSides(va, vb, name)) {
      plan.push({ kind: 'removed', a: ea.descriptor });
    }
  }
  for (const [name, eb] of vb.entries) {
    if (keep(name) && !va.entries.has(name) && !partnerOnBothSides(vb, va, name)) plan.push({ kind: 'added', b: eb.descriptor });
  }
  return plan;
}

/** True when `name` (present in `own` only) is tied there to a name present in both views. */
function partnerOnBothSides(own: ModelView, other: ModelView, name: string): boolean {
  const group = own.tieGroupOf(name);
  return group?.members.some((m) => m !== name && other.entries.has(m)) === true;
}

/**
 * Ties present on one side only, between names present on both sides: one result per name
 * that is not its group's representative, naming that side's representative as the partner.
 */
export function tieChanges(va: ModelView, vb: ModelView, keep: (name: string) => boolean): DiffResult[] {
  const out: DiffResult[] = [];
  const representative = (v: ModelView, name: string) => v.entries.get(name)?.tiedTo ?? name;
  const oneSided = (tied: ModelView, other: ModelView, state: 'a' | 'b') => {
    for (const g of tied.tieGroups) {
      for (const m of g.members) {
        if (m === g.representative || !keep(m) || !other.entries.has(m) || !other.entries.has(g.representative)) continue;
        if (representative(other, m) === representative(other, g.representative)) continue;
        out.push(
          state === 'a'
            ? { kind: 'TieChanged', name: m, partner: g.representative, a: 'tied', b: 'untied' }
            : { kind: 'TieChanged', name: m, partner: g.representative, a: 'untied', b: 'tied' },
        );
      }
    }
  };
  oneSided(va, vb, 'a');
  oneSided(vb, va, 'b');
  return out;
}

/**
 * The leaves to compare: tie aliases are compared as ties (tieChanges), and metadata only one
 * side's format can hold (safetensors `__metadata__`, ONNX model fields, GGUF key/value pairs …) is left out when the other side's format
 * has no place for it. Between two files of the same kind, metadata changes stay differences.
 */
export function comparableLeaves(va: ModelView, vb: ModelView): [Record<string, LeafValue>, Record<string, LeafValue>] {
  const filter = (own: ModelView, other: ModelView): Record<string, LeafValue> => {
    const dropFormat = metadataKind(own.description.format) !== metadataKind(other.description.format);
    const out = Object.create(null) as Record<string, LeafValue>;
    for (const [k, v] of Object.entries(own.description.leaves)) {
      if (own.aliasLeaves.has(k) || (dropFormat && own.formatLeaves.has(k))) continue;
      out[k] = v;
    }
    return out;
  };
  return [filter(va, vb), filter(vb, va)];
}

/** The tensors one plan step reads. */
function stepTensors(s: PlanStep): TensorDescriptor[] {
  return s.kind === 'common' ? [s.a, s.b] : s.kind === 'added' ? [s.b] : [s.a];
}

/** Tensor bytes a plan will read (0 with --shape-only). */
export function planBytes(plan: PlanStep[], options: DiffOptions = {}): number {
  if (options.shapeOnly) return 0;
  let bytes = 0;
  for (const s of plan) if (s.kind !== 'common' || sameDims(s.a.shape, s.b.shape)) bytes += tensorBytes(stepTensors(s));
  return bytes;
}

export function diffLeaves(a: Record<string, LeafValue>, b: Record<string, LeafValue>, keep: (name: string) => boolean): DiffResult[] {
  const results: DiffResult[] = [];
  for (const [name, va] of Object.entries(a)) {
    if (!keep(name)) continue;
    if (!Object.hasOwn(b, name)) results.push({ kind: 'Removed', name, value: va });
    else if (!leafEqual(va, b[name]!)) results.push({ kind: 'Modified', name, a: va, b: b[name]! });
  }
  for (const [name, vb] of Object.entries(b)) {
    if (keep(name) && !Object.hasOwn(a, name)) results.push({ kind: 'Added', name, value: vb });
  }
  return results;
}

/**
 * Names in natural order (names.ts: layers.2 before layers.10); with magnitude sorting, value
 * changes first by relative L2 change, then value changes of tensors that were all zero in A
 * (no relative change exists: ranking them first would hide the real changes) by mean
 * |b − a|, then everything else.
 */
export function sortResults(results: DiffResult[], byMagnitude: boolean): DiffResult[] {
  const byName = (x: DiffResult, y: DiffResult) => compareNames(x.name, y.name);
  if (!byMagnitude) return results.sort(byName);
  const tier = (r: DiffResult) => (r.kind !== 'TensorStatsChanged' ? 2 : r.comparison.rel_l2_change === null ? 1 : 0);
  const magnitude = (r: DiffResult) => (r.kind !== 'TensorStatsChanged' ? 0 : (r.comparison.rel_l2_change ?? r.comparison.mean_abs_diff ?? 0));
  return results.sort((x, y) => tier(x) - tier(y) || magnitude(y) - magnitude(x) || byName(x, y));
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function leafEqual(a: LeafValue, b: LeafValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return JSON.stringify(a) === JSON.stringify(b);
}
