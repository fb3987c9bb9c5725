/** Statistics of both tensors and their element-wise comparison, in one pass. */
import type { FusedStatsKernel } from '../../dtypes.js';
import { type SidePrep, copyBatchRecords, rawStatsCode, sidePrep } from '../column-batch.js';
import { COMPARE_FIELDS, STATS_FIELDS, packCompareRecord, packStatsRecord } from '../columns.js';
import type { Pipeline } from '../pipeline.js';
import type { Chunk, EngineOp } from '../op.js';
import { type CompareResult, type StatsPartial, compareFromRecord, emptyCompare, emptyStats, mergeCompare, mergeStats, statsFromRecord } from '../partials.js';

export type { CompareResult } from '../partials.js';

/**
 * How compare_stats reads a side stored as its fused-stats dtype (assembly/stats.ts SRC_*); 0
 * is f32. Q4_K has no source here: its side is dequantized to f32 first.
 */
export const FUSED_SOURCE: Partial<Record<FusedStatsKernel, number>> = { stats_bf16: 1, stats_f16: 2 };

/** The side's source code for compare_stats: bf16/f16 as stored, 0 (kernel-ready f32) for anything else. */
function fusedSource(c: Chunk, side: number): number {
  return pipelineSource(c.pipeline(side));
}

/** The side's pointer for compare_stats given its source code: the raw bytes for bf16/f16, else the f32 values. */
function fusedPtr(c: Chunk, side: number, src: number): number {
  return src ? c.raw(side) : c.ptr(side);
}

/** True when the side's statistics come from its own stats kernel (ownStats). */
function hasOwnStats(c: Chunk, side: number): boolean {
  const fused = c.pipeline(side).fusedStats;
  return fused !== undefined && !FUSED_SOURCE[fused];
}

/**
 * A side whose stats kernel reads it as stored but compare_stats cannot (Q4_K, from integer
 * moments): its statistics from that kernel, as inspect computes them, so a diff's per-side
 * statistics equal inspect's bit for bit.
 */
function ownStats(c: Chunk, side: number): StatsPartial | undefined {
  const fused = c.pipeline(side).fusedStats;
  if (!fused || !hasOwnStats(c, side)) return undefined;
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
      const srcA = fusedSource(c, 0);
      const srcB = fusedSource(c, 1);
      k.k.compare_stats(fusedPtr(c, 0, srcA), srcA, fusedPtr(c, 1, srcB), srcB, n, epsilon, k.scratchA, k.scratchB);
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
  record(c, { epsilon }, out, at) {
    // The f32 path of chunk() from an empty accumulator, its three records copied as they are.
    if (c.kind !== 'f32' || hasOwnStats(c, 0) || hasOwnStats(c, 1)) return false;
    const k = c.k;
    const srcA = fusedSource(c, 0);
    const srcB = fusedSource(c, 1);
    k.k.compare_stats(fusedPtr(c, 0, srcA), srcA, fusedPtr(c, 1, srcB), srcB, c.n, epsilon, k.scratchA, k.scratchB);
    packStatsRecord(k.statsOut, out, at);
    packStatsRecord(k.statsOutB, out, at + STATS_FIELDS);
    packCompareRecord(k.compareOut, out, at + 2 * STATS_FIELDS);
    return true;
  },
  batch(k, ps, { epsilon }) {
    // chunk() from an empty accumulator, item by item in assembly/batch.ts compare_batch.
    const wide = ps[0]!.kind === 'f64' ? 1 : 0;
    const sides: Array<{ src: number; prep: SidePrep; own: number }> = [];
    for (const p of ps) {
      // ownStats(): a side's own stats kernel replaces its statistics (0: none).
      const ownKernel = p.fusedStats && !FUSED_SOURCE[p.fusedStats] ? p.fusedStats : undefined;
      const own = ownKernel ? rawStatsCode(ownKernel) : 0;
      const prep = sidePrep(p);
      if (!prep || (ownKernel && own === 0)) return undefined;
      sides.push({ src: wide ? 0 : pipelineSource(p), prep, own });
    }
    const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
    return {
      width: 2 * STATS_FIELDS + COMPARE_FIELDS,
      run(count, out, at) {
        k.k.compare_batch(count, epsilon, wide, a.src, a.prep.widen, a.prep.toF64, a.own, b.src, b.prep.widen, b.prep.toF64, b.own);
        copyBatchRecords(k, count, 2 * STATS_FIELDS + COMPARE_FIELDS, out, at);
      },
    };
  },
};

/** fusedSource() of a side by its pipeline (the pipelines of an f32-kind chunk). */
function pipelineSource(p: Pipeline): number {
  return (p.fusedStats && FUSED_SOURCE[p.fusedStats]) || 0;
}
