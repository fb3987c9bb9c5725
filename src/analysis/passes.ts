/**
 * The extra engine passes analyses can ask for (`needs` in their plug-in). Each runs after
 * the diff pass of every pair, on the same executor, and only reads tensors the diff pass
 * could not answer for. All numbers come from the engine's kernels.
 */
import { isFloat } from '../dtypes.js';
import type { Executor } from '../engine/executor.js';
import type { ComparePartial } from '../engine/partials.js';
import { nameFilter, type DiffOptions } from '../diff/differ.js';
import { tensorStats } from '../diff/stats.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { isParameter, relChange, statsOfModel, type ModelTensor } from './helpers.js';
import { adamSteps } from './optimizer-state.js';
import type { GramSpectra } from './gram-spectrum.js';
import { deltaSpectralNorms, spectralNorms } from './spectra.js';
import { toleranceOf } from './tolerance.js';
import { measureAttention, type AttentionHeads } from './attention-heads.js';
import { clusteringPass } from './clustering-pass.js';
import { embeddingPass } from './embedding-pass.js';
import type { MatrixSpectrum, PairData, PairTensor, PassName, PassOutputs, SnapGrid, SpectraPair, ToleranceCheck, ValueHistogram } from './types.js';

/** Values within this many steps of a grid point count as on the grid (f32 rounding of x = q·step). */
export const GRID_TOLERANCE = 1e-3;
/** Grids tried, coarsest first. */
export const GRID_BITS = [4, 8];
/** Tensors smaller than this are not tested (a handful of values fits many grids). */
export const GRID_MIN_ELEMENTS = 64;

export interface PassContext {
  models: ModelDescription[];
  pairs: PairData[];
  executor: Executor;
  options: DiffOptions;
  /** Gram singular values of stored matrices, shared by the spectral passes of this run. */
  gram: GramSpectra;
}

type Passes = { [K in PassName]: (ctx: PassContext) => Promise<PassOutputs[K]> };

/** In the order they run. */
export const PASSES: Passes = {
  snappedGrids: async ({ pairs, executor }) => {
    let marked = 0;
    for (const p of pairs) marked += await findSnappedGrids(executor, p.tensors);
    return marked;
  },
  zeroRows: async ({ models, pairs, executor }) => {
    const out = new Map<number, Map<string, number[]>>();
    for (let m = 0; m < models.length; m++) out.set(m, await findZeroRows(executor, statsOfModel(pairs, m)));
    return out;
  },
  pairCompare: ({ models, pairs, executor, options }) => comparePairs(models, pairs, executor, options, () => true),
  baselineCompare: ({ models, pairs, executor, options }) => comparePairs(models, pairs, executor, options, (i) => i === 0),
  tolerances: async ({ pairs, executor, options }) => {
    const out = new Map<number, Map<string, ToleranceCheck>>();
    for (let k = 0; k < pairs.length; k++) out.set(k, await checkTolerances(pairs[k]!, executor, options));
    return out;
  },
  quantizedLinks: async ({ pairs, executor, options }) => {
    const out = new Map<number, PairTensor[]>();
    for (let k = 0; k < pairs.length; k++) out.set(k, await compareQuantizedLinks(pairs[k]!, executor, options));
    return out;
  },
  lowRankDeltas: async ({ pairs, executor, options }) => {
    const { lowRankDeltas } = await import('./singular-values.js');
    const out = new Map<number, MatrixSpectrum[]>();
    for (let k = 0; k < pairs.length; k++) out.set(k, await lowRankDeltas(pairs[k]!, executor, options.rankK));
    return out;
  },
  matrixSpectra: async ({ pairs, executor, gram }) => {
    const { matrixSpectra } = await import('./singular-values.js');
    const out = new Map<number, SpectraPair[]>();
    for (let k = 0; k < pairs.length; k++) out.set(k, await matrixSpectra(pairs[k]!, executor, gram));
    return out;
  },
  histograms: async ({ pairs, executor }) => {
    const out = new Map<string, ValueHistogram[]>();
    for (const p of pairs) out.set(`${p.ia},${p.ib}`, await mostChangedHistograms(executor, p));
    return out;
  },
  attentionHeads: async ({ pairs, executor, options }) => {
    const out = new Map<string, AttentionHeads>();
    for (const p of pairs) out.set(`${p.ia},${p.ib}`, await measureAttention(p, executor, options));
    return out;
  },
  embeddings: ({ pairs, executor, options }) => embeddingPass(pairs, executor, options),
  clustering: ({ pairs, executor, options }) => clusteringPass(pairs, executor, options),
  adamSteps: ({ models, pairs, executor }) => adamSteps(models, pairs, executor),
  spectralNorms: ({ models, executor, gram }) => spectralNorms(models, executor, gram),
  deltaSpectralNorms: ({ pairs, executor }) => deltaSpectralNorms(pairs, executor),
};

