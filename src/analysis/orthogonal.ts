/**
 * Small dense linear algebra for the embedding analysis: orthogonal Procrustes for a square
 * d×d matrix M = AᵀB through the symmetric eigendecomposition of MᵀM (Householder
 * tridiagonalisation and implicit QL, EISPACK's tred2/tql2 as JAMA publishes them; ~6·d³
 * flops once, no sweeps). Matrices are row-major Float64Arrays.
 */

/** Eigenvalues (ascending is not promised) and eigenvectors (row j of `vectors` is the vector of values[j]) of a symmetric n×n matrix. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(V, d, e, n);
  // tql2 rotates columns of V: work on its transpose, whose rows are those columns.
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[j * n + i] = V[i * n + j]!;
  tql2(W, d, e, n);
  return { values: d, vectors: W };
}

/** Householder reduction of the symmetric V (row-major, overwritten by the transformation) to tridiagonal d (diagonal), e (subdiagonal). */
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k]! += V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j]! -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); W holds the eigenvectors as rows (the transposed transformation). */
function tql2(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      for (let iter = 0; iter < 100 * n; iter++) {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          // Rotate eigenvector rows i and i+1.
          const oi = i * n;
          const oj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = W[oj + k]!;
            W[oj + k] = s * W[oi + k]! + c * hk;
            W[oi + k] = c * W[oi + k]! - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]!) > eps * tst1)) break;
      }
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

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
  const { values, vectors: vT } = symmetricEigen(s, d);
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
