/** Statistics of both tensors and their element-wise comparison, in one pass. */
import type { FusedStatsKernel } from '../../dtypes.js';
import type { Chunk, EngineOp } from '../op.js';
import { type ComparePartial, type StatsPartial, compareFromRecord, emptyCompare, emptyStats, mergeCompare, mergeStats, statsFromRecord } from '../partials.js';

export interface CompareResult {
  a: StatsPartial;
  b: StatsPartial;
  comparison: ComparePartial;
}

/**
 * How compare_stats reads a side stored as its fused-stats dtype (assembly/stats.ts SRC_*); 0
 * is f32. Q4_K has no source here: its side is dequantized to f32 first.
 */
export const FUSED_SOURCE: Partial<Record<FusedStatsKernel, number>> = { stats_bf16: 1, stats_f16: 2 };

/** The side's pointer and source code for compare_stats: bf16/f16 as stored, anything else kernel-ready f32. */
function fusedSide(c: Chunk, side: number): [ptr: number, src: number] {
  const fused = c.pipeline(side).fusedStats;
  const src = fused && FUSED_SOURCE[fused];
  return src ? [c.raw(side), src] : [c.ptr(side), 0];
}

/**
 * A side whose stats kernel reads it as stored but compare_stats cannot (Q4_K, from integer
 * moments): its statistics from that kernel, as inspect computes them, so a diff's per-side
 * statistics equal inspect's bit for bit.
 */
function ownStats(c: Chunk, side: number): StatsPartial | undefined {
  const fused = c.pipeline(side).fusedStats;
  if (!fused || FUSED_SOURCE[fused]) return undefined;
  c.k.k[fused](c.raw(side), c.n, side === 0 ? c.k.scratchA : c.k.scratchB);
  return statsFromRecord(c.k.statsOut);
}

export const compareOp: EngineOp<{ epsilon: number }, CompareResult, CompareResult> = {
  sides: 2,
  split: 'ranges',
  empty: () => ({ a: emptyStats(), b: emptyStats(), comparison: emptyCompare() }),
  chunk(acc, c, { epsilon }) {
    const { k, n } = c;
    if (c.kind === 'f32') {
      // One pass for all three results (assembly/fused.ts); bf16/f16 are widened once, in registers.
      const [pa, srcA] = fusedSide(c, 0);
      const [pb, srcB] = fusedSide(c, 1);
      k.k.compare_stats(pa, srcA, pb, srcB, n, epsilon, k.scratchA, k.scratchB);
      const comparison = mergeCompare(acc.comparison, compareFromRecord(k.compareOut));
      const a = statsFromRecord(k.statsOut);
      const b = statsFromRecord(k.statsOutB);
      return { a: mergeStats(acc.a, ownStats(c, 0) ?? a), b: mergeStats(acc.b, ownStats(c, 1) ?? b), comparison };
    }
    const ptrA = c.ptr(0);
    const ptrB = c.ptr(1);
    k.k.stats_f64(ptrA, n);
    const a = mergeStats(acc.a, statsFromRecord(k.statsOut));
    k.k.stats_f64(ptrB, n);
    const b = mergeStats(acc.b, statsFromRecord(k.statsOut));
    k.k.compare_f64(ptrA, ptrB, n, epsilon);
    const comparison = mergeCompare(acc.comparison, compareFromRecord(k.compareOut));
    const ownA = ownStats(c, 0);
    const ownB = ownStats(c, 1);
    return { a: ownA ? mergeStats(acc.a, ownA) : a, b: ownB ? mergeStats(acc.b, ownB) : b, comparison };
  },
  result: (acc) => acc,
  merge: (x, y) => ({ a: mergeStats(x.a, y.a), b: mergeStats(x.b, y.b), comparison: mergeCompare(x.comparison, y.comparison) }),
};
