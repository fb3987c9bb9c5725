/**
 * Small dense linear algebra in float64 for analyses that work on factors of a few hundred
 * columns (attention heads: d_head × d_model): Householder QR, one-sided Jacobi SVD and the
 * subspace similarity of Hu et al. 2021. Generic and dependency-free; matrices are row-major.
 *
 * Low-rank products are handled through their factors: for X (k × n) and Y (l × n),
 * XᵀY (n × n, rank ≤ min(k, l)) has the singular values of R_X R_Yᵀ, where Xᵀ = Q_X R_X and
 * Yᵀ = Q_Y R_Y are thin QR factorisations, and its singular vectors are Q_X U and Q_Y V for
 * the SVD U Σ Vᵀ of R_X R_Yᵀ. No n × n matrix is ever formed, and working on the factors
 * (instead of their Gram matrices X Xᵀ) keeps the condition number unsquared.
 */

/** A dense row-major matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function mat(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Mat {
  if (data.length !== rows * cols) throw new RangeError(`matrix ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data };
}

/** Rows [r0, r1) of a row-major matrix (a copy). */
export function rowBlock(m: Mat, r0: number, r1: number): Mat {
  return mat(r1 - r0, m.cols, m.data.slice(r0 * m.cols, r1 * m.cols));
}

/** The transpose (a copy), in 32 × 32 tiles so that reads and writes both stay in cache. */
export function transpose(m: Mat): Mat {
  const out = new Float64Array(m.data.length);
  const { rows, cols, data } = m;
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = data[i * cols + j]!;
    }
  }
  return mat(cols, rows, out);
}

/** A stacked on top of B (same number of columns). */
export function stackRows(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new RangeError(`stackRows: ${a.cols} and ${b.cols} columns`);
  const out = new Float64Array(a.data.length + b.data.length);
  out.set(a.data, 0);
  out.set(b.data, a.data.length);
  return mat(a.rows + b.rows, a.cols, out);
}

/** A − B element-wise (same shape). */
export function subtract(a: Mat, b: Mat): Mat {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! - b.data[i]!;
  return mat(a.rows, a.cols, out);
}

/** A·Bᵀ (A m×n, B p×n → m×p): rows against rows, both read contiguously. */
export function mulABt(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new RangeError(`mulABt: ${a.cols} and ${b.cols} columns`);
  const n = a.cols;
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    const ai = i * n;
    for (let j = 0; j < b.rows; j++) {
      const bj = j * n;
      let s = 0;
      for (let t = 0; t < n; t++) s += a.data[ai + t]! * b.data[bj + t]!;
      out[i * b.rows + j] = s;
    }
  }
  return mat(a.rows, b.rows, out);
}

/** Frobenius norm, scaled to avoid overflow and underflow. */
export function frobenius(data: ArrayLike<number>): number {
  let scale = 0;
  let ssq = 1;
  for (let i = 0; i < data.length; i++) {
    const x = Math.abs(data[i]!);
    if (x === 0) continue;
    if (scale < x) {
      ssq = 1 + ssq * (scale / x) ** 2;
      scale = x;
    } else ssq += (x / scale) ** 2;
  }
  return scale * Math.sqrt(ssq);
}

export function equalValues(a: Mat, b: Mat): boolean {
  if (a.rows !== b.rows || a.cols !== b.cols) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Thin QR of Xᵀ: Xᵀ = Q R with p = min(k, n) orthonormal columns; Q is kept as its Householder reflectors (applyQ). */
export interface QR {
  /** R: p × k, upper triangular (trapezoidal when k > n). */
  r: Mat;
  /** Q = H_0 … H_{p−1}, H_j = I − 2 v_j v_jᵀ acting on entries j…n−1 (a zero v_j is the identity). */
  reflectors: Float64Array[];
  /** n: the length of Q's columns. */
  n: number;
}

/**
 * Householder QR of Xᵀ for X given by its k rows of length n (so Xᵀ is n × k and its
 * columns are X's rows, read contiguously). Numerically orthogonal Q even when X is rank
 * deficient (a zero column gives a zero row of R).
 */
export function qrOfRows(x: Mat): QR {
  const k = x.rows;
  const n = x.cols;
  const p = Math.min(k, n);
  const w = x.data.slice();
  const r = new Float64Array(p * k);
  const reflectors: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const cj = j * n;
    // Reflector that maps column j's entries j…n−1 onto alpha·e_j.
    const norm = frobenius(w.subarray(cj + j, cj + n));
    const x0 = w[cj + j]!;
    const alpha = x0 > 0 ? -norm : norm;
    const v = w.slice(cj + j, cj + n);
    v[0] = x0 - alpha;
    const vnorm = frobenius(v);
    if (norm === 0 || vnorm === 0) {
      v.fill(0);
      r[j * k + j] = x0;
    } else {
      const inv = 1 / vnorm;
      for (let t = 0; t < v.length; t++) v[t]! *= inv;
      r[j * k + j] = alpha;
      const len = v.length;
      for (let l = j + 1; l < k; l++) {
        const cl = l * n + j;
        let d = 0;
        for (let t = 0; t < len; t++) d += v[t]! * w[cl + t]!;
        d *= 2;
        for (let t = 0; t < len; t++) w[cl + t]! -= d * v[t]!;
      }
    }
    for (let l = j + 1; l < k; l++) r[j * k + l] = w[l * n + j]!;
    reflectors.push(v);
  }
  return { r: mat(p, k, r), reflectors, n };
}

