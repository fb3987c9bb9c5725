/**
 * The shape of an engine op (see ops.ts for the registry). An op is a pure description:
 * the engine's one streaming loop reads the tensors' elements chunk by chunk into WASM
 * memory, runs each side's pipeline (byte swap, widen, dequantize) and hands the op a
 * Chunk; the op calls its kernel(s) on the chunk's pointers and folds the kernel output
 * into its accumulator.
 */
import type { TensorDescriptor } from '../formats/types.js';
import type { BatchCall } from './column-batch.js';
import type { Kernels } from './kernels.js';
import type { Kind, Pipeline } from './pipeline.js';

/** One chunk of elements of every side, already in WASM memory. */
export interface Chunk {
  k: Kernels;
  /** Elements in the chunk, and the logical index of the first of them in the tensor. */
  n: number;
  first: number;
  /** The kind every side's kernel-ready data has (both f64 when the sides' kinds differ). */
  kind: Kind;
  pipeline(side: number): Pipeline;
  /** The side's stored bytes (byte-swapped when big-endian), for kernels that widen themselves. */
  raw(side: number): number;
  /** The side's kernel-ready elements (widened/dequantized on first use). */
  ptr(side: number): number;
}

export interface EngineOp<Params, Acc, Result> {
  /** Tensors the op reads together, element for element (1, or 2 for comparisons). */
  sides: 1 | 2;
  /**
   * 'ranges': a tensor may be cut into element ranges run separately (on any thread) and
   * their results merged in range order; 'whole': one job streams the whole tensor.
   */
  split: 'ranges' | 'whole';
  /** The accumulator before any chunk. */
  empty(params: Params, tensors: TensorDescriptor[]): Acc;
  /**
   * With split 'ranges': ranges start and end on multiples of this many elements (e.g. a
   * row length, so a row is never cut between two ranges); default 1.
   */
  rangeAlign?(params: Params, tensors: TensorDescriptor[]): number;
  /** Elements per chunk given the engine's largest chunk `step` (e.g. whole rows); default step. */
  chunkElements?(params: Params, tensors: TensorDescriptor[], step: number): number;
  /** Runs the kernel(s) on one chunk and folds their output into the accumulator. */
  chunk(acc: Acc, c: Chunk, params: Params): Acc;
  /** The job's result (plain data: it crosses from workers by structured clone). */
  result(acc: Acc, params: Params): Result;
  /** Combines results of consecutive ranges (required for split: 'ranges'). */
  merge?(a: Result, b: Result): Result;
  /**
   * Column jobs (engine/columns.ts): an item that is one chunk, its record written at `at` of
   * `out` exactly as packResult(result(chunk(empty(), c))) would write it, without those
   * objects (a hundred thousand small tensors made ~1 KB of garbage each). False when this
   * chunk needs the general path (nothing written).
   */
  record?(c: Chunk, params: Params, out: Float64Array, at: number): boolean;
  /**
   * Column jobs: the call that runs many one-chunk items of these pipelines (the sides'
   * kind: that of the first) at once, writing each item's record as record() would
   * (column-batch.ts); undefined when these pipelines have none (items then go one by one).
   */
  batch?(k: Kernels, pipelines: Pipeline[], params: Params): BatchCall | undefined;
  /**
   * Optional: every range's result at once (in range order; the array and its results are
   * the op's to reuse), equal to folding merge over them from the empty result. For ops
   * whose results are large blocks: the fold would copy them at every step.
   */
  mergeAll?(parts: Result[]): Result;
}
