/**
 * Loads the WASM kernels (build/kernels.wasm) and gives typed access to their exports and
 * working memory. One Kernels object per thread: each has its own instance and buffers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DType } from '../dtypes.js';

type Convert = (src: number, dst: number, n: number) => void;

export interface KernelExports {
  memory: WebAssembly.Memory;
  init(): void;
  /** init() without the conversion tables; buildTables() adds them. */
  initLayout(): void;
  buildTables(): void;
  stats_f32(ptr: number, n: number): void;
  stats_f64(ptr: number, n: number): void;
  stats_bf16(ptr: number, n: number, scratch: number): void;
  stats_f16(ptr: number, n: number, scratch: number): void;
  stats_q4_k(ptr: number, n: number, scratch: number): void;
  /** 8- and 16-bit integers as stored, from exact integer sums (assembly/int-stats.ts); n ≤ 2^20. */
  stats_i8(ptr: number, n: number): void;
  stats_u8(ptr: number, n: number): void;
  stats_i16(ptr: number, n: number): void;
  stats_u16(ptr: number, n: number): void;
  compare_f32(pa: number, pb: number, n: number, eps: number): void;
  compare_f64(pa: number, pb: number, n: number, eps: number): void;
  /**
   * Stats of A (statsOut), of B (statsOutB) and their comparison (compareOut) in one pass;
   * src* is how the side is stored (FUSED_SOURCE); scratch* serve only the slow paths.
   */
  compare_stats(pa: number, srcA: number, pb: number, srcB: number, n: number, eps: number, scratchA: number, scratchB: number): void;
  grid_residual_f32(ptr: number, n: number, origin: number, inv: number): number;
  grid_residual_f64(ptr: number, n: number, origin: number, inv: number): number;
  tolerance_f32(pa: number, pb: number, n: number, atol: number, rtol: number): void;
  tolerance_f64(pa: number, pb: number, n: number, atol: number, rtol: number): void;
  /** Adam's effective step u = (m/bc1)/(√v/√bc2 + ε) per element: [Σu², max|u|, non-finite, finite] (assembly/adam.ts). */
  adam_step_f32(pm: number, pv: number, n: number, invBc1: number, invSqrtBc2: number, eps: number): void;
  adam_step_f64(pm: number, pv: number, n: number, invBc1: number, invSqrtBc2: number, eps: number): void;
  f16_to_f32: Convert;
  f16_to_f32_table: Convert;
  bf16_to_f32: Convert;
  f8e4m3_to_f32: Convert;
  f8e5m2_to_f32: Convert;
  f8e4m3fnuz_to_f32: Convert;
  f8e5m2fnuz_to_f32: Convert;
  i4_to_f32: Convert;
  u4_to_f32: Convert;
  i8_to_f32: Convert;
  u8_to_f32: Convert;
  i16_to_f32: Convert;
  u16_to_f32: Convert;
  bool_to_f32: Convert;
  i32_to_f64: Convert;
  u32_to_f64: Convert;
  i64_to_f64: Convert;
  u64_to_f64: Convert;
  f32_to_f64: Convert;
  /** ggml block dequantization (assembly/dequant.ts): n elements, a whole number of blocks. */
  q4_0_to_f32: Convert;
  q4_1_to_f32: Convert;
  q5_0_to_f32: Convert;
  q5_1_to_f32: Convert;
  q8_0_to_f32: Convert;
  q2_k_to_f32: Convert;
  q3_k_to_f32: Convert;
  q4_k_to_f32: Convert;
  q5_k_to_f32: Convert;
  q6_k_to_f32: Convert;
  q8_k_to_f32: Convert;
  iq4_nl_to_f32: Convert;
  iq4_xs_to_f32: Convert;
  byteswap(ptr: number, n: number, size: number): void;
  affine_f64(ptr: number, n: number, scale: number, zeroPoint: number): void;
  ptrRawA(): number;
  ptrRawB(): number;
  ptrScratchA(): number;
  ptrScratchB(): number;
  ptrStatsOut(): number;
  ptrStatsOutB(): number;
  ptrCompareOut(): number;
  rawBytes(): number;
  ringSlots(): number;
  scratchBytes(): number;
  /** Adds counts into `out`: [under, over, nan, +inf, −inf, 3 spare, bins…] (assembly/histogram.ts). */
  histogram_f32(ptr: number, n: number, lo: number, hi: number, bins: number, out: number): void;
  histogram_f64(ptr: number, n: number, lo: number, hi: number, bins: number, out: number): void;
  /** Per-row records at `out` (assembly/rows.ts); returns the number of records touched. */
  rows_f32(ptr: number, n: number, rowLen: number, off: number, out: number): number;
  rows_f64(ptr: number, n: number, rowLen: number, off: number, out: number): number;
  rows2_f32(pa: number, pb: number, n: number, rowLen: number, off: number, out: number): number;
  rows2_f64(pa: number, pb: number, n: number, rowLen: number, off: number, out: number): number;
  /** Y (+)= W·X and Z += Wᵀ·Y with f64 n×k / m×k blocks (assembly/matvec.ts). */
  matvec_f32(w: number, rows: number, cols: number, ldw: number, x: number, k: number, y: number, accumulate: number): void;
  matvec_f64(w: number, rows: number, cols: number, ldw: number, x: number, k: number, y: number, accumulate: number): void;
  matvec_t_f32(w: number, rows: number, cols: number, ldw: number, y: number, k: number, z: number): void;
  matvec_t_f64(w: number, rows: number, cols: number, ldw: number, y: number, k: number, z: number): void;
  ptrHistOut(): number;
  histMaxBins(): number;
  ptrRowsOut(): number;
  rowsOutBytes(): number;
  ptrVecX(): number;
  ptrVecY(): number;
  vecBytes(): number;
  rowStatsSlots(): number;
  rowPairSlots(): number;
  /** Column-job batches (assembly/batch.ts): items at ptrBatchIn (i32 triples), records at ptrBatchOut. */
  compare_batch(
    count: number,
    eps: number,
    wide: number,
    srcA: number,
    widenA: number,
    toF64A: number,
    ownA: number,
    srcB: number,
    widenB: number,
    toF64B: number,
    ownB: number,
  ): void;
  stats_batch(count: number, widen: number, toF64: number, kernel: number): void;
  ptrBatchIn(): number;
  ptrBatchOut(): number;
  batchItems(): number;
}

