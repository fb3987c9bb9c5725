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
import { isParameter } from './helpers.js';
import { differenceOperator, type LinearOperator, type SpectralNormRank, matrixDims, powerIteration, tensorOperator } from './power-iteration.js';
import type { PairData } from './types.js';

/**
 * Values one matvec vector block holds (the engine's VEC_VALUES, src/engine/executor.ts): kept
 * here so that loading the analyses does not load the executor and its worker pool.
 */
const VEC_VALUES = (4 << 20) / 8;

/** Matrices with min(rows, cols) up to this get every singular value (Gram ≤ 256×256 f64, 512 KiB). */
export const GRAM_MAX_DIM = 256;

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

/** Singular values from the d×d Gram matrix (d the smaller side); null when it is not finite or QL does not converge. */
async function singularValues(op: LinearOperator): Promise<number[] | null> {
  const { rows, cols } = op;
  const d = Math.min(rows, cols);
  const g = new Float64Array(d * d);
  const k = Math.max(1, Math.min(16, Math.floor(VEC_VALUES / Math.max(rows, cols))));
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
  const lambdas = symmetricEigenvalues(g, d);
  return lambdas === null ? null : lambdas.map((l) => Math.sqrt(Math.max(0, l)));
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major, overwritten): Householder reduction to
 * tridiagonal form, then the QL algorithm with implicit shifts (Golub & Van Loan §8.3;
 * Numerical Recipes' tred2/tqli without eigenvectors). Null if QL needs over 60 sweeps for one.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): number[] | null {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[i * n + k]!);
      if (scale === 0) e[i] = a[i * n + l]!;
      else {
        for (let k = 0; k <= l; k++) {
          a[i * n + k] = a[i * n + k]! / scale;
          h += a[i * n + k]! ** 2;
        }
        let f = a[i * n + l]!;
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          g = 0;
          for (let k = 0; k <= j; k++) g += a[j * n + k]! * a[i * n + k]!;
          for (let k = j + 1; k <= l; k++) g += a[k * n + j]! * a[i * n + k]!;
          e[j] = g / h;
          f += e[j]! * a[i * n + j]!;
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          f = a[i * n + j]!;
          g = e[j]! - hh * f;
          e[j] = g;
          for (let k = 0; k <= j; k++) a[j * n + k] = a[j * n + k]! - (f * e[k]! + g * a[i * n + k]!);
        }
      }
    } else e[i] = a[i * n + l]!;
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
  // QL with implicit shifts on the tridiagonal (d, e).
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) + dd === dd) break;
      }
      if (m !== l) {
        if (iter++ === 60) return null;
        let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
        let r = Math.hypot(g, 1);
        g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i]!;
          const b = c * e[i]!;
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] = d[i + 1]! - p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1]! - p;
          r = (d[i]! - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] = d[l]! - p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return Array.from(d);
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
