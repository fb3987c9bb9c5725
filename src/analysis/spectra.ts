/**
 * Spectral passes over weight matrices (a 2+-D float parameter W viewed as [shape0, rest],
 * as torch.linalg.matrix_norm sees W.reshape(shape0, -1)): ‖W‖₂ per model, ‖B − A‖₂ per pair
 * (power iteration, src/analysis/power-iteration.ts) and the effective rank of matrices small
 * enough to have all their singular values computed. Every product streams the tensor through
 * the engine's matvec ops; no matrix is copied whole.
 */
import { isFloat } from '../dtypes.js';
import { type Executor, VEC_VALUES } from '../engine/executor.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { isParameter, statsOfModel } from './helpers.js';
import { matrixDims, spectralNorm, spectralNormOfDifference, type SpectralNorm } from './power-iteration.js';
import type { PairData } from './types.js';

/**
 * Effective rank needs every singular value: computed only when the smaller side of the
 * matrix is at most this (its Gram matrix, at most 256×256, is built with ⌈d/16⌉ × 2 streams
 * of W and its eigenvalues found by Jacobi rotations).
 */
export const EFFECTIVE_RANK_MAX_DIM = 256;

/** A weight matrix: a 2+-D float parameter with elements, rows short enough for a matvec block. */
export function isWeightMatrix(model: ModelDescription, desc: TensorDescriptor | undefined): desc is TensorDescriptor {
  if (!isParameter(model, desc) || desc.shape.length < 2 || desc.numel === 0 || !isFloat(desc.dtype)) return false;
  return matrixDims(desc)[1] <= VEC_VALUES;
}

/** The weight matrices of a model, each tie group once. */
export function weightMatrices(model: ModelDescription): TensorDescriptor[] {
  const view = modelViewOf(model);
  return model.tensors.filter((t) => view.entries.get(t.name)?.tiedTo === undefined && isWeightMatrix(model, t));
}

export async function spectralNorms(models: ModelDescription[], executor: Executor): Promise<Map<number, Map<string, SpectralNorm>>> {
  const out = new Map<number, Map<string, SpectralNorm>>();
  for (let m = 0; m < models.length; m++) {
    const per = new Map<string, SpectralNorm>();
    for (const w of weightMatrices(models[m]!)) per.set(w.name, await spectralNorm(executor, w));
    out.set(m, per);
  }
  return out;
}

export async function deltaSpectralNorms(pairs: PairData[], executor: Executor): Promise<Map<number, Map<string, SpectralNorm>>> {
  const out = new Map<number, Map<string, SpectralNorm>>();
  for (let k = 0; k < pairs.length; k++) {
    const p = pairs[k]!;
    const per = new Map<string, SpectralNorm>();
    for (const t of p.tensors) {
      if (!t.cmp || !isWeightMatrix(p.a, t.a) || !isWeightMatrix(p.b, t.b) || t.a.shape.join() !== t.b.shape.join()) continue;
      per.set(t.name, t.cmp.sumSqDiff === 0 ? { sigma: 0, iterations: 0, converged: true, residual: 0 } : await spectralNormOfDifference(executor, t.a, t.b));
    }
    out.set(k, per);
  }
  return out;
}

export async function effectiveRanks(models: ModelDescription[], pairs: PairData[], executor: Executor): Promise<Map<number, Map<string, number>>> {
  const out = new Map<number, Map<string, number>>();
  for (let m = 0; m < models.length; m++) {
    const per = new Map<string, number>();
    const norms = new Map(statsOfModel(pairs, m).map((t) => [t.desc.name, t.stats.l2_norm]));
    for (const w of weightMatrices(models[m]!)) {
      const [rows, cols] = matrixDims(w);
      // A zero matrix has no effective rank; a non-finite one no singular values.
      const fro = norms.get(w.name);
      if (Math.min(rows, cols) > EFFECTIVE_RANK_MAX_DIM || !fro || !Number.isFinite(fro)) continue;
      const r = effectiveRank(singularValuesFromGram(await gramMatrix(executor, w), Math.min(rows, cols)));
      if (r !== null) per.set(w.name, r);
    }
    out.set(m, per);
  }
  return out;
}

/** WᵀW (cols ≤ rows) or WWᵀ, d×d row-major with d the smaller side: 16 columns per two streams of W. */
async function gramMatrix(executor: Executor, w: TensorDescriptor): Promise<Float64Array> {
  const [rows, cols] = matrixDims(w);
  const d = Math.min(rows, cols);
  const g = new Float64Array(d * d);
  const k = Math.max(1, Math.min(16, Math.floor(VEC_VALUES / cols)));
  for (let c0 = 0; c0 < d; c0 += k) {
    const kk = Math.min(k, d - c0);
    const e = new Float64Array(d * kk);
    for (let c = 0; c < kk; c++) e[(c0 + c) * kk + c] = 1;
    // columns c0… of WᵀW = Wᵀ(W e), or of WWᵀ = W(Wᵀ e)
    const z = cols <= rows ? await executor.matvecT(w, await executor.matvec(w, e, kk), kk) : await executor.matvec(w, await executor.matvecT(w, e, kk), kk);
    for (let i = 0; i < d; i++) for (let c = 0; c < kk; c++) g[i * d + c0 + c] = z[i * kk + c]!;
  }
  return g;
}

/** Singular values of W from its d×d Gram matrix: square roots of its eigenvalues (cyclic Jacobi). */
function singularValuesFromGram(g: Float64Array, d: number): number[] {
  return symmetricEigenvalues(g, d).map((l) => Math.sqrt(Math.max(0, l)));
}

/**
 * Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan §8.5):
 * each rotation zeroes one off-diagonal pair; sweeps stop when the off-diagonal mass is
 * negligible against the diagonal's.
 */
export function symmetricEigenvalues(input: Float64Array, n: number): number[] {
  const a = Float64Array.from(input);
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p]! ** 2;
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!);
}

/**
 * Effective rank (Roy & Vetterli, "The effective rank: a measure of effective
 * dimensionality", EUSIPCO 2007): exp(H(p)) with p_i = σ_i / Σσ_j and H the Shannon entropy;
 * between 1 (one direction) and min(m, n) (all singular values equal). Null for a zero matrix.
 */
export function effectiveRank(sigmas: number[]): number | null {
  const total = sigmas.reduce((s, x) => s + x, 0);
  if (!(total > 0) || !Number.isFinite(total)) return null;
  let h = 0;
  for (const x of sigmas) {
    const p = x / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}