/**
 * A float parameter on one side and the quantized weight that replaces it on the other
 * (`fc1.weight` ↔ `fc1._packed_params._packed_params.0`): the name join cannot pair them, the
 * model view's links do. Each such pair is compared dequantized, like a re-typed tensor.
 */
async function compareQuantizedLinks(p: PairData, executor: Executor, options: DiffOptions): Promise<PairTensor[]> {
  const keep = nameFilter(options);
  const va = modelViewOf(p.a);
  const vb = modelViewOf(p.b);
  const out: PairTensor[] = [];
  const link = async (floatSide: 'a' | 'b') => {
    const [vf, vq] = floatSide === 'a' ? [va, vb] : [vb, va];
    for (const q of vq.entries.values()) {
      if (q.role !== 'quantized' || q.linkedTo === undefined || !keep(q.linkedTo) || vq.entries.has(q.linkedTo)) continue;
      const f = vf.entries.get(q.linkedTo);
      if (f?.role !== 'parameter' || !sameDims(f.descriptor.shape, q.descriptor.shape)) continue;
      if (f.descriptor.dtype === q.descriptor.dtype && !q.descriptor.quantization) continue;
      const [ta, tb] = floatSide === 'a' ? [f.descriptor, q.descriptor] : [q.descriptor, f.descriptor];
      const r = await executor.compare(ta, tb, options.epsilon ?? 0);
      out.push({ name: q.linkedTo, a: ta, b: tb, statsA: tensorStats(ta, r.a), statsB: tensorStats(tb, r.b), cmp: r.comparison });
    }
  };
  await link('a');
  await link('b');
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** Tensors per pair whose value histograms reports draw, and their bins. */
export const HISTOGRAM_TENSORS = 4;
export const HISTOGRAM_BINS = 40;

/**
 * A and B histograms of the pair's most changed real float tensors (by relative L2 change),
 * both over A's and B's common value range so the bars line up.
 */
async function mostChangedHistograms(executor: Executor, p: PairData): Promise<ValueHistogram[]> {
  const candidates = p.tensors
    .filter((t) => t.a && t.b && t.cmp && t.cmp.changed > 0 && isFloat(t.a.dtype) && isFloat(t.b.dtype))
    .map((t) => ({ t, rel: relChange(t.cmp!) ?? -1 }))
    .sort((x, y) => y.rel - x.rel || (x.t.name < y.t.name ? -1 : 1));
  const out: ValueHistogram[] = [];
  for (const { t } of candidates) {
    if (out.length >= HISTOGRAM_TENSORS) break;
    const { statsA, statsB } = t;
    if (statsA?.min == null || statsA.max == null || statsB?.min == null || statsB.max == null) continue;
    const lo = Math.min(statsA.min, statsB.min);
    const hi = Math.max(statsA.max, statsB.max);
    if (!(lo < hi) || !Number.isFinite(hi - lo)) continue;
    const params = { lo, hi, bins: HISTOGRAM_BINS };
    const [ha, hb] = [await executor.histogram(t.a!, params), await executor.histogram(t.b!, params)];
    out.push({ name: t.name, lo, hi, a: [...ha.counts], b: [...hb.counts] });
  }
  return out;
}

/**
 * Every tensor both sides hold with the same shape, against its tolerance (torch's default for
 * A's dtype unless given). A tensor the diff found exactly equal, without NaN in A, is not
 * read again: nothing in it can be outside any tolerance.
 */
async function checkTolerances(p: PairData, executor: Executor, options: DiffOptions): Promise<Map<string, ToleranceCheck>> {
  const out = new Map<string, ToleranceCheck>();
  for (const t of p.tensors) {
    if (!t.a || !t.b || !t.cmp) continue;
    const tol = toleranceOf(t.a, options.tolerance);
    const exact = t.cmp.changed === 0 && t.cmp.mismatched === 0 && (t.statsA?.nan_count ?? 0) === 0;
    const result = exact
      ? { violations: 0, nonFinite: 0, maxAbs: 0, maxAbsIndex: -1, maxRel: 0, maxRelIndex: -1 }
      : await executor.run('tolerance', [t.a, t.b], { atol: tol.atol, rtol: tol.rtol });
    out.set(t.name, { ...tol, result });
  }
  return out;
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
async function findSnappedGrids(executor: Executor, tensors: PairTensor[]): Promise<number> {
  let marked = 0;
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
    if (residualA! > GRID_TOLERANCE) {
      t.grid = { ...grid, residual: residualsB[hit]! };
      marked++;
    }
  }
  return marked;
}

/**
 * All-zero rows (dim 0 slices) of matrices and higher tensors. A row is all zero only if the
 * tensor holds at least one row's worth of zeros, so only such tensors are read again, in
 * one streaming pass that counts each row's zeros with the stats kernel.
 */
async function findZeroRows(executor: Executor, tensors: ModelTensor[]): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (const { desc, stats, role } of tensors) {
    if (role !== 'parameter' || desc.shape.length < 2 || !isFloat(desc.dtype) || desc.numel === 0) continue;
    if ((stats.zero_count ?? 0) < desc.numel / desc.shape[0]!) continue;
    const zero = await executor.zeroRows(desc);
    if (zero.length > 0) found.set(desc.name, zero);
  }
  return found;
}

