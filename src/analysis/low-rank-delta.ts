/**
 * Low-rank delta (--low-rank-delta): for every matrix parameter that changed, the top
 * singular values of ΔW = B − A (streamed randomized SVD, src/analysis/singular-values.ts),
 * the energy the top r of them capture against the exact ‖ΔW‖_F², and effective ranks. A
 * merged LoRA (Hu et al. 2021) adds U·Vᵀ of small rank r to chosen layers: those layers show
 * an effective rank of r, every other layer none at all; a dense fine-tune shows high ranks.
 */
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields, type NotApplicable } from './summary.js';
import type { Collected, MatrixSpectrum, PairAnalysis, PairData } from './types.js';

/** The energy share that defines the effective rank (smallest r whose top r singular values hold it). */
export const ENERGY_THRESHOLD = 0.99;
/** A delta counts as low-rank when its effective rank is at most this fraction of the smaller side. */
export const LOW_RANK_MAX_FRACTION = 0.25;

export interface LowRankLayer {
  name: string;
  shape: number[];
  /** How the tensor was read as a matrix ([d0, product of the rest]); `reshaped` when it has more than 2 dimensions (conv). */
  matrix: [number, number];
  reshaped: boolean;
  /** `decomposed`, `unchanged` or `skipped` (with `reason`). */
  status: 'decomposed' | 'unchanged' | 'skipped';
  reason?: string;
  frobenius_norm: number | null;
  singular_values: number[];
  /** energy[r − 1] = Σ_{i≤r} σ_i² / ‖ΔW‖_F². */
  energy: number[];
  /** Smallest r with energy ≥ 99 %; null when the top k computed do not reach it (the rank is above k). */
  effective_rank: number | null;
  /** Roy & Vetterli (2007): exp(−Σ p_i ln p_i), p_i = σ_i / Σσ_j over the values computed. */
  entropy_effective_rank: number | null;
  /** True when the values are the whole spectrum (sketch = smaller side), false when the top k are randomized estimates. */
  exact: boolean;
  low_rank: boolean;
}

/** Smallest r with energy[r − 1] ≥ threshold, or null. */
export function energyRank(energy: number[], threshold = ENERGY_THRESHOLD): number | null {
  const i = energy.findIndex((e) => e >= threshold);
  return i < 0 ? null : i + 1;
}

/** Roy & Vetterli's effective rank exp(H(p)), p_i = σ_i / Σσ; null when every σ is 0. */
export function entropyRank(values: number[]): number | null {
  const total = values.reduce((s, v) => s + v, 0);
  if (!(total > 0)) return null;
  let h = 0;
  for (const v of values) if (v > 0) h -= (v / total) * Math.log(v / total);
  return Math.exp(h);
}

export function layerOfSpectrum(s: MatrixSpectrum): LowRankLayer {
  const base = { name: s.name, shape: s.shape, matrix: s.matrix, reshaped: s.shape.length > 2 };
  const fro = s.frobeniusSq === null ? null : Math.sqrt(s.frobeniusSq);
  if (s.skipped !== undefined) {
    const unchanged = s.skipped === 'unchanged';
    return {
      ...base,
      status: unchanged ? 'unchanged' : 'skipped',
      ...(unchanged ? {} : { reason: s.skipped }),
      frobenius_norm: unchanged ? 0 : fro,
      singular_values: [],
      energy: [],
      effective_rank: unchanged ? 0 : null,
      entropy_effective_rank: unchanged ? 0 : null,
      exact: unchanged,
      low_rank: false,
    };
  }
  const energy: number[] = [];
  let acc = 0;
  for (const v of s.values) {
    acc += v * v;
    energy.push(s.frobeniusSq ? acc / s.frobeniusSq : 0);
  }
  const rank = energyRank(energy);
  const d = Math.min(...s.matrix);
  return {
    ...base,
    status: 'decomposed',
    frobenius_norm: fro,
    singular_values: s.values,
    energy,
    effective_rank: rank,
    entropy_effective_rank: entropyRank(s.values),
    exact: s.exact,
    low_rank: rank !== null && rank <= LOW_RANK_MAX_FRACTION * d,
  };
}