let compiled: WebAssembly.Module | undefined;
let compiling: Promise<void> | undefined;

/**
 * Compiles the kernels in the background (V8 compiles on its own threads): a caller that
 * starts this before other work (the CLI, before it reads the models' headers) overlaps the
 * two; Kernels made after it resolved take its module instead of compiling in their
 * constructor. Idempotent; rejects as the constructor would throw.
 */
export function compileKernels(): Promise<void> {
  compiling ??= compiled
    ? Promise.resolve()
    : new Promise<Buffer<ArrayBuffer>>((resolve) => resolve(readKernels()))
        .then((bytes) => WebAssembly.compile(bytes))
        .then((module) => {
          compiled ??= module;
        });
  return compiling;
}

/** The compiled kernels once compileKernels() has resolved (what pool workers are handed). */
export function compiledKernels(): WebAssembly.Module | undefined {
  return compiled;
}

/** Takes kernels another thread compiled (a pool worker, before its first job). */
export function useCompiledKernels(module: WebAssembly.Module): void {
  compiled ??= module;
}

/**
 * build/kernels.wasm, two directories up from this module: src/engine → <repo>/build when
 * run from the sources (tests), dist/src/engine → dist/build in the built package (the
 * build copies the wasm there, see package.json build:ts).
 */
export const KERNELS_URL = new URL('../../build/kernels.wasm', import.meta.url);

/**
 * Stored dtypes whose kernels never read the conversion tables (f16 and f8 decoding, the f16
 * scales of ggml blocks): a run over these alone never fills them. Any other dtype does.
 */
const TABLE_FREE: ReadonlySet<DType> = new Set<DType>(['f32', 'f64', 'bf16', 'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool', 'i4', 'u4']);

