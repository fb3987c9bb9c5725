/**
 * The differ: joins two model descriptions by name, decides what is added, removed,
 * reshaped or re-typed from descriptors alone, and asks the engine to compare the values
 * of common tensors (one streaming pass per pair).
 */
import type { Engine } from '../engine/engine.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../formats/types.js';
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
}

export function nameFilter(options: DiffOptions): (name: string) => boolean {
  return (name) =>
    (options.path === undefined || name.includes(options.path)) &&
    !(options.ignoreKeysRegex && options.ignoreKeysRegex.test(name));
}

export async function diffModels(a: ModelDescription, b: ModelDescription, engine: Engine, options: DiffOptions = {}): Promise<DiffResult[]> {
  const keep = nameFilter(options);
  const epsilon = options.epsilon ?? 0;
  const tensorsA = byName(a.tensors.filter((t) => keep(t.name)));
  const tensorsB = byName(b.tensors.filter((t) => keep(t.name)));
  const results: DiffResult[] = [];

  for (const [name, ta] of tensorsA) {
    const tb = tensorsB.get(name);
    if (!tb) {
      results.push({ kind: 'TensorRemoved', name, stats: tensorStats(ta, options.shapeOnly ? undefined : await engine.stats(ta)) });
      continue;
    }
    const sameShape = sameDims(ta.shape, tb.shape);
    if (!sameShape) results.push({ kind: 'TensorShapeChanged', name, a: ta.shape, b: tb.shape });
    if (ta.dtype !== tb.dtype) results.push({ kind: 'TensorDtypeChanged', name, a: ta.dtype, b: tb.dtype });
    if (!sameShape || options.shapeOnly) continue;
    // Values are compared even across dtypes (f32 → f16 rounding is a real change).
    const r = await engine.compare(ta, tb, epsilon);
    if (r.comparison.changed > 0) {
      results.push({
        kind: 'TensorStatsChanged', name,
        a: tensorStats(ta, r.a), b: tensorStats(tb, r.b), comparison: comparison(r.comparison),
      });
    }
  }
  for (const [name, tb] of tensorsB) {
    if (!tensorsA.has(name)) {
      results.push({ kind: 'TensorAdded', name, stats: tensorStats(tb, options.shapeOnly ? undefined : await engine.stats(tb)) });
    }
  }
  results.push(...diffLeaves(a.leaves, b.leaves, keep));
  return sortResults(results, options.sortByChangeMagnitude ?? false);
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

/** Names in code-point order; with magnitude sorting, value changes first by rel. L2 change. */
export function sortResults(results: DiffResult[], byMagnitude: boolean): DiffResult[] {
  const byName = (x: DiffResult, y: DiffResult) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
  if (!byMagnitude) return results.sort(byName);
  const magnitude = (r: DiffResult) => (r.kind === 'TensorStatsChanged' ? (r.comparison.rel_l2_change ?? Infinity) : -1);
  return results.sort((x, y) => magnitude(y) - magnitude(x) || byName(x, y));
}

function byName(tensors: TensorDescriptor[]): Map<string, TensorDescriptor> {
  return new Map(tensors.map((t) => [t.name, t]));
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function leafEqual(a: LeafValue, b: LeafValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return JSON.stringify(a) === JSON.stringify(b);
}
