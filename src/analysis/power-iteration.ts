/**
 * Spectral norms ‖M‖₂ (the largest singular value) by plain power iteration on MᵀM, where
 * M is a stored tensor W viewed as [shape0, rest] or the difference B − A of two stored
 * tensors (never materialised: (B − A)·v = B·v − A·v). Every product streams the tensor
 * through the engine's matvec/matvecT ops, so memory stays at a few vectors.
 *
 * Iteration (Golub & Van Loan, Matrix Computations, 4th ed., §8.2.1): v unit, y = M·v,
 * z = Mᵀ·y = MᵀM·v, μ = ‖y‖² = vᵀMᵀMv (Rayleigh quotient); stop when the residual
 * ‖z − μv‖ ≤ tol·μ (then some eigenvalue of MᵀM lies within tol·μ of μ), or when the
 * estimate's remaining error, extrapolated from its last two increments as a geometric series
 * (Aitken: Δₖ·ρ/(1 − ρ), ρ = Δₖ/Δₖ₋₁), is below ESTIMATE_TOLERANCE of it: the estimate
 * converges twice as fast as the vector, so close top singular values (slow residuals) still
 * give σ₁ to many digits. Else v = z/‖z‖. The estimate is √‖z‖ (‖MᵀMv‖ lies between μ and
 * σ₁², so it is the tighter lower bound).
 * The start vector is a fixed pseudo-random one, so results are reproducible.
 */
import type { LinearOperator } from './linear-operator.js';

/** Relative residual at which the iteration stops. */
export const POWER_TOLERANCE = 1e-7;
/** Iterations at most (each streams the tensor twice, or four times for a difference). */
export const POWER_MAX_ITERATIONS = 200;
/** Relative error of σ₁ (extrapolated) at which the iteration stops. */
export const ESTIMATE_TOLERANCE = 1e-10;

export interface SpectralNorm {
  /** The estimate of σ₁ (0 for an all-zero matrix); null when the values are not finite. */
  sigma: number | null;
  /** `power_iteration`, or `gram` when all singular values were computed (src/analysis/spectra.ts). */
  method: 'power_iteration' | 'gram';
  iterations: number;
  /** Whether the residual reached POWER_TOLERANCE (else `sigma` is a lower bound). */
  converged: boolean;
  /** The last relative residual ‖MᵀMv − μv‖/μ. */
  residual: number;
}

/** ‖W‖₂ and, where every singular value was computed (src/analysis/spectra.ts), the effective rank. */
export interface SpectralNormRank extends SpectralNorm {
  effectiveRank: number | null;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** A fixed unit start vector (xorshift32 values in (−1, 1)). */
function startVector(n: number): Float64Array {
  const v = new Float64Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  const r = norm(v);
  return v.map((x) => x / r);
}

export async function powerIteration(op: LinearOperator, tol = POWER_TOLERANCE, maxIterations = POWER_MAX_ITERATIONS): Promise<SpectralNorm> {
  if (op.rows === 0 || op.cols === 0) return { sigma: 0, method: 'power_iteration', iterations: 0, converged: true, residual: 0 };
  let v = startVector(op.cols);
  let estimate = 0;
  let residual = Infinity;
  let lastIncrement = Infinity;
  for (let it = 1; it <= maxIterations; it++) {
    const y = await op.apply(v, 1);
    const mu = norm(y) ** 2;
    if (!Number.isFinite(mu)) return { sigma: null, method: 'power_iteration', iterations: it, converged: false, residual: NaN };
    if (mu === 0) return { sigma: estimate, method: 'power_iteration', iterations: it, converged: estimate === 0, residual: estimate === 0 ? 0 : residual };
    const z = await op.applyT(y, 1);
    const zn = norm(z);
    let r = 0;
    for (let i = 0; i < z.length; i++) r += (z[i]! - mu * v[i]!) ** 2;
    residual = Math.sqrt(r) / mu;
    const next = Math.max(estimate, Math.sqrt(zn));
    const increment = next - estimate;
    estimate = next;
    const rho = increment / lastIncrement;
    const remaining = increment === 0 ? 0 : rho < 1 ? (increment * rho) / (1 - rho) : Infinity;
    lastIncrement = increment;
    if (residual <= tol || (it >= 3 && remaining <= ESTIMATE_TOLERANCE * estimate))
      return { sigma: estimate, method: 'power_iteration', iterations: it, converged: true, residual };
    v = z.map((x) => x / zn);
  }
  return { sigma: estimate, method: 'power_iteration', iterations: maxIterations, converged: false, residual };
}
