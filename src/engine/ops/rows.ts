/**
 * Feeding chunks to the per-row kernels (assembly/rows.ts): a chunk may start or end inside
 * a row, and a row may be longer than a chunk. Each kernel call gets at most as many rows as
 * the records region holds; the unfinished last record is kept here between calls and put
 * back at the region's start before the row continues, as the kernels' contract asks.
 */
import type { Chunk } from '../op.js';

/** Rows of a tensor along its first dimension: shape [d0, …] has d0 rows of numel/d0 elements. */
export function rowLengthOf(shape: number[], numel: number): number {
  return shape.length === 0 ? 1 : shape[0] === 0 ? 0 : numel / shape[0]!;
}

/** The record of the row that the previous chunk left unfinished (copied out of WASM memory). */
export interface RowCarry {
  pending?: Float64Array;
}

/**
 * Runs `call(at, n, off, out)` on elements [at, at + n) of the chunk (`off`: their position
 * in their first row; `out`: the records region) and hands every finished row's record to
 * `emit`, in row order. The record view is only valid during `emit`.
 */
export function feedRows(
  c: Chunk,
  rowLength: number,
  slots: number,
  carry: RowCarry,
  call: (at: number, n: number, off: number, out: number) => number,
  emit: (record: Float64Array) => void,
): void {
  const k = c.k.k;
  const out = k.ptrRowsOut();
  const capacity = Math.floor(k.rowsOutBytes() / (slots * 8));
  const records = new Float64Array(k.memory.buffer, out, capacity * slots);
  let off = c.first % rowLength;
  for (let at = 0; at < c.n; ) {
    const n = Math.min(c.n - at, rowLength - off + (capacity - 1) * rowLength);
    if (off > 0) {
      // Ranges start on row boundaries, so a continued row always has its record here.
      if (!carry.pending) throw new Error('per-row kernel: a row continued without its record');
      records.set(carry.pending, 0);
    }
    const touched = call(at, n, off, out);
    const endOff = (off + n) % rowLength;
    const finished = endOff === 0 ? touched : touched - 1;
    for (let r = 0; r < finished; r++) emit(records.subarray(r * slots, (r + 1) * slots));
    carry.pending = endOff === 0 ? undefined : records.slice((touched - 1) * slots, touched * slots);
    off = endOff;
    at += n;
  }
}

/** Per-row columns being filled: an empty list per column name. */
export function emptyColumns<C extends string>(names: readonly C[]): Record<C, number[]> {
  return Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<C, number[]>;
}

/** The filled lists as the result's Float64Array columns. */
export function columnArrays<C extends string>(names: readonly C[], columns: Record<C, number[]>): Record<C, Float64Array> {
  return Object.fromEntries(names.map((name) => [name, Float64Array.from(columns[name])])) as Record<C, Float64Array>;
}

/** Concatenates per-row columns of consecutive ranges. */
export function concatColumns<T extends Record<string, Float64Array>>(a: T, b: T): T {
  const out: Record<string, Float64Array> = {};
  for (const key of Object.keys(a)) {
    const x = a[key]!,
      y = b[key]!;
    const joined = new Float64Array(x.length + y.length);
    joined.set(x, 0);
    joined.set(y, x.length);
    out[key] = joined;
  }
  return out as T;
}
