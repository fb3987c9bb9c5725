// Column jobs in one call per batch of items (src/engine/column-batch.ts): many small tensors
// already read side by side into the raw buffers, each one kernel chunk. For every item the
// batch makes the calls the host's per-item path makes (src/engine/ops/compare.ts and
// stats.ts: widen, kernels, own statistics), in the same order and on the same buffers, and
// copies the kernels' records out as they are. A hundred thousand 64-element tensors then
// cost a few dozen calls from the host instead of several per tensor.
//
// Items: BATCH_ITEMS at most, at batchIn as i32 triples (A's raw pointer, B's raw pointer, n).
// Records at batchOut as a column job holds them (src/engine/columns.ts packStatsRecord and
// packCompareRecord: what merging a kernel record into an empty accumulator gives), per
// item: compare: A's statistics, B's, the comparison (29 f64); stats: the statistics (10 f64).

import { batchIn, batchOut, compareOut, scratchA, scratchB, statsOut, statsOutB } from './layout';
import { compare_f64 } from './compare';
import {
  bf16_to_f32, bool_to_f32, f16_to_f32, f32_to_f64, f8e4m3_to_f32, f8e4m3fnuz_to_f32, f8e5m2_to_f32, f8e5m2fnuz_to_f32, i16_to_f32, i32_to_f64,
  i64_to_f64, i8_to_f32, u16_to_f32, u32_to_f64, u64_to_f64, u8_to_f32,
} from './convert';
import { compare_stats } from './fused';
import { stats_i16, stats_i8, stats_u16, stats_u8 } from './int-stats';
import { stats_bf16, stats_f16, stats_f32, stats_f64 } from './stats';

const STATS_BYTES: usize = 80;
const COMPARE_BYTES: usize = 72;

/**
 * The stats record at `r` (stats.ts writeStats: count, mean, M2, min, max, nan, +inf, −inf,
 * zeros, exp) as a column job packs it (columns.ts STATS_ORDER: count, mean, M2, exp, min,
 * max, nan, +inf, −inf, zeros); a record of no element as the empty accumulator's fields.
 */
function packStats(r: usize, out: usize): void {
  if (load<f64>(r) == 0 && load<f64>(r, 40) == 0 && load<f64>(r, 48) == 0 && load<f64>(r, 56) == 0) {
    writeEmptyPacked(out);
    return;
  }
  store<f64>(out, load<f64>(r));
  store<f64>(out, load<f64>(r, 8), 8);
  store<f64>(out, load<f64>(r, 16), 16);
  store<f64>(out, load<f64>(r, 72), 24);
  store<f64>(out, load<f64>(r, 24), 32);
  store<f64>(out, load<f64>(r, 32), 40);
  store<f64>(out, load<f64>(r, 40), 48);
  store<f64>(out, load<f64>(r, 48), 56);
  store<f64>(out, load<f64>(r, 56), 64);
  store<f64>(out, load<f64>(r, 64), 72);
}

/** partials.ts emptyStats() packed: count, mean, M2, exp 0, min +∞, max −∞, counts 0. */
function writeEmptyPacked(out: usize): void {
  memory.fill(out, 0, STATS_BYTES);
  store<f64>(out, Infinity, 32);
  store<f64>(out, -Infinity, 40);
}

/** True for −0. */
@inline function negativeZero(x: f64): bool { return x == 0 && (reinterpret<u64>(x) >> 63) != 0; }

/**
 * The compare record at `r` as a column job packs it (columns.ts packCompareRecord): as it
 * is, unless maxAbs or a sum is −0; then maxAbs is max(0, maxAbs) and every other field
 * 0 + itself (what adding it to the empty accumulator's zeros gives).
 */
function packCompare(r: usize, out: usize): void {
  const minus = negativeZero(load<f64>(r, 8)) || negativeZero(load<f64>(r, 16)) || negativeZero(load<f64>(r, 32)) || negativeZero(load<f64>(r, 40)) ||
    negativeZero(load<f64>(r, 48)) || negativeZero(load<f64>(r, 56));
  if (!minus) {
    memory.copy(out, r, COMPARE_BYTES);
    return;
  }
  store<f64>(out, load<f64>(r));
  store<f64>(out, max<f64>(0, load<f64>(r, 8)), 8);
  for (let f: usize = 2; f < 9; f++) store<f64>(out + (f << 3), 0 + load<f64>(r + (f << 3)));
}

/**
 * Widens n stored elements at src into dst by code: 1-based positions in the host's
 * BATCH_WIDENINGS (src/engine/column-batch.ts), 0 for none.
 */
