/**
 * The engine op registry. Every op runs on the engine's one streaming loop (engine.ts),
 * in this thread or in any pool worker, by its name here.
 *
 * Adding an op = one new file under src/engine/ops/ exporting an EngineOp (op.ts) plus one
 * line in OPS below. An op declares:
 *  - `sides`: 1 (one tensor) or 2 (two tensors read element for element);
 *  - `split`: 'ranges' (the executor may cut a tensor into element ranges and `merge` the
 *    range results in order — results must not depend on the cut) or 'whole';
 *  - `empty(params)`: the accumulator before any chunk;
 *  - `chunk(acc, chunk, params)`: its kernel call(s) on the chunk's pointers — `chunk.ptr(side)`
 *    is kernel-ready data (after swap/widen/dequantize, of kind `chunk.kind`), `chunk.raw(side)`
 *    the stored bytes; `chunk.first` is the logical index of the chunk's first element;
 *  - optionally `chunkElements(params, tensors, step)` to align chunks (e.g. to whole rows),
 *    and `rangeAlign(params, tensors)` to start split ranges on row boundaries;
 *  - `result(acc, params)`: plain data (it crosses threads by structured clone).
 * Run it with `executor.run('name', tensors, params)`; the result is typed as OpResult<'name'>.
 */
import type { TensorDescriptor } from '../formats/types.js';
import type { EngineOp } from './op.js';
import { adamStepOp } from './ops/adam-step.js';
import { compareOp } from './ops/compare.js';
import { gridOp } from './ops/grid.js';
import { toleranceOp } from './ops/tolerance.js';
import { valuesOp } from './ops/values.js';
import { histogramOp } from './ops/histogram.js';
import { matvecOp, matvecTOp } from './ops/matvec.js';
import { rowCompareOp } from './ops/row-compare.js';
import { rowGatherOp } from './ops/row-gather.js';
import { rowStatsOp } from './ops/row-stats.js';
import { statsOp } from './ops/stats.js';
import { weightedStatsOp } from './ops/weighted-stats.js';
import { zeroRowsOp } from './ops/zero-rows.js';

export const OPS = {
  stats: statsOp,
  compare: compareOp,
  zeroRows: zeroRowsOp,
  grid: gridOp,
  rowStats: rowStatsOp,
  rowCompare: rowCompareOp,
  histogram: histogramOp,
  matvec: matvecOp,
  matvecT: matvecTOp,
  weightedStats: weightedStatsOp,
  tolerance: toleranceOp,
  values: valuesOp,
  rowGather: rowGatherOp,
  adamStep: adamStepOp,
};

type Ops = typeof OPS;
export type OpName = keyof Ops;
export type OpParams<K extends OpName> = Ops[K] extends EngineOp<infer P, unknown, unknown> ? P : never;
export type OpResult<K extends OpName> = Ops[K] extends EngineOp<never, unknown, infer R> ? R : never;

/** The registered op, typed by its name (the one place the name-to-type link is asserted). */
export function opOf<K extends OpName>(name: K): EngineOp<OpParams<K>, unknown, OpResult<K>> {
  return OPS[name] as unknown as EngineOp<OpParams<K>, unknown, OpResult<K>>;
}

/** One op over element range [first, end) of its tensors (one per side). */
export interface JobItem<K extends OpName = OpName> {
  tensors: TensorDescriptor[];
  params: OpParams<K>;
  first: number;
  end: number;
}

/**
 * A unit of work for an engine: one op over one or more items. Several small items in one
 * job let the engine read adjacent tensors with one positional read. Plain data, so jobs
 * cross to workers as they are; the result has one entry per item.
 */
export interface Job<K extends OpName = OpName> {
  op: K;
  items: JobItem<K>[];
}
