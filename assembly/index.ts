// Entry point of the kernel module: layout and tables are set up once by init() (or by
// initLayout(), then buildTables() before the first kernel that reads the f16/f8 tables); the
// host then reads chunks into rawA/rawB and calls one kernel per chunk.
import {
  allocateLayout, rawA, rawB, RING_SLOTS, scratchA, scratchB, statsOut, statsOutB, compareOut, RAW_BYTES, SCRATCH_BYTES,
  histOut, rowsOut, vecX, vecY, HIST_MAX_BINS, ROWS_OUT_BYTES, VEC_BYTES, batchIn, batchOut, BATCH_ITEMS,
} from './layout';
import { buildTables as fillTables, f16Constants } from './convert';
import { ROW_STATS_SLOTS, ROW_PAIR_SLOTS } from './rows';

export { stats_f32, stats_f64, stats_bf16, stats_f16 } from './stats';
export { stats_q4_k } from './quant-stats';
export { stats_i8, stats_u8, stats_i16, stats_u16 } from './int-stats';
export { compare_f64 } from './compare';
export {
  compare_f32, compare_stats, compare_stats_f32_f32, compare_stats_f32_bf16, compare_stats_f32_f16, compare_stats_bf16_f32, compare_stats_bf16_bf16,
  compare_stats_bf16_f16, compare_stats_f16_f32, compare_stats_f16_bf16, compare_stats_f16_f16,
} from './fused';
export { compare_batch, stats_batch } from './batch';
export { grid_residual_f32, grid_residual_f64 } from './grid';
export { tolerance_f32, tolerance_f64 } from './tolerance';
export { adam_step_f32, adam_step_f64 } from './adam';
export { histogram_f32, histogram_f64 } from './histogram';
export { rows_f32, rows_f64, rows2_f32, rows2_f64 } from './rows';
export { matvec_f32, matvec_f64, matvec_t_f32, matvec_t_f64 } from './matvec';
export {
  f16_to_f32, f16_to_f32_table, bf16_to_f32, f8e4m3_to_f32, f8e5m2_to_f32, f8e4m3fnuz_to_f32, f8e5m2fnuz_to_f32, i4_to_f32, u4_to_f32, i8_to_f32, u8_to_f32, i16_to_f32, u16_to_f32,
  bool_to_f32, i32_to_f64, u32_to_f64, i64_to_f64, u64_to_f64, byteswap, f32_to_f64, affine_f64,
} from './convert';

export function init(): void {
  initLayout();
  fillTables(scratchA);
}

/** The memory layout and the f16 SIMD constants, without the conversion tables. */
export function initLayout(): void {
  allocateLayout();
  f16Constants(); // allocated now: memory must not grow after init (the host holds views on it)
}

/** The f16 and f8 conversion tables (after initLayout; uses scratchA as work space). */
export function buildTables(): void {
  fillTables(scratchA);
}

export function ptrRawA(): usize { return rawA; }
export function ptrRawB(): usize { return rawB; }
export function ptrScratchA(): usize { return scratchA; }
export function ptrScratchB(): usize { return scratchB; }
export function ptrStatsOut(): usize { return statsOut; }
export function ptrStatsOutB(): usize { return statsOutB; }
export function ptrCompareOut(): usize { return compareOut; }
export function rawBytes(): usize { return RAW_BYTES; }
export function ringSlots(): usize { return RING_SLOTS; }
export function scratchBytes(): usize { return SCRATCH_BYTES; }
export function ptrHistOut(): usize { return histOut; }
export function histMaxBins(): usize { return HIST_MAX_BINS; }
export function ptrRowsOut(): usize { return rowsOut; }
export function rowsOutBytes(): usize { return ROWS_OUT_BYTES; }
export function ptrVecX(): usize { return vecX; }
export function ptrVecY(): usize { return vecY; }
export function vecBytes(): usize { return VEC_BYTES; }
export function ptrBatchIn(): usize { return batchIn; }
export function ptrBatchOut(): usize { return batchOut; }
export function batchItems(): usize { return BATCH_ITEMS; }
export function rowStatsSlots(): i32 { return ROW_STATS_SLOTS; }
export function rowPairSlots(): i32 { return ROW_PAIR_SLOTS; }
export {
  q4_0_to_f32, q4_1_to_f32, q5_0_to_f32, q5_1_to_f32, q8_0_to_f32, q2_k_to_f32, q3_k_to_f32, q4_k_to_f32, q5_k_to_f32,
  q6_k_to_f32, q8_k_to_f32, iq4_nl_to_f32, iq4_xs_to_f32,
} from './dequant';
