/** Turns engine partials into the contract's stats and comparison objects. */
import { type ComparePartial, type StatsPartial, partialL2, partialStd } from '../engine/partials.js';
import type { TensorPartials } from '../engine/executor.js';
import type { TensorDescriptor } from '../formats/types.js';
import type { Comparison, PartStats, TensorStats } from './types.js';

function partStats(p: StatsPartial): PartStats {
  if (p.count === 0) return { mean: null, std: null, min: null, max: null };
  return { mean: p.mean, std: partialStd(p), min: p.min, max: p.max };
}

export function tensorStats(desc: TensorDescriptor, partials: TensorPartials | undefined): TensorStats {
  const p = partials?.stats;
  const complex = partials?.real !== undefined;
  const base: PartStats = p && !complex ? partStats(p) : { mean: null, std: null, min: null, max: null };
  const stats: TensorStats = {
    mean: base.mean,
    std: base.std,
    min: base.min,
    max: base.max,
    shape: desc.shape,
    dtype: desc.dtype,
    total_params: desc.numel,
    nan_count: p?.nan ?? null,
    posinf_count: p?.posinf ?? null,
    neginf_count: p?.neginf ?? null,
    zero_count: p?.zeros ?? null,
    // Σx² = M2 + n·mean² over finite elements (no partials: nothing was read).
    l2_norm: p ? partialL2(p) : null,
  };
  if (partials?.real && partials.imag) {
    stats.real = partStats(partials.real);
    stats.imag = partStats(partials.imag);
  }
  if (desc.quantization) {
    stats.quantization = { scheme: desc.quantization.scheme, scale: desc.quantization.scale, zero_point: desc.quantization.zeroPoint };
  }
  return stats;
}

export function comparison(c: ComparePartial): Comparison {
  const normA = Math.sqrt(c.sumAA);
  const normB = Math.sqrt(c.sumBB);
  const normDiff = Math.sqrt(c.sumSqDiff);
  return {
    max_abs_diff: c.pairs > 0 ? c.maxAbs : null,
    mean_abs_diff: c.pairs > 0 ? c.sumAbs / c.pairs : null,
    // No finite pair: nothing was measured. Both sides all zeros: no change.
    rel_l2_change: c.pairs === 0 ? null : normA > 0 ? normDiff / normA : normDiff === 0 ? 0 : null,
    cosine_similarity: normA > 0 && normB > 0 ? clamp(c.sumAB / (normA * normB), -1, 1) : null,
    changed_elements: c.changed,
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
