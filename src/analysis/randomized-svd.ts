/**
 * Small dense linear algebra for the spectral analyses (low-rank delta, spectral analysis):
 * a seeded Gaussian test matrix, Householder QR, singular values of a small matrix (by
 * linalg.ts), and randomized SVD (Halko, Martinsson & Tropp 2011) over a matrix that is only available through products (streamed by the engine's matvec op).
 *
 * Matrices are row-major Float64Array: an m×l matrix M has M[i·l + j]. Everything here is
 * plain deterministic JS arithmetic, so results depend on the inputs only (never on threads).
 */
import type { LinearOperator } from './linear-operator.js';
import { mat, svd } from './linalg.js';

export type { LinearOperator };

export interface RandomizedSvdOptions {
  /** How many singular values are wanted. */
  rank: number;
  /** Extra random vectors beyond `rank` (Halko et al. §4.2: 5–10 suffice). */
  oversample: number;
  /** Power iterations: blocks (WWᵀ)^i·W·Ω, i = 1…q, added to the Krylov basis. */
  powerIterations: number;
  seed: number;
}

export interface SingularValues {
  /** Descending, at most min(rank, rows, cols) of them. */
  values: number[];
  /** True when the basis spanned the whole smaller side: the values are the exact spectrum, not estimates. */
  exact: boolean;
  /** Columns of the basis the values were taken from (l·(q + 1), or the smaller side when exact). */
  sketch: number;
  /** Products with W or Wᵀ taken, each of a block of up to `sketch` vectors. */
  products: number;
}

/**
 * The top singular values of `op` by randomized block Krylov iteration (Halko, Martinsson &
 * Tropp 2011, §4 and its remark on Krylov subspaces; Rokhlin, Szlam & Tygert 2009; Musco &
 * Musco 2015): l = rank + oversample Gaussian vectors Ω, blocks K_0 = orth(W·Ω) and
 * K_i = orth(W·orth(Wᵀ·K_{i−1})) for i = 1…q, Q = orth([K_0 … K_q]) (m × l(q+1)), then
 * Bᵀ = Wᵀ·Q and the singular values of B = QᵀW are those of R in Bᵀ = Q'R (Rayleigh–Ritz).
 * Keeping every block instead of the last one only (plain subspace iteration) costs one
 * wider final product and gains much accuracy where the spectrum decays slowly. When the
 * basis would be as wide as the smaller side d, one sketch of d vectors spans W's whole
 * range instead, and the values are exact.
 */
export async function randomizedSingularValues(op: LinearOperator, o: RandomizedSvdOptions): Promise<SingularValues> {
  const { rows: m, cols: n } = op;
  const d = Math.min(m, n);
  if (d === 0) return { values: [], exact: true, sketch: 0, products: 0 };
  const { exact, block: l } = basisOf(m, n, o);
  const blocks = [orthonormalColumns(await op.apply(gaussian(n, l, o.seed), l), m, l)];
  let products = 1;
  for (let it = 0; !exact && it < o.powerIterations; it++) {
    const z = await op.applyT(blocks[blocks.length - 1]!, l);
    blocks.push(orthonormalColumns(await op.apply(orthonormalColumns(z, n, l), l), m, l));
    products += 2;
  }
  const width = l * blocks.length;
  const q = blocks.length === 1 ? blocks[0]! : orthonormalColumns(sideBySide(blocks, m, l), m, width);
  const bt = await op.applyT(q, width);
  products++;
  const values = singularValues(qrR(bt, n, width), width, width);
  return { values: values.slice(0, Math.min(o.rank, d)), exact, sketch: width, products };
}

/** The basis randomizedSingularValues builds for an m×n operator: its block width, its total width, and whether it spans the smaller side (exact). */
export function basisOf(m: number, n: number, o: RandomizedSvdOptions): { block: number; width: number; exact: boolean } {
  const d = Math.min(m, n);
  const l0 = Math.min(d, o.rank + o.oversample);
  const exact = l0 * (o.powerIterations + 1) >= d;
  return exact ? { block: d, width: d, exact } : { block: l0, width: l0 * (o.powerIterations + 1), exact };
}

/**
 * Bytes of f64 blocks randomizedSingularValues holds at its peak for an m×n operator: the
 * m-side basis and its copies in the QR (about 5 of m × width) and ΔWᵀ·Q with its QR copy
 * (2 of n × width).
 */
export function workingSetBytes(m: number, n: number, o: RandomizedSvdOptions): number {
  return 8 * basisOf(m, n, o).width * (5 * m + 2 * n);
}

/** [B_0 | B_1 | …] of m×l blocks, as one m × (l·count) matrix. */
function sideBySide(blocks: Float64Array[], m: number, l: number): Float64Array {
  const width = l * blocks.length;
  const out = new Float64Array(m * width);
  blocks.forEach((b, j) => {
    for (let i = 0; i < m; i++) out.set(b.subarray(i * l, (i + 1) * l), i * width + j * l);
  });
  return out;
}

