/** Turns engine partials into the contract's stats and comparison objects. */
import type { DType } from '../dtypes.js';
import { unpackCompareInto, unpackStatsInto } from '../engine/columns.js';
import { type ComparePartial, type StatsPartial, emptyCompare, emptyStats, partialL2, partialStd } from '../engine/partials.js';
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
  const stats = statsObject(desc.shape, desc.dtype, desc.numel, p && !complex ? partStats(p) : NO_PART, p);
  if (partials?.real && partials.imag) {
    stats.real = partStats(partials.real);
    stats.imag = partStats(partials.imag);
  }
  if (desc.quantization) {
    stats.quantization = { scheme: desc.quantization.scheme, scale: desc.quantization.scale, zero_point: desc.quantization.zeroPoint };
  }
  return stats;
}

const NO_PART: PartStats = Object.freeze({ mean: null, std: null, min: null, max: null });

/** The contract's stats object: `base` over the finite elements, counts and norm from `p` (null without partials). */
function statsObject(shape: number[], dtype: DType, numel: number, base: PartStats, p: StatsPartial | undefined): TensorStats {
  return {
    mean: base.mean,
    std: base.std,
    min: base.min,
    max: base.max,
    shape,
    dtype,
    total_params: numel,
    nan_count: p?.nan ?? null,
    posinf_count: p?.posinf ?? null,
    neginf_count: p?.neginf ?? null,
    zero_count: p?.zeros ?? null,
    // Σx² = M2 + n·mean² over finite elements (no partials: nothing was read).
    l2_norm: p ? partialL2(p) : null,
  };
}

/**
 * tensorStats of a plain real tensor (no complex parts, no quantization) whose packed
 * statistics are at records[at…] (a column job's, columns.ts), without the partials and
 * descriptor objects: a million reported tensors each made a dozen objects.
 */
export function recordTensorStats(shape: number[], dtype: DType, numel: number, records: Float64Array, at: number): TensorStats {
  const p = unpackStatsInto(records, at, SCRATCH_STATS);
  return statsObject(shape, dtype, numel, p.count === 0 ? NO_PART : { mean: p.mean, std: partialStd(p), min: p.min, max: p.max }, p);
}

/** comparison() of the packed compare partial at records[at…]. */
export function recordComparison(records: Float64Array, at: number): Comparison {
  return comparison(unpackCompareInto(records, at, SCRATCH_COMPARE));
}

/** Partials the record functions fill and read at once (never kept). */
const SCRATCH_STATS = emptyStats();
const SCRATCH_COMPARE = emptyCompare();

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
