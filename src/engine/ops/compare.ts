/** Statistics of both tensors and their element-wise comparison, in one pass. */
import type { EngineOp } from '../op.js';
import { type ComparePartial, type StatsPartial, compareFromRecord, emptyCompare, emptyStats, mergeCompare, mergeStats, statsFromRecord } from '../partials.js';

export interface CompareResult {
  a: StatsPartial;
  b: StatsPartial;
  comparison: ComparePartial;
}

export const compareOp: EngineOp<{ epsilon: number }, CompareResult, CompareResult> = {
  sides: 2,
  split: 'ranges',
  empty: () => ({ a: emptyStats(), b: emptyStats(), comparison: emptyCompare() }),
  chunk(acc, c, { epsilon }) {
    const { k, n } = c;
    const ptrA = c.ptr(0);
    const ptrB = c.ptr(1);
    const f64 = c.kind === 'f64';
    if (f64) k.k.stats_f64(ptrA, n);
    else k.k.stats_f32(ptrA, n);
    const a = mergeStats(acc.a, statsFromRecord(k.statsOut));
    if (f64) k.k.stats_f64(ptrB, n);
    else k.k.stats_f32(ptrB, n);
    const b = mergeStats(acc.b, statsFromRecord(k.statsOut));
    if (f64) k.k.compare_f64(ptrA, ptrB, n, epsilon);
    else k.k.compare_f32(ptrA, ptrB, n, epsilon);
    return { a, b, comparison: mergeCompare(acc.comparison, compareFromRecord(k.compareOut)) };
  },
  result: (acc) => acc,
  merge: (x, y) => ({ a: mergeStats(x.a, y.a), b: mergeStats(x.b, y.b), comparison: mergeCompare(x.comparison, y.comparison) }),
};