export function lowRankDelta(c: Collected, p: PairData) {
  const spectra = c.passes.lowRankDeltas?.get(c.pairs.indexOf(p)) ?? [];
  if (c.passes.lowRankDeltas === undefined) return notApplicable('no tensor data read (--shape-only)');
  if (spectra.length === 0) return notApplicable('no 2-D (or conv) float weight in both models with the same shape');
  const layers = spectra.map(layerOfSpectrum);
  const changed = layers.filter((l) => l.status !== 'unchanged');
  const low = changed.filter((l) => l.low_rank);
  const ranks = changed.filter((l) => l.status === 'decomposed').map((l) => l.effective_rank);
  const maxRank = ranks.length === 0 ? 0 : ranks.includes(null) ? null : Math.max(...(ranks as number[]));
  const verdict = changed.length === 0 ? 'unchanged' : low.length === changed.length ? 'low_rank' : low.length > 0 ? 'mixed' : 'dense';
  const k = Math.max(0, ...spectra.map((s) => s.values.length));
  // A rank above the values computed is reported as ">k" (k: that matrix's count of values).
  const above = changed.find((l) => l.effective_rank === null && l.status === 'decomposed')?.singular_values.length ?? k;
  const data = {
    ...pairData(p),
    energy_threshold: ENERGY_THRESHOLD,
    matrices: layers.length,
    changed: changed.length,
    low_rank: low.length,
    max_effective_rank: maxRank,
    verdict,
    low_rank_layers: low.map((l) => l.name),
    layers,
  };
  const summary = `${summaryFields([
    ['matrices', `${layers.length}`],
    ['changed', `${changed.length}`],
    ['low_rank', `${low.length}`],
    ['max_effective_rank', maxRank === null ? `>${above}` : `${maxRank}`],
    ['verdict', verdict],
  ])}${pairLabel(c, p)}`;
  const details = layers.map((l) => {
    const head = `${l.name} [${l.shape.join(', ')}]${l.reshaped ? ` as [${l.matrix.join(', ')}]` : ''}`;
    if (l.status === 'unchanged') return `${head}: unchanged`;
    if (l.status === 'skipped') return `${head}: not decomposed (${l.reason})`;
    const n = l.singular_values.length;
    const top = l.singular_values.slice(0, 8).map(fmt).join(', ');
    return `${head}: effective_rank=${l.effective_rank ?? `>${n}`}, entropy_rank=${fmt(l.entropy_effective_rank)}, energy@${n}=${fmt(l.energy[n - 1] ?? null)}, norm=${fmt(l.frobenius_norm)}, sigma=[${top}${n > 8 ? ', …' : ''}]${l.exact ? ' (exact)' : ` (top ${n} of ${Math.min(...l.matrix)}, randomized)`}${l.low_rank ? ', low-rank' : ''}`;
  });
  const table = {
    columns: ['tensor', 'shape', 'effective_rank', 'entropy_rank', 'sigma_1', `energy@${k}`, 'low_rank'],
    rows: layers
      .filter((l) => l.status === 'decomposed')
      .map((l) => [
        l.name,
        l.shape.join('×'),
        l.effective_rank,
        l.entropy_effective_rank,
        l.singular_values[0] ?? null,
        l.energy.at(-1) ?? null,
        l.low_rank ? 'yes' : 'no',
      ]),
  };
  return { summary, details, data, table };
}

export type LowRankDeltaData = Exclude<ReturnType<typeof lowRankDelta>['data'], NotApplicable> | NotApplicable;

const plugin: PairAnalysis<LowRankDeltaData> = {
  key: 'LowRankDelta',
  label: 'low_rank_delta',
  scope: 'pair',
  needs: ['lowRankDeltas'],
  analyze: lowRankDelta,
};
export default plugin;
