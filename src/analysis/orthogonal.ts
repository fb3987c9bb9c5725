/**
 * Orthogonal Procrustes for the embedding analysis: a square d×d matrix M = AᵀB through the
 * symmetric eigendecomposition of MᵀM (linalg.ts: Householder tridiagonalisation and implicit
 * QL; ~6·d³ flops once, no sweeps). Matrices are row-major Float64Arrays.
 */
import { mat, symmetricEigen } from './linalg.js';

export interface Procrustes {
  /** R (d×d, row-major, orthogonal) minimising ‖A·R − B‖_F. */
  r: Float64Array;
  /** Σσ of AᵀB (= tr(RᵀAᵀB)): ‖A·R − B‖²_F = ‖A‖²_F + ‖B‖²_F − 2·nuclear. */
  nuclear: number;
}

/**
 * Orthogonal Procrustes (Schönemann 1966): for M = AᵀB = UΣVᵀ, R = U·Vᵀ. V and Σ² come from
 * the eigendecomposition of MᵀM, uⱼ = M·vⱼ/σⱼ; those of small σ are orthogonalised against
 * the larger ones (Gram–Schmidt, twice), and directions M does not determine (σ ≈ 0: fewer
 * rows than dimensions) completed with any orthonormal vectors — every completion is optimal.
 */
export function procrustes(m: Float64Array, d: number): Procrustes {
  // MᵀM, row by row of M: S += m_kᵀ m_k.
  const s = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const ok = k * d;
    for (let i = 0; i < d; i++) {
      const x = m[ok + i]!;
      if (x === 0) continue;
      const oi = i * d;
      for (let j = 0; j < d; j++) s[oi + j] += x * m[ok + j]!;
    }
  }
  const { values, vectors } = symmetricEigen(mat(d, d, s));
  const vT = vectors.data;
  const sigma = Array.from(values, (v) => Math.sqrt(Math.max(0, v)));
  const order = Array.from(sigma.keys()).sort((x, y) => sigma[y]! - sigma[x]!);
  const largest = sigma[order[0]!] ?? 0;
  const uT = new Float64Array(d * d);
  const u = new Float64Array(d);
  const filled: number[] = [];
  for (const j of order) {
    // σ below this is rounding of MᵀM (its eigenvalues carry errors of ~ε·σ_max²).
    if (!(sigma[j]! > largest * 1e-7)) continue;
    u.fill(0);
    for (let i = 0; i < d; i++) {
      let acc = 0;
      const oi = i * d;
      for (let k = 0; k < d; k++) acc += m[oi + k]! * vT[j * d + k]!;
      u[i] = acc / sigma[j]!;
    }
    // Columns of a well-separated σ are orthogonal to rounding already; only small σ's (whose
    // uⱼ carry errors of ~ε·σ_max/σⱼ) are re-orthogonalised against the others.
    if (sigma[j]! > largest * 1e-3) {
      const n = Math.sqrt(u.reduce((acc, x) => acc + x * x, 0));
      for (let i = 0; i < d; i++) u[i]! /= n;
    } else if (!orthonormalise(u, uT, filled, d)) continue;
    uT.set(u, j * d);
    filled.push(j);
  }
  // The rest: unit vectors e_0, e_1, … made orthogonal to what is there.
  let next = 0;
  for (const j of order) {
    if (filled.includes(j)) continue;
    while (next < d) {
      u.fill(0);
      u[next++] = 1;
      if (orthonormalise(u, uT, filled, d)) break;
    }
    uT.set(u, j * d);
    filled.push(j);
  }
  const r = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const o = j * d;
    for (let i = 0; i < d; i++) {
      const x = uT[o + i]!;
      if (x === 0) continue;
      const ri = i * d;
      for (let k = 0; k < d; k++) r[ri + k] += x * vT[o + k]!;
    }
  }
  // Σσ as tr(RᵀM), the optimum itself: σ's taken from MᵀM's eigenvalues would count a ~√ε·σ_max for every zero σ.
  let nuclear = 0;
  for (let i = 0; i < d * d; i++) nuclear += r[i]! * m[i]!;
  return { r, nuclear };
}

/** Makes `v` orthogonal to the rows `filled` of `rows` (two Gram–Schmidt passes) and unit; false when nothing independent is left. */
function orthonormalise(v: Float64Array, rows: Float64Array, filled: number[], d: number): boolean {
  const before = Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
  for (let pass = 0; pass < 2; pass++) {
    for (const k of filled) {
      const o = k * d;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += rows[o + i]! * v[i]!;
      for (let i = 0; i < d; i++) v[i]! -= dot * rows[o + i]!;
    }
  }
  const n = Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
  if (!(n > before * 1e-6)) return false;
  for (let i = 0; i < d; i++) v[i]! /= n;
  return true;
}
