/**
 * A stored tensor, or the difference of two, as a matrix known only through its products
 * with blocks of vectors: the form power iteration (power-iteration.ts) and randomized SVD
 * (randomized-svd.ts) consume. Every product streams the tensor through the engine's
 * matvec/matvecT ops, so no matrix is held in memory and ΔW = B − A is never formed.
 */
import type { Executor } from '../engine/executor.js';
import { MATVEC_MAX_K, VEC_VALUES } from '../engine/matvec-limits.js';
import { asShared, sharedF64 } from '../engine/shared-block.js';
import type { TensorDescriptor } from '../formats/types.js';

/** apply(X n×k) = W·X (m×k), applyT(Y m×k) = Wᵀ·Y (n×k); blocks are row-major f64. */
export interface LinearOperator {
  rows: number;
  cols: number;
  apply(x: Float64Array, k: number): Promise<Float64Array>;
  applyT(y: Float64Array, k: number): Promise<Float64Array>;
}

/** [m, n] of a tensor as a matrix: [d0, product of the rest] (a conv weight [out, in, kh, kw] is [out, in·kh·kw]). */
export function matrixDims(desc: TensorDescriptor): [number, number] {
  const m = desc.shape[0] ?? 0;
  return [m, m === 0 ? 0 : desc.numel / m];
}

/** Rows short enough for one matvec vector block (n·1 ≤ VEC_VALUES). */
export function fitsVectorBlock(desc: TensorDescriptor): boolean {
  return matrixDims(desc)[1] <= VEC_VALUES;
}

/** W as a linear operator over the engine, in blocks of as many vectors as the op and its vector memory allow. */
export function tensorOperator(executor: Executor, desc: TensorDescriptor): LinearOperator {
  const [m, n] = matrixDims(desc);
  const block = Math.max(1, Math.min(MATVEC_MAX_K, Math.floor(VEC_VALUES / Math.max(n, 1))));
  return {
    rows: m,
    cols: n,
    apply: (x, k) => blocked(x, n, m, k, block, (xb, kb) => executor.matvec(desc, xb, kb)),
    applyT: (y, k) => blocked(y, m, n, k, block, (yb, kb) => executor.matvecT(desc, yb, kb)),
  };
}

/** ΔW = B − A as an operator: every product is B's minus A's (B·X − A·X), so ΔW is never formed. */
export function differenceOperator(executor: Executor, a: TensorDescriptor, b: TensorDescriptor): LinearOperator {
  const opA = tensorOperator(executor, a);
  const opB = tensorOperator(executor, b);
  const minus = async (pb: Promise<Float64Array>, pa: Promise<Float64Array>) => {
    const [yb, ya] = await Promise.all([pb, pa]);
    for (let i = 0; i < yb.length; i++) yb[i] = yb[i]! - ya[i]!;
    return yb;
  };
  return {
    rows: opA.rows,
    cols: opA.cols,
    // One shared copy of the block serves both sides (and every range job of each).
    apply: (x, k) => {
      const shared = asShared(x);
      return minus(opB.apply(shared, k), opA.apply(shared, k));
    },
    applyT: (y, k) => {
      const shared = asShared(y);
      return minus(opB.applyT(shared, k), opA.applyT(shared, k));
    },
  };
}

/** Product of an (inRows × k) block by columns: `block` columns per engine call, gathered into an (outRows × k) result. */
async function blocked(
  x: Float64Array,
  inRows: number,
  outRows: number,
  k: number,
  block: number,
  product: (xb: Float64Array, kb: number) => Promise<Float64Array>,
): Promise<Float64Array> {
  if (k <= block) return product(x, k);
  const out = new Float64Array(outRows * k);
  for (let c0 = 0; c0 < k; c0 += block) {
    const kb = Math.min(block, k - c0);
    const xb = sharedF64(inRows * kb);
    for (let i = 0; i < inRows; i++) for (let c = 0; c < kb; c++) xb[i * kb + c] = x[i * k + c0 + c]!;
    const yb = await product(xb, kb);
    for (let i = 0; i < outRows; i++) for (let c = 0; c < kb; c++) out[i * k + c0 + c] = yb[i * kb + c]!;
  }
  return out;
}