export interface KernelsOptions {
  /**
   * 'lazy': the conversion tables are filled by the first prepareFor() of a dtype that reads
   * them (the engine's way: filling them is several ms of start-up, in V8's baseline code,
   * that a small f32 diff does not need). Default 'eager': ready for any kernel call.
   */
  tables?: 'eager' | 'lazy';
}

export class Kernels {
  readonly k: KernelExports;
  /** The first raw chunk buffer of side A and of side B; each side has `ringSlots` of them, `rawBytes` apart. */
  readonly rawA: number;
  readonly rawB: number;
  readonly ringSlots: number;
  readonly scratchA: number;
  readonly scratchB: number;
  readonly rawBytes: number;
  readonly scratchBytes: number;
  /** The stats record: [count, mean, M2, min, max, nan, +inf, −inf, zeros, exp]. */
  readonly statsOut: Float64Array;
  /** Side B's stats record from compare_stats. */
  readonly statsOutB: Float64Array;
  /** The compare record: [pairs, maxAbs, sumAbs, changed, sumSqDiff, sumAB, sumAA, sumBB, mismatched]. */
  readonly compareOut: Float64Array;
  readonly bytes: Uint8Array;
  /** Column-job batches: items in (raw pointer A, raw pointer B, n per item), kernel records out, and the most items per call. */
  readonly batchIn: Int32Array;
  readonly batchOut: Float64Array;
  readonly batchItems: number;
  private tablesReady: boolean;

  constructor(options: KernelsOptions = {}) {
    // V8's default tiering: functions start in the baseline compiler and tier up to optimized
    // code between calls. The kernels are called once per ~1 MiB chunk,
    // so a large run is optimized after its first few MiB (measured: ~3 ms lost per run),
    // while a small run no longer waits for the optimizing compiler (≈10 ms CPU of start-up).
    compiled ??= new WebAssembly.Module(readKernels());
    const instance = new WebAssembly.Instance(compiled, { env: { abort: kernelAbort } });
    this.k = instance.exports as unknown as KernelExports;
    this.tablesReady = options.tables !== 'lazy';
    if (this.tablesReady) this.k.init();
    else this.k.initLayout();
    // Memory does not grow after init(), so these views stay valid.
    const buffer = this.k.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.rawA = this.k.ptrRawA();
    this.rawB = this.k.ptrRawB();
    this.ringSlots = this.k.ringSlots();
    this.scratchA = this.k.ptrScratchA();
    this.scratchB = this.k.ptrScratchB();
    this.rawBytes = this.k.rawBytes();
    this.scratchBytes = this.k.scratchBytes();
    this.statsOut = new Float64Array(buffer, this.k.ptrStatsOut(), 10);
    this.statsOutB = new Float64Array(buffer, this.k.ptrStatsOutB(), 10);
    this.compareOut = new Float64Array(buffer, this.k.ptrCompareOut(), 9);
    this.batchItems = this.k.batchItems();
    this.batchIn = new Int32Array(buffer, this.k.ptrBatchIn(), 3 * this.batchItems);
    this.batchOut = new Float64Array(buffer, this.k.ptrBatchOut(), 29 * this.batchItems);
  }

  /**
   * Makes the kernels of a stored dtype ready: fills the conversion tables on first need.
   * Call it before the first kernel on data of that dtype, never while a chunk widened into
   * scratchA is still in use (the fill works there).
   */
  prepareFor(dtype: DType): void {
    if (this.tablesReady || TABLE_FREE.has(dtype)) return;
    this.k.buildTables();
    this.tablesReady = true;
  }

  /** A view of WASM memory for `length` bytes at `ptr`, for reading file bytes straight in. */
  view(ptr: number, length: number): Uint8Array {
    return this.bytes.subarray(ptr, ptr + length);
  }
}

function readKernels(): Buffer<ArrayBuffer> {
  try {
    return readFileSync(KERNELS_URL) as Buffer<ArrayBuffer>; // a fresh, unshared buffer
  } catch {
    throw new Error(`${fileURLToPath(KERNELS_URL)} not found: run \`npm run build\``);
  }
}

function kernelAbort(): never {
  throw new Error('WASM kernel aborted');
}
