/** Statistics (count, mean, M2, min, max, non-finite and zero counts) of one tensor. */
import type { EngineOp } from '../op.js';
import { type StatsPartial, emptyStats, mergeStats, statsFromRecord } from '../partials.js';

export const statsOp: EngineOp<Record<string, never>, StatsPartial, StatsPartial> = {
  sides: 1,
  split: 'ranges',
  empty: emptyStats,
  chunk(acc, c) {
    const { k } = c;
    const p = c.pipeline(0);
    // bf16/f16 are widened in registers by their own stats kernels.
    if (p.fusedStats && c.kind === 'f32') k.k[p.fusedStats](c.raw(0), c.n, k.scratchA);
    else if (c.kind === 'f64') k.k.stats_f64(c.ptr(0), c.n);
    else k.k.stats_f32(c.ptr(0), c.n);
    return mergeStats(acc, statsFromRecord(k.statsOut));
  },
  result: (acc) => acc,
  merge: mergeStats,
};
