/** Statistics (count, mean, M2, min, max, non-finite and zero counts) of one tensor. */
import { copyBatchRecords, rawStatsCode, sidePrep } from '../column-batch.js';
import { STATS_FIELDS, packStatsRecord } from '../columns.js';
import type { Chunk, EngineOp } from '../op.js';
import { type StatsPartial, emptyStats, mergeStats, statsFromRecord } from '../partials.js';

/** Runs the chunk's stats kernel: its record lands in k.statsOut. */
function runStats(c: Chunk): void {
  const { k } = c;
  const p = c.pipeline(0);
  // bf16/f16 are widened in registers, 8/16-bit integers summed exactly, by their own stats kernels.
  if (p.fusedStats && c.kind === 'f32') k.k[p.fusedStats](c.raw(0), c.n, k.scratchA);
  else if (c.kind === 'f64') k.k.stats_f64(c.ptr(0), c.n);
  else k.k.stats_f32(c.ptr(0), c.n);
}

export const statsOp: EngineOp<Record<string, never>, StatsPartial, StatsPartial> = {
  sides: 1,
  split: 'ranges',
  empty: emptyStats,
  chunk(acc, c) {
    runStats(c);
    return mergeStats(acc, statsFromRecord(c.k.statsOut));
  },
  result: (acc) => acc,
  merge: mergeStats,
  // A one-chunk tensor of a column job: the kernel's record packed as it is (no objects per tensor).
  record(c, _params, out, at) {
    runStats(c);
    packStatsRecord(c.k.statsOut, out, at);
    return true;
  },
  batch(k, [p]) {
    // runStats item by item in assembly/batch.ts stats_batch: a stats kernel on the stored
    // elements (code + 1), else stats_f64 (1) or stats_f32 (0) of the prepared ones.
    const prep = sidePrep(p!);
    if (!prep) return undefined;
    let kernel = p!.kind === 'f64' ? 1 : 0;
    if (p!.fusedStats && p!.kind === 'f32') {
      const code = rawStatsCode(p!.fusedStats);
      if (code === 0) return undefined;
      kernel = code + 1;
    }
    return {
      width: STATS_FIELDS,
      run(count, out, at) {
        k.k.stats_batch(count, prep.widen, prep.toF64, kernel);
        copyBatchRecords(k, count, STATS_FIELDS, out, at);
      },
    };
  },
};
