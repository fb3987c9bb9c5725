/**
 * Spectral passes over weight matrices (a 2+-D float parameter W viewed as [shape0, rest],
 * as torch.linalg.matrix_norm sees W.reshape(shape0, -1)): ‖W‖₂ and the effective rank per
 * model, ‖B − A‖₂ per pair. Every product streams the tensors through the engine's matvec ops;
 * no matrix is copied whole.
 *
 * A matrix whose smaller side d is at most GRAM_MAX_DIM gets all its singular values from its
 * d×d Gram matrix (src/analysis/gram-spectrum.ts; a stored tensor's are shared with
 * --spectral-analysis in the same run); a larger matrix gets σ₁ by power iteration
 * (src/analysis/power-iteration.ts) and no effective rank.
 */
import { isFloat } from '../dtypes.js';
import type { Executor } from '../engine/executor.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { isParameter } from './helpers.js';
import { GRAM_MAX_DIM, type GramSpectra, gramSingularValues } from './gram-spectrum.js';
import { differenceOperator, fitsVectorBlock, type LinearOperator, tensorOperator } from './linear-operator.js';
import { powerIteration, type SpectralNormRank } from './power-iteration.js';
import type { PairData } from './types.js';

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

/**
 * σ₁ and the effective rank of an operator: from all singular values when small enough (by
 * `sigmasOf`, the Gram route unless a cached one is given), else by power iteration.
 */
export async function matrixSpectrum(op: LinearOperator, sigmasOf = () => gramSingularValues(op)): Promise<SpectralNormRank> {
  if (Math.min(op.rows, op.cols) > GRAM_MAX_DIM) return { ...(await powerIteration(op)), effectiveRank: null };
  const sigmas = await sigmasOf();
  if (sigmas === null) return { ...(await powerIteration(op)), effectiveRank: null };
  return { sigma: Math.max(0, ...sigmas), method: 'gram', iterations: 0, converged: true, residual: 0, effectiveRank: effectiveRank(sigmas) };
}

export async function spectralNorms(models: ModelDescription[], executor: Executor, gram: GramSpectra): Promise<Map<number, Map<string, SpectralNormRank>>> {
  const out = new Map<number, Map<string, SpectralNormRank>>();
  for (let m = 0; m < models.length; m++) {
    const model = models[m]!;
    const per = new Map<string, SpectralNormRank>();
    for (const w of weightMatrices(model)) {
      const op = tensorOperator(executor, w);
      per.set(w.name, await matrixSpectrum(op, () => gram.of(model, w.name, () => op)));
    }
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
