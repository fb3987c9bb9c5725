/**
 * Gathers what the analyses need in the same streaming passes as the diff: the diff of each
 * consecutive pair of models runs with a hook that keeps every tensor's partials (stats of
 * A and B, comparison). Extra reads happen only where an analysis asks for numbers the diff
 * pass does not produce: all-zero rows of tensors with enough zeros (dead units) and the
 * comparison of non-consecutive models for the similarity matrix. All numbers come from the
 * engine's kernels; nothing here loops over tensor bytes.
 */
import { isFloat } from '../dtypes.js';
import { Executor, tensorBytes } from '../engine/executor.js';
import { emptyCompare, mergeCompare, type ComparePartial } from '../engine/partials.js';
import { diffModels, nameFilter, planBytes, planDiff, type TensorEvent } from '../diff/differ.js';
import { tensorStats } from '../diff/stats.js';
import type { DiffResult, TensorStats } from '../diff/types.js';
import { describeModel } from '../formats/registry.js';
import { storedByteLength, type ModelDescription, type TensorDescriptor } from '../formats/types.js';
import type { LibraryOptions } from '../library.js';
import { isOptimizerState } from '../model/roles.js';

export { isOptimizerState };

/** One tensor of a pair of models, as the diff pass saw it. */
export interface PairTensor {
  name: string;
  a?: TensorDescriptor;
  b?: TensorDescriptor;
  statsA?: TensorStats;
  statsB?: TensorStats;
  /** Present when both tensors were read and compared (same shape). */
  cmp?: ComparePartial;
  /** Quantization analysis: B's values were snapped to this uniform grid (A's were not), dtype unchanged. */
  grid?: SnapGrid;
}

/** A uniform grid of 2^bits levels: symmetric (through 0, step max|x|/(2^(bits−1)−1)) or affine (from min, step (max−min)/(2^bits−1)). */
export interface SnapGrid {
  bits: number;
  scheme: 'symmetric' | 'affine';
  origin: number;
  step: number;
  /** Largest distance of B's values from the grid, in steps. */
  residual: number;
}

/** Values within this many steps of a grid point count as on the grid (f32 rounding of x = q·step). */
export const GRID_TOLERANCE = 1e-3;
/** Grids tried, coarsest first. */
export const GRID_BITS = [4, 8];
/** Tensors smaller than this are not tested (a handful of values fits many grids). */
export const GRID_MIN_ELEMENTS = 64;

export interface PairData {
  /** Indexes of the two models in the list given. */
  ia: number;
  ib: number;
  a: ModelDescription;
  b: ModelDescription;
  results: DiffResult[];
  /** Every tensor seen (after name filters), sorted by name. */
  tensors: PairTensor[];
}

export type AnalysisName =
  | 'quantization' | 'layerImpact' | 'architecture' | 'memory' | 'anomalies'
  | 'changeSummary' | 'convergence' | 'gradients' | 'similarity';

export interface CollectOptions extends LibraryOptions {
  analyses: Set<AnalysisName>;
}

export interface Collected {
  models: ModelDescription[];
  /** Consecutive pairs: (0,1), (1,2), … */
  pairs: PairData[];
  /** Anomaly detection: per model index, tensor name → indexes of all-zero rows. */
  zeroRows: Map<number, Map<string, number[]>>;
  /** Similarity matrix: comparison partials per tensor for every pair i < j, keyed `i,j`. */
  pairCompare: Map<string, Map<string, ComparePartial>>;
}

/** A tensor that counts as a model parameter for similarity and impact: floating point, not optimizer state. */
export function isParameter(desc: TensorDescriptor | undefined): boolean {
  return desc !== undefined && (isFloat(desc.dtype) || desc.dtype === 'c64' || desc.dtype === 'c128') && !isOptimizerState(desc.name);
}

/** The layer of a tensor: its name without the last component (`fc1.weight` → `fc1`). */
export function layerOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(0, i) : name;
}

