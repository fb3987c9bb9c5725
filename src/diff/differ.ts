/**
 * The differ: joins two model descriptions by name, decides what is added, removed,
 * reshaped or re-typed from descriptors alone, and asks the engine to compare the values
 * of common tensors (one streaming pass per pair).
 */
import type { Executor, TensorPartials } from '../engine/executor.js';
import type { ComparePartial } from '../engine/partials.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../formats/types.js';
import { runAll, tensorBytes } from '../engine/executor.js';
import { metadataKind, modelViewOf, type ModelView } from '../model/view.js';
import { comparison, tensorStats } from './stats.js';
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
  return (name) => (options.path === undefined || name.includes(options.path)) && !options.ignoreKeysRegex?.test(name);
}

/** `plan` defaults to planDiff(a, b, options); callers that sized the work from it pass it in. */
export async function diffModels(
  a: ModelDescription,
  b: ModelDescription,
  executor: Executor,
  options: DiffOptions = {},
  plan: PlanStep[] = planDiff(a, b, options),
): Promise<DiffResult[]> {
  const epsilon = options.epsilon ?? 0;
  const read = !options.shapeOnly;
  // Large jobs are submitted at once, so the executor can schedule the largest first; small ones in windows.
  const results = await runAll(
    plan,
    (step) => (read ? stepBytes(step) : 0),
    async (step): Promise<DiffResult[]> => {
      switch (step.kind) {
        case 'removed': {
          const p = read ? await executor.stats(step.a) : undefined;
          options.onTensor?.({ name: step.a.name, a: step.a, partialsA: p });
          return [{ kind: 'TensorRemoved', name: step.a.name, stats: tensorStats(step.a, p) }];
        }
        case 'added': {
          const p = read ? await executor.stats(step.b) : undefined;
          options.onTensor?.({ name: step.b.name, b: step.b, partialsB: p });
          return [{ kind: 'TensorAdded', name: step.b.name, stats: tensorStats(step.b, p) }];
        }
        case 'common': {
          const { a: ta, b: tb } = step;
          const out: DiffResult[] = [];
          const sameShape = sameDims(ta.shape, tb.shape);
          if (!sameShape) out.push({ kind: 'TensorShapeChanged', name: ta.name, a: ta.shape, b: tb.shape });
          if (ta.dtype !== tb.dtype) out.push({ kind: 'TensorDtypeChanged', name: ta.name, a: ta.dtype, b: tb.dtype });
          if (!sameShape || !read) {
            options.onTensor?.({ name: ta.name, a: ta, b: tb });
            return out;
          }
          // Values are compared even across dtypes (f32 → f16 rounding is a real change).
          const r = await executor.compare(ta, tb, epsilon);
          options.onTensor?.({ name: ta.name, a: ta, b: tb, partialsA: r.a, partialsB: r.b, comparison: r.comparison });
          if (r.comparison.changed > 0) {
            out.push({ kind: 'TensorStatsChanged', name: ta.name, a: tensorStats(ta, r.a), b: tensorStats(tb, r.b), comparison: comparison(r.comparison) });
          }
          return out;
        }
      }
    },
  );
  const keep = nameFilter(options);
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const [leavesA, leavesB] = comparableLeaves(va, vb);
  return sortResults([...results.flat(), ...tieChanges(va, vb, keep), ...diffLeaves(leavesA, leavesB, keep)], options.sortByChangeMagnitude ?? false);
}

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

/** Tensor bytes one plan step reads. */
function stepBytes(s: PlanStep): number {
  return tensorBytes(s.kind === 'common' ? [s.a, s.b] : s.kind === 'added' ? [s.b] : [s.a]);
}

/** Tensor bytes a plan will read (0 with --shape-only). */
export function planBytes(plan: PlanStep[], options: DiffOptions = {}): number {
  if (options.shapeOnly) return 0;
  return tensorBytes(plan.flatMap((s) => (s.kind === 'common' ? (sameDims(s.a.shape, s.b.shape) ? [s.a, s.b] : []) : s.kind === 'added' ? [s.b] : [s.a])));
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
 * Names in code-point order; with magnitude sorting, value changes first by relative L2
 * change, then value changes of tensors that were all zero in A (no relative change exists:
 * ranking them first would hide the real changes) by mean |b − a|, then everything else.
 */
export function sortResults(results: DiffResult[], byMagnitude: boolean): DiffResult[] {
  const byName = (x: DiffResult, y: DiffResult) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
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
