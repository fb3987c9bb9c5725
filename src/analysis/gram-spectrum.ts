/**
 * Every singular value of a matrix whose smaller side d is at most GRAM_MAX_DIM, the one way
 * --param-efficiency-analysis, --performance-impact-estimate (src/analysis/spectra.ts) and
 * --spectral-analysis (src/analysis/singular-values.ts) take them: the d×d Gram matrix (WᵀW
 * or WWᵀ, as many identity columns per product as one matvec pass takes, each product
 * streaming W through the engine) and its eigenvalues (linalg.ts's symmetric eigensolver),
 * σᵢ = √λᵢ. Exact up to rounding, and memory stays at the d×d Gram plus one block of products.
 *
 * When several analyses run in one invocation they ask for the same matrices: GramSpectra
 * keeps each stored tensor's values for the run, keyed by model and tensor name, so W is
 * streamed once.
 */
import { MATVEC_MAX_K } from '../engine/matvec-limits.js';
import type { ModelDescription } from '../formats/types.js';
import { mat, symmetricEigen } from './linalg.js';
import type { LinearOperator } from './linear-operator.js';

/** Matrices with min(rows, cols) up to this get every singular value (Gram ≤ 256×256 f64, 512 KiB). */
export const GRAM_MAX_DIM = 256;

/** Singular values of `op`, ascending (the eigensolver's order), from its d×d Gram matrix (d the smaller side); null when the Gram is not finite. */
export async function gramSingularValues(op: LinearOperator): Promise<number[] | null> {
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

/** Gram singular values of stored tensors for one run (analysis passes share it), each tensor computed once. */
export class GramSpectra {
  private readonly byModel = new Map<ModelDescription, Map<string, Promise<number[] | null>>>();

  /** The values of `name` in `model`, computed through `op` (the tensor as an operator) the first time they are asked for. */
  of(model: ModelDescription, name: string, op: () => LinearOperator): Promise<number[] | null> {
    let perModel = this.byModel.get(model);
    if (!perModel) this.byModel.set(model, (perModel = new Map()));
    let values = perModel.get(name);
    if (!values) perModel.set(name, (values = gramSingularValues(op())));
    return values;
  }
}
