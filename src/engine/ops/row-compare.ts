/**
 * Row-by-row comparison of two same-shape tensors (rows = slices along the first
 * dimension), over positions where both values are finite: Σab, ‖a‖, ‖b‖, cosine, ‖a−b‖,
 * relative change ‖a−b‖/‖a‖ and max|a−b|. Bit-identical at any chunk size and thread count
 * (ranges start on row boundaries; the kernel's records do not depend on the cuts).
 */
import type { EngineOp } from '../op.js';
import type { RowParams } from './row-stats.js';
import { columnArrays, concatColumns, emptyColumns, feedRows, type RowCarry } from './rows.js';

/** One Float64Array per quantity, one entry per row. */
export interface RowComparison {
  [column: string]: Float64Array;
  /** Positions where both values are finite (the rest are left out of every sum). */
  pairs: Float64Array;
  dot: Float64Array;
  normA: Float64Array;
  normB: Float64Array;
  /** Σab/(‖a‖‖b‖) clamped to [−1, 1]; NaN when either norm is 0. */
  cosine: Float64Array;
  diffNorm: Float64Array;
  /** ‖a−b‖/‖a‖; 0 when both norms are 0; NaN when only ‖a‖ is 0 or the row has no finite pairs. */
  relChange: Float64Array;
  /** max|a−b| (0 for rows without finite pairs). */
  maxAbs: Float64Array;
  /** Positions whose non-finite values differ (NaN vs number, Inf vs other). */
  mismatched: Float64Array;
}

const COLUMNS = ['pairs', 'dot', 'normA', 'normB', 'cosine', 'diffNorm', 'relChange', 'maxAbs', 'mismatched'] as const;

export interface RowCompareAcc extends RowCarry {
  columns: Record<(typeof COLUMNS)[number], number[]>;
}

export const rowCompareOp: EngineOp<RowParams, RowCompareAcc, RowComparison> = {
  sides: 2,
  split: 'ranges',
  rangeAlign: ({ rowLength }) => Math.max(1, rowLength),
  empty: () => ({ columns: emptyColumns(COLUMNS) }),
  chunk(acc, c, { rowLength }) {
    const pa = c.ptr(0);
    const pb = c.ptr(1);
    const width = c.kind === 'f64' ? 8 : 4;
    const k = c.k.k;
    const col = acc.columns;
    feedRows(
      c,
      rowLength,
      k.rowPairSlots(),
      acc,
      (at, n, off, out) => (c.kind === 'f64' ? k.rows2_f64 : k.rows2_f32)(pa + at * width, pb + at * width, n, rowLength, off, out),
      (r) => {
        // Record: 0 pairs, 1 max|a−b|, 2 Σ(a−b)², 3 Σab, 4 Σa², 5 Σb², 6 mismatched.
        const normA = Math.sqrt(r[4]!),
          normB = Math.sqrt(r[5]!),
          diffNorm = Math.sqrt(r[2]!);
        col.pairs.push(r[0]!);
        col.dot.push(r[3]!);
        col.normA.push(normA);
        col.normB.push(normB);
        col.cosine.push(normA > 0 && normB > 0 ? Math.min(1, Math.max(-1, r[3]! / (normA * normB))) : NaN);
        col.diffNorm.push(diffNorm);
        col.relChange.push(r[0] === 0 ? NaN : normA > 0 ? diffNorm / normA : diffNorm === 0 ? 0 : NaN);
        col.maxAbs.push(r[1]!);
        col.mismatched.push(r[6]!);
      },
    );
    return acc;
  },
  result: (acc) => columnArrays(COLUMNS, acc.columns),
  merge: concatColumns,
};
