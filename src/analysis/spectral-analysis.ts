/**
 * Spectral analysis (--spectral-analysis): for every matrix parameter whose smaller side is
 * at least 50, the empirical spectral density (ESD) of WᵀW — its eigenvalues λ_i = σ_i² —
 * in A and in B, and the power-law exponent α of the ESD's tail (Martin & Mahoney 2021, the
 * weightwatcher measure) fitted as Clauset, Shalizi & Newman (2009) prescribe: the
 * continuous maximum-likelihood α for each candidate x_min, keeping the x_min whose fit has
 * the smallest Kolmogorov–Smirnov distance. The singular values come from
 * src/analysis/singular-values.ts: the whole spectrum from the Gram matrix when the smaller
 * side is at most 256, else the top 64 by streamed randomized SVD (the fit only needs the
 * tail; its x_min is then sought among them).
 */
import { fmt, pairData, pairLabel } from './helpers.js';
import { SPECTRAL_EXACT_MAX_DIM, SPECTRAL_MIN_DIM, SPECTRAL_TAIL_K } from './singular-values.js';
import { notApplicable, summaryFields, type NotApplicable } from './summary.js';
import type { Collected, MatrixSpectrum, PairAnalysis, PairData } from './types.js';

/** Fewest eigenvalues a fitted tail may have (a handful of points fits anything). */
export const PL_MIN_TAIL = 10;
/** Eigenvalues below λ_max times this are zeros of a rank-deficient W in floating point, not part of the ESD. */
export const ZERO_EIGENVALUE = 1e-10;
/** Bins of the ESD histogram (over log10 λ). */
export const ESD_BINS = 20;
/** Martin & Mahoney's ranges: α in [2, 6] is the heavy-tailed regime of well-trained layers. */
export const ALPHA_LOW = 2;
export const ALPHA_HIGH = 6;

export interface PowerLawFit {
  alpha: number;
  xmin: number;
  /** Eigenvalues ≥ x_min. */
  n_tail: number;
  /** The Kolmogorov–Smirnov distance of the tail from the fitted law (the fit's quality: smaller is better). */
  ks_distance: number;
  /** Standard error of α: (α − 1)/√n_tail (Clauset et al. eq. 3.2). */
  alpha_stderr: number;
}

/**
 * Clauset–Shalizi–Newman fit of p(x) ∝ x^(−α), x ≥ x_min, to positive data: for each
 * distinct value as x_min (leaving ≥ PL_MIN_TAIL points), α = 1 + n / Σ ln(x_i / x_min); the
 * KS distance is sup |S(x) − P(x)| over the tail, S the empirical CDF (both sides of each
 * step), P(x) = 1 − (x/x_min)^(1−α). The x_min with the smallest distance wins (the first on
 * ties). Null when fewer than PL_MIN_TAIL values are positive.
 */
export function powerLawFit(data: number[]): PowerLawFit | null {
  const x = data.filter((v) => v > 0 && Number.isFinite(v)).sort((p, q) => p - q);
  const n = x.length;
  if (n < PL_MIN_TAIL) return null;
  // Suffix sums of ln x: Σ_{i≥j} ln(x_i / x_j) = suffix[j] − (n − j)·ln x_j.
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + Math.log(x[i]!);
  let best: PowerLawFit | null = null;
  for (let j = 0; n - j >= PL_MIN_TAIL; j++) {
    if (j > 0 && x[j] === x[j - 1]) continue;
    const xmin = x[j]!;
    const nt = n - j;
    const s = suffix[j]! - nt * Math.log(xmin);
    if (!(s > 0)) continue;
    const alpha = 1 + nt / s;
    let d = 0;
    for (let i = 0; i < nt; i++) {
      const cdf = 1 - (x[j + i]! / xmin) ** (1 - alpha);
      d = Math.max(d, Math.abs((i + 1) / nt - cdf), Math.abs(i / nt - cdf));
    }
    if (!best || d < best.ks_distance) best = { alpha, xmin, n_tail: nt, ks_distance: d, alpha_stderr: (alpha - 1) / Math.sqrt(nt) };
  }
  return best;
}

