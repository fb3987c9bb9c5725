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

/** The transpose (a copy). */
export function transpose(m: Mat): Mat {
  const out = new Float64Array(m.data.length);
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
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

/** Thin QR of Xᵀ: Xᵀ = Q R with p = min(k, n) orthonormal columns. */
export interface QR {
  /** Qᵀ: p × n (row i is the i-th orthonormal column), present when asked for. */
  qt?: Mat;
  /** R: p × k, upper triangular (trapezoidal when k > n). */
  r: Mat;
}

/**
 * Householder QR of Xᵀ for X given by its k rows of length n (so Xᵀ is n × k and its
 * columns are X's rows, read contiguously). Numerically orthogonal Q even when X is rank
 * deficient (a zero column gives a zero row of R).
 */
export function qrOfRows(x: Mat, wantQ = false): QR {
  const k = x.rows;
  const n = x.cols;
  const p = Math.min(k, n);
  const w = x.data.slice();
  const r = new Float64Array(p * k);
  const vs: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const cj = j * n;
    // Reflector that maps column j's entries j…n−1 onto alpha·e_j.
    const norm = frobenius(w.subarray(cj + j, cj + n));
    const x0 = w[cj + j]!;
    const alpha = x0 > 0 ? -norm : norm;
    const v = new Float64Array(n - j);
    for (let t = j; t < n; t++) v[t - j] = w[cj + t]!;
    v[0] = x0 - alpha;
    const vnorm = frobenius(v);
    if (norm === 0 || vnorm === 0) {
      v.fill(0);
      r[j * k + j] = x0;
    } else {
      for (let t = 0; t < v.length; t++) v[t]! /= vnorm;
      r[j * k + j] = alpha;
      for (let l = j + 1; l < k; l++) {
        const cl = l * n;
        let d = 0;
        for (let t = 0; t < v.length; t++) d += v[t]! * w[cl + j + t]!;
        d *= 2;
        for (let t = 0; t < v.length; t++) w[cl + j + t]! -= d * v[t]!;
      }
    }
    for (let l = j + 1; l < k; l++) r[j * k + l] = w[l * n + j]!;
    vs.push(v);
  }
  if (!wantQ) return { r: mat(p, k, r) };
  // Column i of Q is H_0 … H_{p−1} e_i: apply the reflectors in reverse order.
  const qt = new Float64Array(p * n);
  for (let i = 0; i < p; i++) {
    const q = qt.subarray(i * n, (i + 1) * n);
    q[i] = 1;
    for (let j = p - 1; j >= 0; j--) {
      const v = vs[j]!;
      let d = 0;
      for (let t = 0; t < v.length; t++) d += v[t]! * q[j + t]!;
      if (d === 0) continue;
      d *= 2;
      for (let t = 0; t < v.length; t++) q[j + t]! -= d * v[t]!;
    }
  }
  return { qt: mat(p, n, qt), r: mat(p, k, r) };
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
  return productSvdOfQR(qrOfRows(x, true), qrOfRows(y, true), top);
}

/** productSvd from QR factorisations already made (with Q), e.g. one key head shared by several query heads. */
export function productSvdOfQR(qx: QR, qy: QR, top: number): ProductSVD {
  if (!qx.qt || !qy.qt) throw new RangeError('productSvdOfQR: the factorisations need Q');
  const m = svd(mulABt(qx.r, qy.r));
  const r = Math.min(top, m.s.length);
  return { s: m.s, left: combineRows(rowBlock(m.ut, 0, r), qx.qt), right: combineRows(rowBlock(m.vt, 0, r), qy.qt) };
}

/** C·B for C (r × p) and B (p × n): each output row a combination of B's rows. */
function combineRows(c: Mat, b: Mat): Mat {
  const n = b.cols;
  const out = new Float64Array(c.rows * n);
  for (let i = 0; i < c.rows; i++) {
    const o = out.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < c.cols; j++) {
      const w = c.data[i * c.cols + j]!;
      if (w === 0) continue;
      const bj = j * n;
      for (let t = 0; t < n; t++) o[t]! += w * b.data[bj + t]!;
    }
  }
  return mat(c.rows, n, out);
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