/** Q·c for each row c of `coeffs` (c has p entries): the combinations of Q's columns, as rows of length n. */
export function applyQ(qr: QR, coeffs: Mat): Mat {
  const { n, reflectors } = qr;
  const p = reflectors.length;
  if (coeffs.cols !== p) throw new RangeError(`applyQ: coefficients have ${coeffs.cols} entries, Q has ${p} columns`);
  const out = new Float64Array(coeffs.rows * n);
  for (let i = 0; i < coeffs.rows; i++) {
    const q = out.subarray(i * n, (i + 1) * n);
    q.set(coeffs.data.subarray(i * p, (i + 1) * p));
    // Q·e = H_0(H_1(… H_{p−1} e)).
    for (let j = p - 1; j >= 0; j--) {
      const v = reflectors[j]!;
      let d = 0;
      for (let t = 0; t < v.length; t++) d += v[t]! * q[j + t]!;
      if (d === 0) continue;
      d *= 2;
      for (let t = 0; t < v.length; t++) q[j + t]! -= d * v[t]!;
    }
  }
  return mat(coeffs.rows, n, out);
}

/** Qᵀ as rows (p × n): Q's orthonormal columns. */
export function explicitQ(qr: QR): Mat {
  const p = qr.reflectors.length;
  const eye = new Float64Array(p * p);
  for (let i = 0; i < p; i++) eye[i * p + i] = 1;
  return applyQ(qr, mat(p, p, eye));
}

/** A = U diag(s) Vᵀ with s descending; U is m × p and V is n × p, p = min(m, n), stored transposed (row i = i-th singular vector). */
export interface SVD {
  s: Float64Array;
  ut: Mat;
  vt: Mat;
}

const JACOBI_SWEEPS = 60;

/**
 * One-sided Jacobi SVD (Hestenes): rotates pairs of columns until all are orthogonal;
 * singular values to high relative accuracy. For small matrices (a few hundred columns).
 */
export function svd(a: Mat): SVD {
  if (a.rows < a.cols) {
    const t = svd(transpose(a));
    return { s: t.s, ut: t.vt, vt: t.ut };
  }
  const m = a.rows;
  const n = a.cols;
  // Columns of A as rows (contiguous), and V as rows of its transpose.
  const u = transpose(a).data;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const eps = 2 ** -52;
  for (let sweep = 0; sweep < JACOBI_SWEEPS; sweep++) {
    let rotated = false;
    for (let i = 0; i < n - 1; i++) {
      for (let j = i + 1; j < n; j++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        const ui = i * m;
        const uj = j * m;
        for (let t = 0; t < m; t++) {
          const x = u[ui + t]!;
          const y = u[uj + t]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const tan = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + tan * tan);
        const s = c * tan;
        for (let t = 0; t < m; t++) {
          const x = u[ui + t]!;
          const y = u[uj + t]!;
          u[ui + t] = c * x - s * y;
          u[uj + t] = s * x + c * y;
        }
        const vi = i * n;
        const vj = j * n;
        for (let t = 0; t < n; t++) {
          const x = v[vi + t]!;
          const y = v[vj + t]!;
          v[vi + t] = c * x - s * y;
          v[vj + t] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = Array.from({ length: n }, (_, i) => frobenius(u.subarray(i * m, (i + 1) * m)));
  const order = Array.from(sigma.keys()).sort((x, y) => sigma[y]! - sigma[x]! || x - y);
  const s = new Float64Array(n);
  const ut = new Float64Array(n * m);
  const vt = new Float64Array(n * n);
  order.forEach((src, dst) => {
    const sv = sigma[src]!;
    s[dst] = sv;
    for (let t = 0; t < m; t++) ut[dst * m + t] = sv > 0 ? u[src * m + t]! / sv : 0;
    vt.set(v.subarray(src * n, (src + 1) * n), dst * n);
  });
  return { s, ut: mat(n, m, ut), vt: mat(n, n, vt) };
}

/** A symmetric matrix's eigenvalues (ascending) and eigenvectors (row i of `vectors` belongs to values[i]). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Mat;
}

/**
 * Eigen-decomposition of a symmetric n × n matrix: Householder tridiagonalisation and the
 * implicit QL algorithm (tred2/tql2 of EISPACK, as in JAMA). O(n³) with a small constant:
 * several times faster than Jacobi for the 64–128-wide matrices of attention heads.
 */
export function symmetricEigen(a: Mat): SymmetricEigen {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`symmetricEigen: ${a.rows}×${a.cols} is not square`);
  // V[i][j] as v[i * n + j]; the algorithm works on columns of V.
  const v = a.data.slice();
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: mat(0, 0) };
  tred2(n, v, d, e);
  tql2(n, v, d, e);
  const order = Array.from(d.keys()).sort((x, y) => d[x]! - d[y]! || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src]!;
    for (let k = 0; k < n; k++) vectors[dst * n + k] = v[k * n + src]!;
  });
  return { values, vectors: mat(n, n, vectors) };
}

