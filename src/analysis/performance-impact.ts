/**
 * Performance impact estimate (--performance-impact-estimate): a weight-space estimate of how
 * much B's outputs can differ from A's. Per weight matrix, ‖ΔW‖_F/‖W‖_F (also as an SQNR) and
 * ‖ΔW‖₂/‖W‖₂ (power iteration on ΔW = B − A through matvecs of A and B, never materialised),
 * aggregated along the network as the first-order bound on the relative output perturbation
 * of a composition of layers: Σ_l ‖ΔW_l‖₂/‖W_l‖₂ (Neyshabur et al. 2018, Lemma 2). No input
 * is run: it bounds, it does not measure, accuracy.
 */
import { fmt, layerOf, pairData, pairLabel, sumCompare } from './helpers.js';
import { isWeightMatrix } from './spectra.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export interface MatrixImpact {
  name: string;
  layer: string;
  /** ‖ΔW‖_F / ‖W_A‖_F. */
  rel_frobenius: number | null;
  /** 10·log10(‖W_A‖²_F / ‖ΔW‖²_F); null when ΔW = 0. */
  sqnr_db: number | null;
  spectral_norm_a: number | null;
  spectral_norm_delta: number | null;
  /** ‖ΔW‖₂ / ‖W_A‖₂. */
  rel_spectral: number | null;
  /** How the norms were found: `gram` (every singular value) or `power_iteration`. */
  method: string;
  /** Both norms are exact or their power iterations reached the tolerance (else lower bounds). */
  converged: boolean;
}

const sqnr = (signal: number, noise: number) => (noise > 0 && signal > 0 ? 10 * Math.log10(signal / noise) : null);

export function performanceImpact(c: Collected, k: number, p: PairData) {
  const normsA = c.passes.spectralNorms?.get(p.ia);
  const deltas = c.passes.deltaSpectralNorms?.get(k);
  const compared = p.tensors.filter((t) => t.cmp && isWeightMatrix(p.a, t.a) && isWeightMatrix(p.b, t.b) && t.a.shape.join() === t.b.shape.join());
  if (compared.length === 0) return notApplicable('no weight matrix (2+-D float parameter) in both files with the same shape');
  if (!normsA || !deltas) return notApplicable('tensor values were not read (--shape-only)');
  const matrices: MatrixImpact[] = compared.map((t) => {
    const cmp = t.cmp!;
    const wa = normsA.get(t.name);
    const dw = deltas.get(t.name);
    const rel = cmp.sumAA > 0 ? Math.sqrt(cmp.sumSqDiff / cmp.sumAA) : null;
    const sa = wa?.sigma ?? null;
    const sd = dw?.sigma ?? null;
    return {
      name: t.name,
      layer: layerOf(t.name),
      rel_frobenius: rel,
      sqnr_db: sqnr(cmp.sumAA, cmp.sumSqDiff),
      spectral_norm_a: sa,
      spectral_norm_delta: sd,
      rel_spectral: sa && sd !== null ? sd / sa : null,
      method: wa?.method === 'power_iteration' || dw?.method === 'power_iteration' ? 'power_iteration' : 'gram',
      converged: (wa?.converged ?? false) && (dw?.converged ?? false),
    };
  });
  const rels = matrices.flatMap((m) => (m.rel_spectral === null ? [] : [m.rel_spectral]));
  const pooled = sumCompare(compared.map((t) => t.cmp!));
  const worst = [...matrices].sort((x, y) => (y.rel_spectral ?? -1) - (x.rel_spectral ?? -1))[0]!;
  const data = {
    ...pairData(p),
    basis: 'weight_space',
    note: 'a bound from the weights alone (no inputs are run): relative output change of a chain of layers is at most about the sum of their relative spectral changes',
    matrices_compared: matrices.length,
    sqnr_db: sqnr(pooled.sumAA, pooled.sumSqDiff),
    rel_frobenius: pooled.sumAA > 0 ? Math.sqrt(pooled.sumSqDiff / pooled.sumAA) : null,
    /** Σ_l ‖ΔW_l‖₂/‖W_l‖₂: the first-order bound on the relative output perturbation. */
    sum_rel_spectral: rels.reduce((s, x) => s + x, 0),
    /** Π_l (1 + ‖ΔW_l‖₂/‖W_l‖₂) − 1: the same bound without dropping higher-order terms. */
    product_bound: rels.reduce((s, x) => s * (1 + x), 1) - 1,
    max_rel_spectral: worst.rel_spectral,
    most_affected: worst.rel_spectral === null ? null : worst.name,
    not_converged: matrices.filter((m) => !m.converged).map((m) => m.name),
    matrices,
  };
  const summary = `${summaryFields([
    ['basis', 'weight_space'],
    ['sqnr_db', data.sqnr_db],
    ['sum_rel_spectral', data.sum_rel_spectral],
    ['max_rel_spectral', data.max_rel_spectral],
    ['most_affected', data.most_affected ?? 'none'],
  ])}${pairLabel(c, p)}`;
  const details = [
    `weight-space estimate over ${matrices.length} weight matrices: first-order bound on the relative output change ${fmt(data.sum_rel_spectral)} (all orders: ${fmt(data.product_bound)}); no inputs were run`,
    ...(data.not_converged.length > 0 ? [`power iteration stopped before its tolerance (norms are lower bounds): ${data.not_converged.join(', ')}`] : []),
    ...[...matrices]
      .sort((x, y) => (y.rel_spectral ?? -1) - (x.rel_spectral ?? -1))
      .map((m) => `${m.name}: rel_spectral=${fmt(m.rel_spectral)}, rel_frobenius=${fmt(m.rel_frobenius)}, sqnr_db=${fmt(m.sqnr_db)}`),
  ];
  const table = {
    columns: ['matrix', 'rel_spectral', 'rel_frobenius', 'sqnr_db'],
    rows: matrices.map((m) => [m.name, m.rel_spectral, m.rel_frobenius, m.sqnr_db]),
    chart: { columns: ['rel_spectral'] },
  };
  return { summary, details, data, table };
}

export type PerformanceImpactData = ReturnType<typeof performanceImpact>['data'];

const plugin: PairAnalysis<PerformanceImpactData> = {
  key: 'PerformanceImpactEstimate',
  label: 'performance_impact_estimate',
  scope: 'pair',
  needs: ['spectralNorms', 'deltaSpectralNorms'],
  analyze: (c, p) => performanceImpact(c, c.pairs.indexOf(p), p),
};
export default plugin;