/** An n×l matrix of independent standard normals from `seed` (mulberry32 uniforms, Box–Muller): the same numbers on every run. */
export function gaussian(n: number, l: number, seed: number): Float64Array {
  let state = seed >>> 0;
  const next32 = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  // 53-bit uniforms strictly inside (0, 1), so the logarithm is finite.
  const uniform = () => ((next32() >>> 5) * 67108864 + (next32() >>> 6) + 0.5) / 9007199254740992;
  const out = new Float64Array(n * l);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/**
 * Householder QR of an m×l matrix (m ≥ l): R (l×l, upper triangular) and the thin Q (m×l,
 * orthonormal columns). Householder rather than Gram–Schmidt: Q stays orthonormal to working
 * precision even when the columns are nearly dependent (a low-rank W makes most of them so).
 */
export function householderQr(a: Float64Array, m: number, l: number): { q: Float64Array; r: Float64Array } {
  const f = factor(a, m, l);
  return { q: formQ(f, m, l), r: f.r };
}

/** R of the QR factorization alone (Q is not formed). */
export function qrR(a: Float64Array, m: number, l: number): Float64Array {
  return factor(a, m, l).r;
}

/** An orthonormal basis of the column space of an m×l matrix (m ≥ l): Householder Q. */
export function orthonormalColumns(a: Float64Array, m: number, l: number): Float64Array {
  return formQ(factor(a, m, l), m, l);
}

interface Factored {
  r: Float64Array;
  /** Reflector j is I − β_j v_j v_jᵀ acting on rows j…m−1. */
  vs: Float64Array[];
  betas: number[];
}

// Columns are worked on as contiguous arrays (column-major): every dot product and update
// walks memory in order, which matters for the tall m×l blocks of a sketch. They are views of
// one m×l buffer, and each reflector is kept in place of the column it was made from (that
// column is not read again): one allocation per factorization instead of 2·l.
function factor(a: Float64Array, m: number, l: number): Factored {
  if (m < l) throw new RangeError(`householderQr: ${m}×${l} has fewer rows than columns`);
  const cols = columnViews(new Float64Array(m * l), m, l);
  cols.forEach((col, c) => {
    for (let i = 0; i < m; i++) col[i] = a[i * l + c]!;
  });
  const r = new Float64Array(l * l);
  const vs: Float64Array[] = [];
  const betas: number[] = [];
  for (let j = 0; j < l; j++) {
    // Reflector for column j below the diagonal: v = x − α e_0 with α = −sign(x_0)‖x‖.
    const v = cols[j]!.subarray(j);
    const x0 = v[0]!;
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    const alpha = x0 >= 0 ? -norm : norm;
    v[0] = x0 - alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i]! * v[i]!;
    const beta = vv > 0 ? 2 / vv : 0;
    r[j * l + j] = beta > 0 ? alpha : x0;
    for (let c = j + 1; c < l; c++) {
      const col = cols[c]!;
      if (beta > 0) reflect(v, beta, col, j);
      r[j * l + c] = col[j]!;
    }
    vs.push(v);
    betas.push(beta);
  }
  return { r, vs, betas };
}

/** The l columns of a column-major m×l buffer, as views. */
function columnViews(buffer: Float64Array, m: number, l: number): Float64Array[] {
  return Array.from({ length: l }, (_, c) => buffer.subarray(c * m, (c + 1) * m));
}

/** x[j…] −= β (vᵀ x[j…]) v. */
function reflect(v: Float64Array, beta: number, x: Float64Array, j: number): void {
  let dot = 0;
  for (let i = 0; i < v.length; i++) dot += v[i]! * x[j + i]!;
  const f = beta * dot;
  if (f !== 0) for (let i = 0; i < v.length; i++) x[j + i] = x[j + i]! - f * v[i]!;
}

/** Q = H_0 H_1 … H_(l−1) applied to the first l columns of the identity, last reflector first; row-major m×l. */
function formQ({ vs, betas }: Factored, m: number, l: number): Float64Array {
  const cols = columnViews(new Float64Array(m * l), m, l);
  cols.forEach((col, c) => {
    col[c] = 1;
  });
  for (let j = l - 1; j >= 0; j--) {
    if (betas[j] === 0) continue;
    for (let c = j; c < l; c++) reflect(vs[j]!, betas[j]!, cols[c]!, j);
  }
  const q = new Float64Array(m * l);
  for (let c = 0; c < l; c++) {
    const col = cols[c]!;
    for (let i = 0; i < m; i++) q[i * l + c] = col[i]!;
  }
  return q;
}

/** Sweeps of one-sided Jacobi before giving up (convergence is quadratic; 10–15 is typical). */
/**
 * Singular values of a small r×c matrix, descending: linalg.ts's one-sided Jacobi SVD (Hestenes
 * 1958; Demmel & Veselić 1992), high relative accuracy (no squaring into AᵀA).
 */
export function singularValues(a: Float64Array, r: number, c: number): number[] {
  return Array.from(svd(mat(r, c, a)).s);
}
