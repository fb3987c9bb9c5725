/**
 * Indexes of the all-zero rows (consecutive runs of `rowLength` logical elements): each
 * row's zero count comes from the stats kernel run on its slice of the chunk.
 */
import type { EngineOp } from '../op.js';

export interface RowScan {
  rows: number[];
  row: number;
  inRow: number;
  zerosInRow: number;
}

export const zeroRowsOp: EngineOp<{ rowLength: number }, RowScan, number[]> = {
  sides: 1,
  split: 'whole',
  empty: () => ({ rows: [], row: 0, inRow: 0, zerosInRow: 0 }),
  // Chunks hold whole rows when rows fit; longer rows are followed across chunks.
  chunkElements: ({ rowLength }, _tensors, step) => (rowLength <= step ? Math.floor(step / rowLength) * rowLength : step),
  chunk(s, c, { rowLength }) {
    const { k, n } = c;
    const ptr = c.ptr(0);
    const width = c.kind === 'f64' ? 8 : 4;
    for (let at = 0; at < n; ) {
      const length = Math.min(rowLength - s.inRow, n - at);
      if (c.kind === 'f64') k.k.stats_f64(ptr + at * width, length);
      else k.k.stats_f32(ptr + at * width, length);
      s.zerosInRow += k.statsOut[8]!;
      s.inRow += length;
      at += length;
      if (s.inRow === rowLength) {
        if (s.zerosInRow === rowLength) s.rows.push(s.row);
        s.row++;
        s.inRow = 0;
        s.zerosInRow = 0;
      }
    }
    return s;
  },
  result: (s) => s.rows,
};