/** Counts of log10 λ in ESD_BINS equal bins from the smallest to the largest. */
export function esdHistogram(lambdas: number[]): { log10_edges: number[]; counts: number[] } {
  const logs = lambdas.filter((v) => v > 0).map(Math.log10);
  if (logs.length === 0) return { log10_edges: [], counts: [] };
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const width = hi > lo ? (hi - lo) / ESD_BINS : 1;
  const counts = new Array<number>(ESD_BINS).fill(0);
  for (const v of logs) counts[Math.min(ESD_BINS - 1, Math.floor((v - lo) / width))]!++;
  return { log10_edges: Array.from({ length: ESD_BINS + 1 }, (_, i) => lo + i * width), counts };
}

export function regimeOf(alpha: number | null): string {
  if (alpha === null) return 'no_fit';
  return alpha < ALPHA_LOW ? 'very_heavy_tailed' : alpha > ALPHA_HIGH ? 'light_tailed' : 'heavy_tailed';
}

export interface SpectralSide {
  /** `exact` (every eigenvalue) or `top-k` (the k largest, randomized estimates). */
  spectrum: string;
  eigenvalues: number;
  lambda_max: number | null;
  /** ‖W‖_F² / λ_max (exact: ‖W‖_F² from the stats kernel). */
  stable_rank: number | null;
  alpha: number | null;
  xmin: number | null;
  n_tail: number | null;
  ks_distance: number | null;
  alpha_stderr: number | null;
  /** `heavy_tailed` (2 ≤ α ≤ 6), `very_heavy_tailed` (α < 2), `light_tailed` (α > 6), `no_fit`. */
  regime: string;
  /** The largest eigenvalues, descending (at most SPECTRAL_TAIL_K of them). */
  top_eigenvalues: number[];
  esd: { log10_edges: number[]; counts: number[] };
}

export function spectralSide(s: MatrixSpectrum): SpectralSide {
  if (s.skipped !== undefined) {
    const none = { lambda_max: null, stable_rank: null, alpha: null, xmin: null, n_tail: null, ks_distance: null, alpha_stderr: null };
    return { spectrum: `skipped: ${s.skipped}`, eigenvalues: 0, ...none, regime: 'no_fit', top_eigenvalues: [], esd: { log10_edges: [], counts: [] } };
  }
  const all = s.values.map((v) => v * v);
  const lambdaMax = all[0] ?? null;
  const lambdas = lambdaMax === null ? [] : all.filter((v) => v > lambdaMax * ZERO_EIGENVALUE);
  const fit = powerLawFit(lambdas);
  return {
    spectrum: s.exact ? 'exact' : `top-${s.values.length}`,
    eigenvalues: lambdas.length,
    lambda_max: lambdaMax,
    stable_rank: lambdaMax && s.frobeniusSq !== null ? s.frobeniusSq / lambdaMax : null,
    alpha: fit?.alpha ?? null,
    xmin: fit?.xmin ?? null,
    n_tail: fit?.n_tail ?? null,
    ks_distance: fit?.ks_distance ?? null,
    alpha_stderr: fit?.alpha_stderr ?? null,
    regime: regimeOf(fit?.alpha ?? null),
    top_eigenvalues: lambdas.slice(0, SPECTRAL_TAIL_K),
    esd: esdHistogram(lambdas),
  };
}

function mean(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((s, x) => s + x, 0) / v.length;
}

