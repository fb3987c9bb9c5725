/**
 * A fixed-bin histogram of one tensor's values over [lo, hi] (bins of equal width, x = hi
 * in the last), with underflow/overflow and NaN/±Inf counts. Counts are integers held in
 * f64, so ranges, tensors and shards merge by exact addition.
 */
import type { EngineOp } from '../op.js';

export interface HistogramParams {
  lo: number;
  hi: number;
  bins: number;
}

export interface Histogram {
  lo: number;
  hi: number;
  /** counts[b]: finite values in bin b, i.e. min(bins − 1, floor((x − lo) · bins / (hi − lo))) = b. */
  counts: Float64Array;
  /** Finite values below lo / above hi. */
  underflow: number;
  overflow: number;
  nan: number;
  posinf: number;
  neginf: number;
}

/** Slots before the bins in the kernel's output (assembly/histogram.ts). */
const HEADER = 8;

export const histogramOp: EngineOp<HistogramParams, Float64Array, Histogram> = {
  sides: 1,
  split: 'ranges',
  empty: ({ bins }) => new Float64Array(HEADER + bins),
  chunk(acc, c, { lo, hi, bins }) {
    const k = c.k.k;
    const out = k.ptrHistOut();
    const slots = new Float64Array(k.memory.buffer, out, HEADER + bins);
    slots.fill(0);
    (c.kind === 'f64' ? k.histogram_f64 : k.histogram_f32)(c.ptr(0), c.n, lo, hi, bins, out);
    for (let i = 0; i < acc.length; i++) acc[i]! += slots[i]!;
    return acc;
  },
  result: (acc, { lo, hi }) => ({
    lo,
    hi,
    counts: acc.slice(HEADER),
    underflow: acc[0]!,
    overflow: acc[1]!,
    nan: acc[2]!,
    posinf: acc[3]!,
    neginf: acc[4]!,
  }),
  merge: (a, b) => ({
    lo: a.lo,
    hi: a.hi,
    counts: a.counts.map((x, i) => x + b.counts[i]!),
    underflow: a.underflow + b.underflow,
    overflow: a.overflow + b.overflow,
    nan: a.nan + b.nan,
    posinf: a.posinf + b.posinf,
    neginf: a.neginf + b.neginf,
  }),
};

/** Checks histogram parameters against the kernel's contract (lo < hi finite, 1 ≤ bins ≤ maxBins). */
export function checkHistogramParams({ lo, hi, bins }: HistogramParams, maxBins: number): void {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi) || !Number.isFinite(hi - lo)) {
    throw new RangeError(`histogram: need finite lo < hi (with hi − lo finite), got lo=${lo}, hi=${hi}`);
  }
  if (!Number.isInteger(bins) || bins < 1 || bins > maxBins) throw new RangeError(`histogram: bins must be an integer in 1..${maxBins}, got ${bins}`);
}
