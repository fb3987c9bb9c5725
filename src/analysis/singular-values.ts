/**
 * Singular values of weight matrices and of weight deltas, streamed: the passes behind
 * --low-rank-delta and --spectral-analysis. A matrix is only ever touched through the
 * engine's matvec/matvecT ops (W·X and Wᵀ·Y with blocks of at most 64 vectors, one pass each), and
 * ΔW = B − A through B·X − A·X, so neither W nor ΔW is copied into memory. The working set
 * per matrix is the sketch: a few (m + n)·l f64 blocks, l = k + oversampling (see
 * docs/analyses.md), or for a whole spectrum the d×d Gram matrix (gram-spectrum.ts); results
 * do not depend on the thread count (the ops are bit-identical).
 */
import { isComplex, isFloat } from '../dtypes.js';
import type { Executor } from '../engine/executor.js';
import { MATVEC_MAX_K, VEC_VALUES } from '../engine/matvec-limits.js';
import type { TensorDescriptor } from '../formats/types.js';
import { GRAM_MAX_DIM, type GramSpectra } from './gram-spectrum.js';
import { isParameter } from './helpers.js';
import { differenceOperator, matrixDims, tensorOperator } from './linear-operator.js';
import { randomizedSingularValues, workingSetBytes, type RandomizedSvdOptions } from './randomized-svd.js';
import type { MatrixSpectrum, PairData, SpectraPair } from './types.js';

/** --low-rank-delta: singular values reported per ΔW unless --rank-k says otherwise. */
export const LOW_RANK_DEFAULT_K = 32;
/** Extra sketch vectors (Halko et al. 2011, §4.2) and subspace iterations (Algorithm 4.4). */
export const OVERSAMPLE = 8;
export const POWER_ITERATIONS = 2;
/** --spectral-analysis: matrices whose smaller side is at least this (Martin & Mahoney's minimum, as weightwatcher's). */
export const SPECTRAL_MIN_DIM = 50;
/** Up to this smaller side, the whole spectrum is computed (exact, from the Gram matrix); above it, the top SPECTRAL_TAIL_K values. */
export const SPECTRAL_EXACT_MAX_DIM = GRAM_MAX_DIM;
export const SPECTRAL_TAIL_K = 64;
/** Sketch vectors beyond the tail's k: the k-th estimate of a slowly decaying spectrum needs a wider sketch than the first. */
export const SPECTRAL_OVERSAMPLE = 16;
/**
 * Most bytes of sketch blocks one matrix may take (randomized-svd.ts workingSetBytes); a matrix that
 * needs more (a long side of ~10⁵ rows at the default k: an LM head over a large vocabulary)
 * is skipped with the reason, rather than held in memory.
 */
export const SKETCH_BUDGET_BYTES = 256 << 20;
/** Seed of the Gaussian sketch: fixed, so a run is reproducible. */
export const SKETCH_SEED = 0x5eed;

/** Why a parameter is not treated as a matrix, or undefined when it is one. */
export function notAMatrix(desc: TensorDescriptor): string | undefined {
  if (desc.shape.length < 2) return 'not 2-D';
  if (!isFloat(desc.dtype) || isComplex(desc.dtype) || desc.quantization) return `dtype ${desc.dtype}`;
  const [m, n] = matrixDims(desc);
  if (Math.min(m, n) < 2) return `shape [${desc.shape.join(', ')}]`;
  if (n > VEC_VALUES) return `rows of ${n} elements exceed the ${VEC_VALUES} a vector block holds`;
  return undefined;
}

/** Why an m×n decomposition is refused for memory, or undefined when it fits SKETCH_BUDGET_BYTES. */
function overBudget(m: number, n: number, o: RandomizedSvdOptions, hint = ''): string | undefined {
  const bytes = workingSetBytes(m, n, o);
  if (bytes <= SKETCH_BUDGET_BYTES) return undefined;
  return `its sketch would take ${Math.ceil(bytes / 2 ** 20)} MiB, over the ${SKETCH_BUDGET_BYTES / 2 ** 20} MiB budget${hint}`;
}

function finite(t: PairData['tensors'][number], side: 'a' | 'b'): boolean {
  const s = side === 'a' ? t.statsA : t.statsB;
  return (s?.nan_count ?? 0) === 0 && (s?.posinf_count ?? 0) === 0 && (s?.neginf_count ?? 0) === 0;
}

function spectrumOf(desc: TensorDescriptor, r: Awaited<ReturnType<typeof randomizedSingularValues>>, sumSq: number | null): MatrixSpectrum {
  const [m, n] = matrixDims(desc);
  return {
    name: desc.name,
    shape: [...desc.shape],
    matrix: [m, n],
    values: r.values,
    exact: r.exact,
    sketch: r.sketch,
    products: r.products,
    frobeniusSq: sumSq,
  };
}