export function bytesOf(desc: TensorDescriptor): number {
  return storedByteLength(desc);
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export async function collect(paths: string[], options: CollectOptions): Promise<Collected> {
  const models = await Promise.all(paths.map((p) => describeModel(p)));
  const plans = models.slice(1).map((b, k) => planDiff(models[k]!, b, options));
  const total = plans.reduce((sum, plan) => sum + planBytes(plan, options), 0);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    const pairs: PairData[] = [];
    for (let k = 0; k + 1 < models.length; k++) {
      const a = models[k]!;
      const b = models[k + 1]!;
      const seen = new Map<string, PairTensor>();
      const onTensor = (e: TensorEvent) => {
        seen.set(e.name, {
          name: e.name, a: e.a, b: e.b,
          statsA: e.a ? tensorStats(e.a, e.partialsA) : undefined,
          statsB: e.b ? tensorStats(e.b, e.partialsB) : undefined,
          cmp: e.comparison,
        });
      };
      const results = await diffModels(a, b, executor, { ...options, onTensor }, plans[k]);
      const tensors = [...seen.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      pairs.push({ ia: k, ib: k + 1, a, b, results, tensors });
    }
    if (options.analyses.has('quantization') && !options.shapeOnly) {
      for (const p of pairs) await findSnappedGrids(executor, p.tensors);
    }
    const zeroRows = new Map<number, Map<string, number[]>>();
    if (options.analyses.has('anomalies') && !options.shapeOnly) {
      for (let m = 0; m < models.length; m++) zeroRows.set(m, await findZeroRows(executor, statsOfModel(pairs, m)));
    }
    const pairCompare = new Map<string, Map<string, ComparePartial>>();
    if (options.analyses.has('similarity') && !options.shapeOnly) {
      for (const p of pairs) {
        const per = new Map<string, ComparePartial>();
        for (const t of p.tensors) if (t.cmp && isParameter(t.a) && isParameter(t.b)) per.set(t.name, t.cmp);
        pairCompare.set(`${p.ia},${p.ib}`, per);
      }
      const keep = nameFilter(options);
      for (let i = 0; i < models.length; i++) {
        for (let j = i + 2; j < models.length; j++) {
          const bTensors = new Map(models[j]!.tensors.map((t) => [t.name, t]));
          const jobs = models[i]!.tensors
            .filter((ta) => keep(ta.name) && isParameter(ta))
            .map((ta) => [ta, bTensors.get(ta.name)] as const)
            .filter((x): x is readonly [TensorDescriptor, TensorDescriptor] => x[1] !== undefined && isParameter(x[1]) && sameDims(x[0].shape, x[1].shape));
          const compared = await Promise.all(jobs.map(async ([ta, tb]) => [ta.name, (await executor.compare(ta, tb, 0)).comparison] as const));
          pairCompare.set(`${i},${j}`, new Map(compared));
        }
      }
    }
    return { models, pairs, zeroRows, pairCompare };
  } finally {
    await executor.close();
  }
}

/** Descriptor and stats of every tensor of model `m` as read in the pair passes. */
export function statsOfModel(pairs: PairData[], m: number): Array<{ desc: TensorDescriptor; stats: TensorStats }> {
  const out = new Map<string, { desc: TensorDescriptor; stats: TensorStats }>();
  for (const p of pairs) {
    for (const t of p.tensors) {
      if (p.ia === m && t.a && t.statsA) out.set(t.name, { desc: t.a, stats: t.statsA });
      if (p.ib === m && t.b && t.statsB) out.set(t.name, { desc: t.b, stats: t.statsB });
    }
  }
  return [...out.values()];
}

/** Candidate grids for a tensor with the given range, coarsest first. */
export function candidateGrids(min: number, max: number): Array<Omit<SnapGrid, 'residual'>> {
  const grids: Array<Omit<SnapGrid, 'residual'>> = [];
  const maxAbs = Math.max(Math.abs(min), Math.abs(max));
  for (const bits of GRID_BITS) {
    if (maxAbs > 0) grids.push({ bits, scheme: 'symmetric', origin: 0, step: maxAbs / (2 ** (bits - 1) - 1) });
    if (max > min) grids.push({ bits, scheme: 'affine', origin: min, step: (max - min) / (2 ** bits - 1) });
  }
  return grids;
}

/**
 * Quantization that keeps the dtype (values rounded to an int grid, stored as f32): for
 * changed float tensors of unchanged dtype, one pass over B measures its distance from each
 * candidate grid; the coarsest grid B sits on is then checked against A, and the tensor
 * counts as snapped only when A was not on it.
 */
async function findSnappedGrids(executor: Executor, tensors: PairTensor[]): Promise<void> {
  for (const t of tensors) {
    const { a, b, statsB } = t;
    if (!a || !b || !t.cmp || t.cmp.changed === 0 || a.dtype !== b.dtype || !isFloat(b.dtype) || a.quantization || b.quantization) continue;
    if (b.numel < GRID_MIN_ELEMENTS || statsB?.min === null || statsB?.max === null || statsB === undefined) continue;
    const grids = candidateGrids(statsB.min, statsB.max);
    if (grids.length === 0) continue;
    const residualsB = await executor.gridResiduals(b, grids);
    const hit = grids.findIndex((_, i) => residualsB[i]! <= GRID_TOLERANCE);
    if (hit < 0) continue;
    const grid = grids[hit]!;
    const [residualA] = await executor.gridResiduals(a, [grid]);
    if (residualA! > GRID_TOLERANCE) t.grid = { ...grid, residual: residualsB[hit]! };
  }
}

/**
 * All-zero rows (dim 0 slices) of matrices and higher tensors. A row is all zero only if the
 * tensor holds at least one row's worth of zeros, so only such tensors are read again, in
 * one streaming pass that counts each row's zeros with the stats kernel.
 */
async function findZeroRows(executor: Executor, tensors: Array<{ desc: TensorDescriptor; stats: TensorStats }>): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (const { desc, stats } of tensors) {
    if (desc.shape.length < 2 || !isFloat(desc.dtype) || desc.numel === 0) continue;
    if ((stats.zero_count ?? 0) < desc.numel / desc.shape[0]!) continue;
    const zero = await executor.zeroRows(desc);
    if (zero.length > 0) found.set(desc.name, zero);
  }
  return found;
}

/** Σ over compare partials (for layer and model aggregates). */
export function sumCompare(parts: Iterable<ComparePartial>): ComparePartial {
  let acc = emptyCompare();
  for (const p of parts) acc = mergeCompare(acc, p);
  return acc;
}

export { tensorBytes };
