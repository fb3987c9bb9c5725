/**
 * Copies chosen rows (slices along the first dimension) of one tensor out of the stream, as
 * f64: what analyses that work on a bounded sample of rows (k-means, Procrustes, neighbour
 * queries) hold in memory, instead of the whole matrix. One streaming pass; the output is
 * exactly rows.length × rowLength values, in the order of `rows` (ascending, distinct).
 */
import type { EngineOp } from '../op.js';
import { concatF64 } from '../concat.js';

export interface RowGatherParams {
  /** Row indexes, ascending and distinct. */
  rows: number[];
  rowLength: number;
}

export interface RowGatherAcc {
  /** Values of the chosen rows seen so far, in stream order (one piece per chunk). */
  pieces: Float64Array[];
}

/** First index i with rows[i] ≥ row (rows ascending). */
function lowerBound(rows: number[], row: number): number {
  let lo = 0,
    hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const rowGatherOp: EngineOp<RowGatherParams, RowGatherAcc, Float64Array> = {
  sides: 1,
  split: 'ranges',
  rangeAlign: ({ rowLength }) => Math.max(1, rowLength),
  empty: () => ({ pieces: [] }),
  chunk(acc, c, { rows, rowLength }) {
    if (rowLength === 0 || rows.length === 0) return acc;
    const buffer = c.k.k.memory.buffer;
    const data = c.kind === 'f64' ? new Float64Array(buffer, c.ptr(0), c.n) : new Float32Array(buffer, c.ptr(0), c.n);
    const end = c.first + c.n;
    const spans: Array<[number, number]> = [];
    let size = 0;
    for (let i = lowerBound(rows, Math.floor(c.first / rowLength)); i < rows.length; i++) {
      const start = rows[i]! * rowLength;
      if (start >= end) break;
      const from = Math.max(start, c.first);
      const to = Math.min(start + rowLength, end);
      if (to > from) {
        spans.push([from - c.first, to - c.first]);
        size += to - from;
      }
    }
    if (size === 0) return acc;
    const piece = new Float64Array(size);
    let at = 0;
    for (const [from, to] of spans) for (let p = from; p < to; p++) piece[at++] = data[p]!;
    acc.pieces.push(piece);
    return acc;
  },
  // Ranges run in order and rows ascend, so concatenation keeps the rows' order.
  result: (acc) => concatF64(acc.pieces),
  merge: (a, b) => concatF64([a, b]),
};