/** The tensors of a model, each tie group once (through its representative). */
function uniqueTensors(model: ModelDescription): TensorDescriptor[] {
  const view = modelViewOf(model);
  return model.tensors.filter((t) => view.entries.get(t.name)?.tiedTo === undefined);
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Parameter comparisons of the pairs i < j that `wanted` accepts: consecutive pairs reuse the
 * diff pass's comparisons, every other wanted pair is compared now.
 */
async function comparePairs(
  models: ModelDescription[],
  pairs: PairData[],
  executor: Executor,
  options: DiffOptions,
  wanted: (i: number, j: number) => boolean,
): Promise<Map<string, Map<string, ComparePartial>>> {
  const out = new Map<string, Map<string, ComparePartial>>();
  for (const p of pairs) {
    if (!wanted(p.ia, p.ib)) continue;
    const per = new Map<string, ComparePartial>();
    for (const t of p.tensors) if (t.cmp && isParameter(p.a, t.a) && isParameter(p.b, t.b)) per.set(t.name, t.cmp);
    out.set(`${p.ia},${p.ib}`, per);
  }
  const keep = nameFilter(options);
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 2; j < models.length; j++) {
      if (!wanted(i, j)) continue;
      const bTensors = new Map(models[j]!.tensors.map((t) => [t.name, t]));
      const jobs = uniqueTensors(models[i]!)
        .filter((ta) => keep(ta.name) && isParameter(models[i]!, ta))
        .map((ta) => [ta, bTensors.get(ta.name)] as const)
        .filter(
          (x): x is readonly [TensorDescriptor, TensorDescriptor] => x[1] !== undefined && isParameter(models[j]!, x[1]) && sameDims(x[0].shape, x[1].shape),
        );
      const compared = await Promise.all(jobs.map(async ([ta, tb]) => [ta.name, (await executor.compare(ta, tb, 0)).comparison] as const));
      out.set(`${i},${j}`, new Map(compared));
    }
  }
  return out;
}
