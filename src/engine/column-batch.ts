/**
 * Column jobs a batch at a time: consecutive one-chunk items of a run already read into the
 * raw buffers go to the WASM kernels as one call (assembly/batch.ts), which makes for every
 * item the calls the op's per-item path makes and packs their records as record() does; they
 * come back as one copy. A hundred thousand small tensors took several JS→WASM calls, a
 * chunk view update and three record packs in JS each; per item there are now three
 * integers written.
 *
 * An op offers a batch for given pipelines through EngineOp.batch (compare.ts, stats.ts);
 * the side plans below use the steps of pipeline.ts convert(), so both paths give the same
 * bits (test/column_batch.test.ts checks every dtype against the per-item path).
 */
import type { FusedStatsKernel, WidenKernel } from '../dtypes.js';
import type { Kernels } from './kernels.js';
import { needsF64Step, type Pipeline } from './pipeline.js';

/** Widenings a batch can run, by code (1-based position here; assembly/batch.ts widen() has the same order). */
export const BATCH_WIDENINGS: readonly WidenKernel[] = [
  'bf16_to_f32',
  'f16_to_f32',
  'f8e4m3_to_f32',
  'f8e5m2_to_f32',
  'f8e4m3fnuz_to_f32',
  'f8e5m2fnuz_to_f32',
  'i8_to_f32',
  'u8_to_f32',
  'bool_to_f32',
  'i16_to_f32',
  'u16_to_f32',
  'i32_to_f64',
  'u32_to_f64',
  'i64_to_f64',
  'u64_to_f64',
];

/** Stats kernels on stored elements a batch can run, by code (1-based; assembly/batch.ts rawStats()). */
export const BATCH_RAW_STATS: readonly FusedStatsKernel[] = ['stats_bf16', 'stats_f16', 'stats_i8', 'stats_u8', 'stats_i16', 'stats_u16'];

/** How a batch prepares a side's kernel-ready elements, as convert() does: a widening code and a final f32 → f64 step (0/1). */
export interface SidePrep {
  widen: number;
  toF64: number;
}

/** The side's preparation in batch codes, or undefined when a batch cannot do it (byte swaps, dequantization, other widenings). */
export function sidePrep(p: Pipeline): SidePrep | undefined {
  if (p.swap || p.quantization || p.blockElements !== 1) return undefined;
  const widen = p.widen ? BATCH_WIDENINGS.indexOf(p.widen.kernel) + 1 : 0;
  if (p.widen && widen === 0) return undefined;
  return { widen, toF64: needsF64Step(p) ? 1 : 0 };
}

/** The batch code of a stats kernel on stored elements (0 when a batch has none for it). */
export function rawStatsCode(kernel: FusedStatsKernel): number {
  return BATCH_RAW_STATS.indexOf(kernel) + 1;
}

/** An op's batch call for one set of pipelines: `width` doubles per item in a job's records. */
export interface BatchCall {
  width: number;
  /** Runs the kernels on the `count` items at k.batchIn and packs their records into out[at…]. */
  run(count: number, out: Float64Array, at: number): void;
}

/** Copies a batch's packed records (assembly/batch.ts writes them as a column job holds them) into out[at…]. */
export function copyBatchRecords(k: Kernels, count: number, width: number, out: Float64Array, at: number): void {
  out.set(k.batchOut.subarray(0, count * width), at);
}

/**
 * Items waiting for their batch call: consecutive items of a column job with one call
 * (pipelines), gathered until the call changes, an item needs the per-item path, the batch
 * is full, or the raw buffers are about to be read again (the caller flushes then).
 */
export class ColumnBatch {
  private call: BatchCall | undefined;
  private out: Float64Array | undefined;
  private first = 0;
  private count = 0;

  constructor(private readonly k: Kernels) {}

  /** Adds item `index` of `out`'s job (its raw bytes at rawA/rawB, n elements); runs what waits first when it cannot join it. */
  add(call: BatchCall, out: Float64Array, index: number, rawA: number, rawB: number, n: number): void {
    if (this.count > 0 && (call !== this.call || out !== this.out || index !== this.first + this.count || this.count === this.k.batchItems)) this.flush();
    if (this.count === 0) {
      this.call = call;
      this.out = out;
      this.first = index;
    }
    const items = this.k.batchIn;
    const at = 3 * this.count++;
    items[at] = rawA;
    items[at + 1] = rawB;
    items[at + 2] = n;
  }

  /** Drops the waiting items unrun (their job failed). */
  discard(): void {
    this.count = 0;
    this.call = undefined;
    this.out = undefined;
  }

  /** Runs the waiting items (before their raw bytes are overwritten, or results are read). */
  flush(): void {
    if (this.count === 0) return;
    const call = this.call!;
    call.run(this.count, this.out!, this.first * call.width);
    this.count = 0;
    this.call = undefined;
    this.out = undefined;
  }
}