function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
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

function tql2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
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
      for (let iter = 0; iter < 100; iter++) {
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
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1]!;
            V[k * n + i + 1] = s * V[k * n + i]! + c * h;
            V[k * n + i] = c * V[k * n + i]! - s * h;
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

/**
 * The SVD of a small matrix through the eigen-decomposition of AᵀA: the singular values are
 * accurate relative to the largest (not to themselves), which is what norms and the leading
 * singular subspaces need; use `svd` (Jacobi) when small singular values matter.
 */
export function svdByGram(a: Mat): SVD {
  if (a.rows < a.cols) {
    const t = svdByGram(transpose(a));
    return { s: t.s, ut: t.vt, vt: t.ut };
  }
  const n = a.cols;
  const m = a.rows;
  const at = transpose(a);
  const eig = symmetricEigen(mulABt(at, at));
  const s = new Float64Array(n);
  const vt = new Float64Array(n * n);
  const ut = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const src = n - 1 - i;
    const vrow = eig.vectors.data.subarray(src * n, (src + 1) * n);
    vt.set(vrow, i * n);
    // u_i = A v_i / σ_i, normalised (σ_i may be rounding noise: then u_i is left zero).
    const u = ut.subarray(i * m, (i + 1) * m);
    for (let r = 0; r < m; r++) {
      let x = 0;
      for (let c = 0; c < n; c++) x += a.data[r * n + c]! * vrow[c]!;
      u[r] = x;
    }
    const norm = frobenius(u);
    s[i] = norm;
    if (norm > 0) for (let r = 0; r < m; r++) u[r]! /= norm;
  }
  return { s, ut: mat(n, m, ut), vt: mat(n, n, vt) };
}

/** Singular values of XᵀY (X k × n, Y l × n) from the QR factors of Xᵀ and Yᵀ: those of R_X R_Yᵀ. */
export function productSingularValues(x: Mat, y: Mat): Float64Array {
  return svd(mulABt(qrOfRows(x).r, qrOfRows(y).r)).s;
}

/** ‖XᵀY‖_F without forming it: ‖R_X R_Yᵀ‖_F. */
export function productFrobenius(x: Mat, y: Mat): number {
  return frobenius(mulABt(qrOfRows(x).r, qrOfRows(y).r).data);
}

/** XᵀY as a factored SVD: singular values and the singular vectors (n-vectors, as rows). */
export interface ProductSVD {
  s: Float64Array;
  /** Left singular vectors of XᵀY, as rows (p × n). */
  left: Mat;
  /** Right singular vectors, as rows. */
  right: Mat;
}

/** The SVD of XᵀY through the factors: U = Q_X U_M, V = Q_Y V_M for R_X R_Yᵀ = U_M Σ V_Mᵀ; only the first `top` vectors are built. */
export function productSvd(x: Mat, y: Mat, top: number): ProductSVD {
  return productSvdOfQR(qrOfRows(x), qrOfRows(y), top);
}

/** productSvd from QR factorisations already made, e.g. one key head shared by several query heads. */
export function productSvdOfQR(qx: QR, qy: QR, top: number): ProductSVD {
  const m = svdByGram(mulABt(qx.r, qy.r));
  const r = Math.min(top, m.s.length);
  return { s: m.s, left: applyQ(qx, rowBlock(m.ut, 0, r)), right: applyQ(qy, rowBlock(m.vt, 0, r)) };
}

/** Singular values above this fraction of the largest (times the dimension) count toward the numerical rank. */
export function numericalRank(s: ArrayLike<number>, dim: number): number {
  const tol = (s[0] ?? 0) * Math.max(1, dim) * 2 ** -52;
  let rank = 0;
  for (let i = 0; i < s.length; i++) if (s[i]! > tol) rank++;
  return rank;
}

/**
 * Hu et al. 2021 (LoRA, §7.2) subspace similarity φ = ‖U_Aᵀ U_B‖_F² / r of the spans of the
 * first r rows of `a` and of `b` (orthonormal rows): 1 for the same subspace, 0 for
 * orthogonal ones.
 */
export function subspaceSimilarity(a: Mat, b: Mat, r: number): number {
  if (r <= 0) throw new RangeError('subspaceSimilarity: r must be positive');
  const c = mulABt(rowBlock(a, 0, r), rowBlock(b, 0, r));
  const f = frobenius(c.data);
  return (f * f) / r;
}
