/**
 * Statistics of every row (slice along the first dimension) of one tensor, in one pass:
 * finite count, mean, population std, min, max, zeros, L2 norm and non-finite counts.
 * Ranges start on row boundaries and the kernel's records do not depend on where a chunk
 * cuts a row, so the columns are bit-identical at any chunk size and thread count.
 */
import type { EngineOp } from '../op.js';
import { columnArrays, concatColumns, emptyColumns, feedRows, type RowCarry } from './rows.js';

/** One Float64Array per statistic, one entry per row. mean/std/min/max are NaN for rows without finite values. */
export interface RowStats {
  [column: string]: Float64Array;
  count: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
  zeros: Float64Array;
  /** sqrt(Σx²) over the finite values (Σx² of f64 values beyond ~1e154 overflows to +Inf). */
  norm: Float64Array;
  nan: Float64Array;
  posinf: Float64Array;
  neginf: Float64Array;
}

const COLUMNS = ['count', 'mean', 'std', 'min', 'max', 'zeros', 'norm', 'nan', 'posinf', 'neginf'] as const;

export interface RowStatsAcc extends RowCarry {
  columns: Record<(typeof COLUMNS)[number], number[]>;
}

export interface RowParams {
  rowLength: number;
}

export const rowStatsOp: EngineOp<RowParams, RowStatsAcc, RowStats> = {
  sides: 1,
  split: 'ranges',
  rangeAlign: ({ rowLength }) => Math.max(1, rowLength),
  empty: () => ({ columns: emptyColumns(COLUMNS) }),
  chunk(acc, c, { rowLength }) {
    const ptr = c.ptr(0);
    const width = c.kind === 'f64' ? 8 : 4;
    const k = c.k.k;
    const col = acc.columns;
    feedRows(
      c,
      rowLength,
      k.rowStatsSlots(),
      acc,
      (at, n, off, out) => (c.kind === 'f64' ? k.rows_f64 : k.rows_f32)(ptr + at * width, n, rowLength, off, out),
      (r) => {
        // Record: 0 count, 1 mean, 2 M2, 3 min, 4 max, 5 nan, 6 +inf, 7 −inf, 8 zeros, 9 Σx².
        const count = r[0]!;
        col.count.push(count);
        col.mean.push(count > 0 ? r[1]! : NaN);
        col.std.push(count > 0 ? Math.sqrt(r[2]! / count) : NaN);
        col.min.push(count > 0 ? r[3]! : NaN);
        col.max.push(count > 0 ? r[4]! : NaN);
        col.zeros.push(r[8]!);
        col.norm.push(Math.sqrt(r[9]!));
        col.nan.push(r[5]!);
        col.posinf.push(r[6]!);
        col.neginf.push(r[7]!);
      },
    );
    return acc;
  },
  result: (acc) => columnArrays(COLUMNS, acc.columns),
  merge: concatColumns,
};

/** Rows of a tensor with rows of length 0 (shape [d0, 0, …]): nothing counted. */
export function emptyRowStats(rows: number): RowStats {
  const nan = () => new Float64Array(rows).fill(NaN);
  const zero = () => new Float64Array(rows);
  return { count: zero(), mean: nan(), std: nan(), min: nan(), max: nan(), zeros: zero(), norm: zero(), nan: zero(), posinf: zero(), neginf: zero() };
}