function widen(code: i32, src: usize, dst: usize, n: i32): void {
  switch (code) {
    case 1: bf16_to_f32(src, dst, n); break;
    case 2: f16_to_f32(src, dst, n); break;
    case 3: f8e4m3_to_f32(src, dst, n); break;
    case 4: f8e5m2_to_f32(src, dst, n); break;
    case 5: f8e4m3fnuz_to_f32(src, dst, n); break;
    case 6: f8e5m2fnuz_to_f32(src, dst, n); break;
    case 7: i8_to_f32(src, dst, n); break;
    case 8: u8_to_f32(src, dst, n); break;
    case 9: bool_to_f32(src, dst, n); break;
    case 10: i16_to_f32(src, dst, n); break;
    case 11: u16_to_f32(src, dst, n); break;
    case 12: i32_to_f64(src, dst, n); break;
    case 13: u32_to_f64(src, dst, n); break;
    case 14: i64_to_f64(src, dst, n); break;
    case 15: u64_to_f64(src, dst, n); break;
    default: unreachable();
  }
}

/** The host's convert(): the kernel-ready elements of a side (raw itself when nothing is widened). */
@inline function prepared(raw: usize, widenCode: i32, toF64: i32, scratch: usize, n: i32): usize {
  let ptr = raw;
  if (widenCode != 0) {
    widen(widenCode, raw, scratch, n);
    ptr = scratch;
  }
  if (toF64 != 0) {
    f32_to_f64(ptr, scratch, n);
    ptr = scratch;
  }
  return ptr;
}

/**
 * A stats kernel that reads stored elements (the host's fusedStats names) by code: 1-based
 * positions in BATCH_RAW_STATS of column-batch.ts. Its record lands in statsOut.
 */
function rawStats(code: i32, raw: usize, n: i32, scratch: usize): void {
  switch (code) {
    case 1: stats_bf16(raw, n, scratch); break;
    case 2: stats_f16(raw, n, scratch); break;
    case 3: stats_i8(raw, n); break;
    case 4: stats_u8(raw, n); break;
    case 5: stats_i16(raw, n); break;
    case 6: stats_u16(raw, n); break;
    default: unreachable();
  }
}

/**
 * The compare op on `count` items. Per side: `src` is the fused kernel's source code (0: the
 * prepared f32, else the stored bf16/f16 read as they are), `widen`/`toF64` prepare it,
 * `own` (0: none) names the stats kernel whose record replaces the side's. `wide` (the
 * sides' kind is f64): stats_f64 of each side and compare_f64 instead of the fused kernel.
 */
export function compare_batch(
  count: i32, eps: f64, wide: i32,
  srcA: i32, widenA: i32, toF64A: i32, ownA: i32,
  srcB: i32, widenB: i32, toF64B: i32, ownB: i32,
): void {
  for (let i = 0; i < count; i++) {
    const item = batchIn + (<usize>i) * 12;
    const rawA = <usize>load<u32>(item), rawB = <usize>load<u32>(item, 4);
    const n = load<i32>(item, 8);
    const out = batchOut + (<usize>i) * (2 * STATS_BYTES + COMPARE_BYTES);
    if (wide == 0) {
      const pa = srcA != 0 ? rawA : prepared(rawA, widenA, toF64A, scratchA, n);
      const pb = srcB != 0 ? rawB : prepared(rawB, widenB, toF64B, scratchB, n);
      compare_stats(pa, srcA, pb, srcB, n, eps, scratchA, scratchB);
      packStats(statsOut, out);
      packStats(statsOutB, out + STATS_BYTES);
    } else {
      const pa = prepared(rawA, widenA, toF64A, scratchA, n);
      const pb = prepared(rawB, widenB, toF64B, scratchB, n);
      stats_f64(pa, n);
      packStats(statsOut, out);
      stats_f64(pb, n);
      packStats(statsOut, out + STATS_BYTES);
      compare_f64(pa, pb, n, eps);
    }
    packCompare(compareOut, out + 2 * STATS_BYTES);
    if (ownA != 0) {
      rawStats(ownA, rawA, n, scratchA);
      packStats(statsOut, out);
    }
    if (ownB != 0) {
      rawStats(ownB, rawB, n, scratchB);
      packStats(statsOut, out + STATS_BYTES);
    }
  }
}

/**
 * The stats op on `count` items (A's pointers only): `kernel` 0 is stats_f32 and 1 stats_f64
 * of the prepared elements, anything else a rawStats code + 1 on the stored ones.
 */
export function stats_batch(count: i32, widenCode: i32, toF64: i32, kernel: i32): void {
  for (let i = 0; i < count; i++) {
    const item = batchIn + (<usize>i) * 12;
    const raw = <usize>load<u32>(item);
    const n = load<i32>(item, 8);
    if (kernel == 0) stats_f32(prepared(raw, widenCode, toF64, scratchA, n), n);
    else if (kernel == 1) stats_f64(prepared(raw, widenCode, toF64, scratchA, n), n);
    else rawStats(kernel - 1, raw, n, scratchA);
    packStats(statsOut, batchOut + (<usize>i) * STATS_BYTES);
  }
}
