/**
 * Statistics of a tensor whose element i counts `weights[i]` times: the storage of a view
 * that names some stored elements more often than others (overlapping windows). The
 * engine decodes the elements (any dtype, byte order, quantization); the weighted sums are
 * taken here per chunk around the chunk's first finite value (West's weighted update, so
 * |mean| ≫ std keeps its digits) and chunks merge with Chan's formula.
 */
import type { EngineOp } from '../op.js';
import { type StatsPartial, emptyStats, mergeStats } from '../partials.js';

export interface WeightParams {
  /** One weight per element of the tensor (non-negative integers). */
  weights: Float64Array;
}

export const weightedStatsOp: EngineOp<WeightParams, StatsPartial, StatsPartial> = {
  sides: 1,
  split: 'whole', // the weights travel with one job, not with every range
  empty: emptyStats,
  chunk(acc, c, { weights }) {
    const buffer = c.k.k.memory.buffer;
    const values = c.kind === 'f64' ? new Float64Array(buffer, c.ptr(0), c.n) : new Float32Array(buffer, c.ptr(0), c.n);
    const part = emptyStats();
    let pivot = Number.NaN;
    let mean = 0; // of (x − pivot)
    for (let i = 0; i < c.n; i++) {
      const w = weights[c.first + i]!;
      if (w === 0) continue;
      const x = values[i]!;
      if (Number.isNaN(x)) part.nan += w;
      else if (x === Infinity) part.posinf += w;
      else if (x === -Infinity) part.neginf += w;
      else {
        if (x === 0) part.zeros += w;
        if (x < part.min) part.min = x;
        if (x > part.max) part.max = x;
        if (Number.isNaN(pivot)) pivot = x;
        const y = x - pivot;
        part.count += w;
        const d = y - mean;
        mean += (d * w) / part.count;
        part.m2 += w * d * (y - mean);
      }
    }
    part.mean = part.count > 0 ? pivot + mean : 0;
    return mergeStats(acc, part);
  },
  result: (acc) => acc,
};