export function spectralAnalysis(c: Collected, p: PairData) {
  const spectra = c.passes.matrixSpectra?.get(c.pairs.indexOf(p)) ?? [];
  if (c.passes.matrixSpectra === undefined) return notApplicable('no tensor data read (--shape-only)');
  if (spectra.length === 0) return notApplicable(`no 2-D (or conv) float weight with both sides ≥ ${SPECTRAL_MIN_DIM}`);
  const layers = spectra.map((s) => {
    const any = (s.a ?? s.b)!;
    const a = s.a ? spectralSide(s.a) : null;
    const b = s.b ? spectralSide(s.b) : null;
    const delta = a?.alpha != null && b?.alpha != null ? b.alpha - a.alpha : null;
    return { name: s.name, shape: any.shape, matrix: any.matrix, reshaped: any.shape.length > 2, a, b, delta_alpha: delta };
  });
  const moved = layers.filter((l) => l.delta_alpha !== null).sort((x, y) => Math.abs(y.delta_alpha!) - Math.abs(x.delta_alpha!));
  const outside = (side: 'a' | 'b') => layers.filter((l) => l[side] && l[side].regime !== 'heavy_tailed').length;
  const data = {
    ...pairData(p),
    min_dim: SPECTRAL_MIN_DIM,
    exact_max_dim: SPECTRAL_EXACT_MAX_DIM,
    tail_k: SPECTRAL_TAIL_K,
    layers_analyzed: layers.length,
    mean_alpha_a: mean(layers.map((l) => l.a?.alpha ?? null)),
    mean_alpha_b: mean(layers.map((l) => l.b?.alpha ?? null)),
    outside_2_6_a: outside('a'),
    outside_2_6_b: outside('b'),
    largest_alpha_change: moved[0] ? { name: moved[0].name, delta_alpha: moved[0].delta_alpha } : null,
    layers,
  };
  const summary = `${summaryFields([
    ['layers', `${layers.length}`],
    ['alpha', `${fmt(data.mean_alpha_a)}->${fmt(data.mean_alpha_b)}`],
    ['outside_2_6', `${data.outside_2_6_a}->${data.outside_2_6_b}`],
    ['largest_change', moved[0] ? `${moved[0].name}(${moved[0].delta_alpha! >= 0 ? '+' : ''}${fmt(moved[0].delta_alpha)})` : 'none'],
  ])}${pairLabel(c, p)}`;
  const side = (x: SpectralSide | null) =>
    x === null
      ? 'none'
      : `alpha=${fmt(x.alpha)}±${fmt(x.alpha_stderr)} (xmin=${fmt(x.xmin)}, n_tail=${x.n_tail ?? 'none'}, ks=${fmt(x.ks_distance)}, ${x.regime}), lambda_max=${fmt(x.lambda_max)}, stable_rank=${fmt(x.stable_rank)}, ${x.spectrum}`;
  const details = layers.flatMap((l) => [
    `${l.name} [${l.shape.join(', ')}]${l.reshaped ? ` as [${l.matrix.join(', ')}]` : ''}: delta_alpha=${fmt(l.delta_alpha)}`,
    `  A: ${side(l.a)}`,
    `  B: ${side(l.b)}`,
  ]);
  const table = {
    columns: ['tensor', 'shape', 'alpha_a', 'alpha_b', 'delta_alpha', 'ks_a', 'ks_b', 'spectrum'],
    rows: layers.map((l) => [
      l.name,
      l.shape.join('×'),
      l.a?.alpha ?? null,
      l.b?.alpha ?? null,
      l.delta_alpha,
      l.a?.ks_distance ?? null,
      l.b?.ks_distance ?? null,
      (l.a ?? l.b)!.spectrum,
    ]),
  };
  return { summary, details, data, table };
}

export type SpectralAnalysisData = Exclude<ReturnType<typeof spectralAnalysis>['data'], NotApplicable> | NotApplicable;

const plugin: PairAnalysis<SpectralAnalysisData> = {
  key: 'SpectralAnalysis',
  label: 'spectral_analysis',
  scope: 'pair',
  needs: ['matrixSpectra'],
  analyze: spectralAnalysis,
};
export default plugin;
