/**
 * Spectral passes over weight matrices (a 2+-D float parameter W viewed as [shape0, rest],
 * as torch.linalg.matrix_norm sees W.reshape(shape0, -1)): ‖W‖₂ and the effective rank per
 * model, ‖B − A‖₂ per pair. Every product streams the tensors through the engine's matvec ops;
 * no matrix is copied whole.
 *
 * A matrix whose smaller side d is at most GRAM_MAX_DIM gets all its singular values: its
 * d×d Gram matrix (WᵀW or WWᵀ, 16 columns per two streams of W) and the Gram's eigenvalues
 * (Householder tridiagonalisation and implicit QL, below), σᵢ = √λᵢ. That is exact and costs
 * ⌈d/16⌉·2 streams; a larger matrix gets σ₁ by power iteration (src/analysis/power-iteration.ts)
 * and no effective rank.
 */
import { isFloat } from '../dtypes.js';
import type { Executor } from '../engine/executor.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { MATVEC_MAX_K } from '../engine/matvec-limits.js';
import { isParameter } from './helpers.js';
import { mat, symmetricEigen } from './linalg.js';
import { differenceOperator, fitsVectorBlock, type LinearOperator, tensorOperator } from './linear-operator.js';
import { powerIteration, type SpectralNormRank } from './power-iteration.js';
import type { PairData } from './types.js';

/** Matrices with min(rows, cols) up to this get every singular value (Gram ≤ 256×256 f64, 512 KiB). */
export const GRAM_MAX_DIM = 256;

/** A weight matrix: a 2+-D float parameter with elements, rows short enough for a matvec block. */
export function isWeightMatrix(model: ModelDescription, desc: TensorDescriptor | undefined): desc is TensorDescriptor {
  if (!isParameter(model, desc) || desc.shape.length < 2 || desc.numel === 0 || !isFloat(desc.dtype)) return false;
  return fitsVectorBlock(desc);
}

/** The weight matrices of a model, each tie group once. */
export function weightMatrices(model: ModelDescription): TensorDescriptor[] {
  const view = modelViewOf(model);
  return model.tensors.filter((t) => view.entries.get(t.name)?.tiedTo === undefined && isWeightMatrix(model, t));
}

/** σ₁ and the effective rank of an operator: from all singular values when small enough, else by power iteration. */
export async function matrixSpectrum(op: LinearOperator): Promise<SpectralNormRank> {
  if (Math.min(op.rows, op.cols) > GRAM_MAX_DIM) return { ...(await powerIteration(op)), effectiveRank: null };
  const sigmas = await singularValues(op);
  if (sigmas === null) return { ...(await powerIteration(op)), effectiveRank: null };
  return { sigma: Math.max(0, ...sigmas), method: 'gram', iterations: 0, converged: true, residual: 0, effectiveRank: effectiveRank(sigmas) };
}

export async function spectralNorms(models: ModelDescription[], executor: Executor): Promise<Map<number, Map<string, SpectralNormRank>>> {
  const out = new Map<number, Map<string, SpectralNormRank>>();
  for (let m = 0; m < models.length; m++) {
    const per = new Map<string, SpectralNormRank>();
    for (const w of weightMatrices(models[m]!)) per.set(w.name, await matrixSpectrum(tensorOperator(executor, w)));
    out.set(m, per);
  }
  return out;
}

export async function deltaSpectralNorms(pairs: PairData[], executor: Executor): Promise<Map<number, Map<string, SpectralNormRank>>> {
  const out = new Map<number, Map<string, SpectralNormRank>>();
  for (let k = 0; k < pairs.length; k++) {
    const p = pairs[k]!;
    const per = new Map<string, SpectralNormRank>();
    for (const t of p.tensors) {
      if (!t.cmp || !isWeightMatrix(p.a, t.a) || !isWeightMatrix(p.b, t.b) || t.a.shape.join() !== t.b.shape.join()) continue;
      const zero: SpectralNormRank = { sigma: 0, method: 'gram', iterations: 0, converged: true, residual: 0, effectiveRank: null };
      per.set(t.name, t.cmp.sumSqDiff === 0 ? zero : await matrixSpectrum(differenceOperator(executor, t.a, t.b)));
    }
    out.set(k, per);
  }
  return out;
}

/** Singular values from the d×d Gram matrix (d the smaller side); null when it is not finite. */
async function singularValues(op: LinearOperator): Promise<number[] | null> {
  const { rows, cols } = op;
  const d = Math.min(rows, cols);
  const g = new Float64Array(d * d);
  // Columns of the identity, as many per product as one matvec pass takes (the operator splits further if its rows are long).
  const k = Math.max(1, Math.min(d, MATVEC_MAX_K));
  for (let c0 = 0; c0 < d; c0 += k) {
    const kk = Math.min(k, d - c0);
    const e = new Float64Array(d * kk);
    for (let c = 0; c < kk; c++) e[(c0 + c) * kk + c] = 1;
    // columns c0… of WᵀW = Wᵀ(W e), or of WWᵀ = W(Wᵀ e)
    const z = cols <= rows ? await op.applyT(await op.apply(e, kk), kk) : await op.apply(await op.applyT(e, kk), kk);
    for (let i = 0; i < d; i++) for (let c = 0; c < kk; c++) g[i * d + c0 + c] = z[i * kk + c]!;
  }
  if (!g.every(Number.isFinite)) return null;
  // symmetrise the two computed halves (equal up to rounding)
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) g[i * d + j] = g[j * d + i] = (g[i * d + j]! + g[j * d + i]!) / 2;
  return Array.from(symmetricEigen(mat(d, d, g)).values, (l) => Math.sqrt(Math.max(0, l)));
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
