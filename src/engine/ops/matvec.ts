/**
 * Products of a streamed 2-D tensor W [m, n] (more dimensions: [shape0, rest]) with a small
 * block of k ≤ 64 vectors (MATVEC_MAX_K), in bounded memory (power iteration, randomized SVD):
 *  - matvec:  Y = W·X, X n×k → Y m×k;
 *  - matvecT: Z = Wᵀ·Y, Y m×k → Z n×k.
 * Blocks are f64, row-major (X[j·k + c]). Every output element is one f64 accumulator fed
 * in a fixed order (assembly/matvec.ts), and ranges start on row boundaries: Y does not
 * depend on chunks, ranges or threads at all; Z is a sum over ranges (fixed by the tensor's
 * size alone) added in range order, so it is bit-identical at any chunk size and thread count.
 */
import type { Kernels } from '../kernels.js';
import type { EngineOp } from '../op.js';
import { concatF64 } from '../concat.js';

export interface MatvecParams {
  /** X, n·k values (row-major, k per row). */
  x: Float64Array;
  k: number;
  /** n: the row length of W. */
  cols: number;
}

export interface MatvecTParams {
  /** Y, m·k values (row-major, k per row). */
  y: Float64Array;
  k: number;
  cols: number;
}

export interface MatvecAcc {
  /** The engine whose WASM memory holds X (vecX) and the finished rows of Y (vecY) while this item streams. */
  kernels?: Kernels;
  /** Finished rows moved out of vecY when it filled up (a range of more than its rows), in order. */
  pieces: Float64Array[];
  /** Values of finished rows in vecY; a row in progress keeps its running sums right after them. */
  filled: number;
  /** A row is in progress (a chunk ended inside it). */
  open: boolean;
}

export const matvecOp: EngineOp<MatvecParams, MatvecAcc, Float64Array> = {
  sides: 1,
  split: 'ranges',
  rangeAlign: ({ cols }) => Math.max(1, cols),
  // Whole rows per chunk when a row fits (one kernel call per chunk).
  chunkElements: ({ cols }, _tensors, step) => (cols <= step ? Math.floor(step / cols) * cols : step),
  empty: () => ({ pieces: [], filled: 0, open: false }),
  chunk(acc, c, { x, k, cols }) {
    const kk = c.k.k;
    const X = kk.ptrVecX();
    const Y = kk.ptrVecY();
    // X and the rows of Y stay in WASM memory for the whole stream: an engine runs one job at
    // a time, and result() follows an item's last chunk. Rows are copied out once, at the end.
    if (!acc.kernels) {
      new Float64Array(kk.memory.buffer, X, cols * k).set(x);
      acc.kernels = c.k;
    }
    const capacity = Math.floor(kk.vecBytes() / 8 / k) * k;
    const ptr = c.ptr(0);
    const width = c.kind === 'f64' ? 8 : 4;
    const run = c.kind === 'f64' ? kk.matvec_f64 : kk.matvec_f32;
    for (let at = 0; at < c.n; ) {
      const off = (c.first + at) % cols;
      // A new row needs room for its k sums.
      if (off === 0 && acc.filled + k > capacity) {
        acc.pieces.push(new Float64Array(kk.memory.buffer, Y, acc.filled).slice());
        acc.filled = 0;
      }
      const sums = Y + acc.filled * 8;
      if (off > 0 || c.n - at < cols) {
        // A piece of a row: continue its sums (kept in place) over columns off…off+len.
        const len = Math.min(cols - off, c.n - at);
        if (off > 0 && !acc.open) throw new Error('matvec: a row continued without its sums');
        run(ptr + at * width, 1, len, len, X + off * k * 8, k, sums, off > 0 ? 1 : 0);
        acc.open = off + len < cols;
        if (!acc.open) acc.filled += k;
        at += len;
      } else {
        const rows = Math.min(Math.floor((c.n - at) / cols), (capacity - acc.filled) / k);
        run(ptr + at * width, rows, cols, cols, X, k, sums, 0);
        acc.filled += rows * k;
        at += rows * cols;
      }
    }
    return acc;
  },
  result(acc) {
    if (!acc.kernels) return new Float64Array(0);
    const kk = acc.kernels.k;
    const last = new Float64Array(kk.memory.buffer, kk.ptrVecY(), acc.filled).slice();
    return acc.pieces.length === 0 ? last : concatF64([...acc.pieces, last]);
  },
  merge: (a, b) => concatF64([a, b]),
  // Rows of every range joined once, instead of copied again at every merge.
  mergeAll: (parts) => concatF64(parts),
};

export interface MatvecTAcc {
  /** The engine whose WASM memory holds Z (at its vecX region) while this item streams. */
  kernels?: Kernels;
  cols: number;
  k: number;
}

export const matvecTOp: EngineOp<MatvecTParams, MatvecTAcc, Float64Array> = {
  sides: 1,
  split: 'ranges',
  rangeAlign: ({ cols }) => Math.max(1, cols),
  chunkElements: ({ cols }, _tensors, step) => (cols <= step ? Math.floor(step / cols) * cols : step),
  empty: ({ cols, k }) => ({ cols, k }),
  chunk(acc, c, { y, k, cols }) {
    const kk = c.k.k;
    const Z = kk.ptrVecX();
    const Y = kk.ptrVecY();
    // Z accumulates in WASM memory for the whole stream and result() reads it right after the
    // last chunk (the engine runs one job at a time, and result follows an item's last chunk).
    if (!acc.kernels) {
      new Float64Array(kk.memory.buffer, Z, cols * k).fill(0);
      acc.kernels = c.k;
    }
    const maxRows = Math.floor(kk.vecBytes() / 8 / k);
    const yv = new Float64Array(kk.memory.buffer, Y, maxRows * k);
    const ptr = c.ptr(0);
    const width = c.kind === 'f64' ? 8 : 4;
    const run = c.kind === 'f64' ? kk.matvec_t_f64 : kk.matvec_t_f32;
    for (let at = 0; at < c.n; ) {
      const position = c.first + at;
      const row = Math.floor(position / cols);
      const off = position % cols;
      if (off > 0 || c.n - at < cols) {
        // A piece of one row adds into Z's columns off…off+len; every Z element still sees rows in order.
        const len = Math.min(cols - off, c.n - at);
        yv.set(y.subarray(row * k, (row + 1) * k), 0);
        run(ptr + at * width, 1, len, len, Y, k, Z + off * k * 8);
        at += len;
      } else {
        const rows = Math.min(Math.floor((c.n - at) / cols), maxRows);
        yv.set(y.subarray(row * k, (row + rows) * k), 0);
        run(ptr + at * width, rows, cols, cols, Y, k, Z);
        at += rows * cols;
      }
    }
    return acc;
  },
  result: (acc) =>
    acc.kernels ? new Float64Array(acc.kernels.k.memory.buffer, acc.kernels.k.ptrVecX(), acc.cols * acc.k).slice() : new Float64Array(acc.cols * acc.k),
  merge: (a, b) => a.map((z, i) => z + b[i]!),
  // The fold from the empty result, ((0 + Z_0) + Z_1) + …, summed into Z_0 itself: no array per merge.
  mergeAll(parts) {
    const z = parts[0]!;
    for (let i = 0; i < z.length; i++) {
      let sum = 0 + z[i]!;
      for (let r = 1; r < parts.length; r++) sum += parts[r]![i]!;
      z[i] = sum;
    }
    return z;
  },
};
