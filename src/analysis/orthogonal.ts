/**
 * Small dense linear algebra for the embedding analysis: the singular value decomposition of
 * a square d×d matrix by one-sided Jacobi rotations (Hestenes; accurate for small singular
 * values, no bidiagonalisation), and orthogonal Procrustes on top of it. Matrices are
 * row-major Float64Arrays. Cost: about 6·d³ flops per sweep, a handful of sweeps.
 */

export interface SquareSvd {
  /** U as its columns: row j of `uT` is u_j (d×d, row-major). */
  uT: Float64Array;
  /** Singular values, in the order of the columns (not sorted). */
  s: Float64Array;
  /** V as its columns: row j of `vT` is v_j. */
  vT: Float64Array;
}

const MAX_SWEEPS = 60;

/** M = U·diag(s)·Vᵀ for a d×d row-major M. */
export function squareSvd(m: Float64Array, d: number): SquareSvd {
  // Work on the columns of M as contiguous rows: w[j] = column j of M·V.
  const w = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) w[j * d + i] = m[i * d + j]!;
  const vT = new Float64Array(d * d);
  for (let j = 0; j < d; j++) vT[j * d + j] = 1;
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < d - 1; p++) {
      const op = p * d;
      for (let q = p + 1; q < d; q++) {
        const oq = q * d;
        let alpha = 0,
          beta = 0,
          gamma = 0;
        for (let i = 0; i < d; i++) {
          const x = w[op + i]!,
            y = w[oq + i]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < d; i++) {
          const x = w[op + i]!,
            y = w[oq + i]!;
          w[op + i] = c * x - s * y;
          w[oq + i] = s * x + c * y;
          const vx = vT[op + i]!,
            vy = vT[oq + i]!;
          vT[op + i] = c * vx - s * vy;
          vT[oq + i] = s * vx + c * vy;
        }
      }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(d);
  const uT = new Float64Array(d * d);
  let largest = 0;
  for (let j = 0; j < d; j++) {
    let n = 0;
    for (let i = 0; i < d; i++) n += w[j * d + i]! ** 2;
    s[j] = Math.sqrt(n);
    largest = Math.max(largest, s[j]!);
  }
  const missing: number[] = [];
  for (let j = 0; j < d; j++) {
    if (s[j]! > largest * d * eps && s[j]! > 0) for (let i = 0; i < d; i++) uT[j * d + i] = w[j * d + i]! / s[j]!;
    else missing.push(j);
  }
  completeOrthonormal(uT, d, missing);
  return { uT, s, vT };
}

/**
 * Fills the rows `missing` of `rows` (d×d) so all rows are orthonormal: Gram–Schmidt of the
 * unit vectors e_0, e_1, … against the rows already there (a rank-deficient M leaves some
 * left singular vectors free; any orthonormal completion keeps U·Vᵀ orthogonal).
 */
function completeOrthonormal(rows: Float64Array, d: number, missing: number[]): void {
  if (missing.length === 0) return;
  const filled = new Set(Array.from({ length: d }, (_, j) => j).filter((j) => !missing.includes(j)));
  let e = 0;
  for (const j of missing) {
    for (; e < d; e++) {
      const v = new Float64Array(d);
      v[e] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const k of filled) {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += rows[k * d + i]! * v[i]!;
          for (let i = 0; i < d; i++) v[i]! -= dot * rows[k * d + i]!;
        }
      }
      const n = Math.hypot(...v);
      if (n > 1e-6) {
        for (let i = 0; i < d; i++) rows[j * d + i] = v[i]! / n;
        filled.add(j);
        e++;
        break;
      }
    }
  }
}

export interface Procrustes {
  /** R (d×d, row-major, orthogonal) minimising ‖A·R − B‖_F. */
  r: Float64Array;
  /** Σσ of AᵀB: ‖A·R − B‖²_F = ‖A‖²_F + ‖B‖²_F − 2·nuclear. */
  nuclear: number;
}

/** Orthogonal Procrustes (Schönemann 1966): for M = AᵀB = UΣVᵀ, R = U·Vᵀ. */
export function procrustes(aTb: Float64Array, d: number): Procrustes {
  const { uT, s, vT } = squareSvd(aTb, d);
  const r = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const uo = j * d;
    for (let i = 0; i < d; i++) {
      const u = uT[uo + i]!;
      if (u === 0) continue;
      const ro = i * d;
      for (let k = 0; k < d; k++) r[ro + k] += u * vT[uo + k]!;
    }
  }
  return { r, nuclear: s.reduce((x, y) => x + y, 0) };
}