/**
 * The top-k singular values of ΔW for every matrix parameter both sides hold with the same
 * shape and that changed; unchanged matrices, other shapes and non-finite values are listed
 * with the reason they were not decomposed.
 */
export async function lowRankDeltas(p: PairData, executor: Executor, rankK = LOW_RANK_DEFAULT_K): Promise<MatrixSpectrum[]> {
  const out: MatrixSpectrum[] = [];
  for (const t of p.tensors) {
    if (!t.a || !t.b || !isParameter(p.a, t.a) || !isParameter(p.b, t.b)) continue;
    const why = notAMatrix(t.a) ?? notAMatrix(t.b);
    if (why !== undefined) continue;
    const [m, n] = matrixDims(t.a);
    const skip = (reason: string): MatrixSpectrum => ({
      name: t.name,
      shape: [...t.a!.shape],
      matrix: [m, n],
      values: [],
      exact: true,
      sketch: 0,
      products: 0,
      frobeniusSq: t.cmp?.sumSqDiff ?? null,
      skipped: reason,
    });
    if (!t.cmp || t.a.shape.join() !== t.b.shape.join()) continue;
    if (!finite(t, 'a') || !finite(t, 'b')) out.push(skip('non-finite values'));
    else if (t.cmp.sumSqDiff === 0) out.push({ ...skip('unchanged'), frobeniusSq: 0 });
    else {
      const o = { rank: rankK, oversample: OVERSAMPLE, powerIterations: POWER_ITERATIONS, seed: SKETCH_SEED };
      const over = overBudget(m, n, o, '; a smaller --rank-k needs less');
      if (over) out.push(skip(over));
      else out.push(spectrumOf(t.a, await randomizedSingularValues(differenceOperator(executor, t.a, t.b), o), t.cmp.sumSqDiff));
    }
  }
  return out;
}

/**
 * Singular values of each matrix parameter with smaller side ≥ SPECTRAL_MIN_DIM, in A and in
 * B (a matrix B holds unchanged is decomposed once): the whole spectrum up to
 * SPECTRAL_EXACT_MAX_DIM (the Gram route, shared with the other analyses of the run through
 * `gram`), else the top SPECTRAL_TAIL_K by randomized SVD.
 */
export async function matrixSpectra(p: PairData, executor: Executor, gram: GramSpectra): Promise<SpectraPair[]> {
  const out: SpectraPair[] = [];
  const decompose = async (t: PairData['tensors'][number], side: 'a' | 'b'): Promise<MatrixSpectrum | undefined> => {
    const desc = t[side];
    const model = side === 'a' ? p.a : p.b;
    if (!desc || !isParameter(model, desc) || notAMatrix(desc) !== undefined || !finite(t, side)) return undefined;
    const [m, n] = matrixDims(desc);
    const d = Math.min(m, n);
    if (d < SPECTRAL_MIN_DIM) return undefined;
    const stats = side === 'a' ? t.statsA : t.statsB;
    const sumSq = stats?.l2_norm == null ? null : stats.l2_norm ** 2;
    const op = tensorOperator(executor, desc);
    if (d <= SPECTRAL_EXACT_MAX_DIM) {
      const ascending = await gram.of(model, desc.name, () => op);
      // Products as gramSingularValues takes them: W and Wᵀ once per block of identity columns.
      const products = 2 * Math.ceil(d / Math.min(d, MATVEC_MAX_K));
      if (ascending) return spectrumOf(desc, { values: [...ascending].reverse(), exact: true, sketch: d, products }, sumSq);
    }
    // The tail (or, for a Gram that overflowed, the whole spectrum by one sketch of d vectors).
    const rank = d <= SPECTRAL_EXACT_MAX_DIM ? d : SPECTRAL_TAIL_K;
    const o = { rank, oversample: rank === d ? 0 : SPECTRAL_OVERSAMPLE, powerIterations: POWER_ITERATIONS, seed: SKETCH_SEED };
    const over = overBudget(m, n, o);
    if (over)
      return { name: desc.name, shape: [...desc.shape], matrix: [m, n], values: [], exact: false, sketch: 0, products: 0, frobeniusSq: sumSq, skipped: over };
    return spectrumOf(desc, await randomizedSingularValues(op, o), sumSq);
  };
  for (const t of p.tensors) {
    const a = await decompose(t, 'a');
    const same = a && t.b && t.cmp && t.cmp.sumSqDiff === 0 && t.cmp.mismatched === 0 && t.a!.dtype === t.b.dtype;
    const b = same ? { ...a, name: t.b!.name } : await decompose(t, 'b');
    if (a || b) out.push({ name: t.name, a, b });
  }
  return out;
}
