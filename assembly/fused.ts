// The fused diff kernel: statistics of A, statistics of B and their element-wise comparison
// over one chunk pair, in one pass over memory. The chunk is taken in blocks of BLOCK
// elements: each side's block is widened once (bf16/f16 → f32) into a small buffer that
// stays in L1, and the three accumulations run on it back to back. Their lane accumulators
// persist between blocks (stats.ts, compare.ts), so every number is bit for bit what the
// separate kernels (stats_f32/bf16/f16 and compare_f32) compute over the whole chunk — the
// same lanes, the same order, the same slow paths (cancellation, NaN/±Inf).
//
// Writes A's record to statsOut, B's to statsOutB (the stats.ts layout) and the comparison
// to compareOut (the compare.ts layout).

import { statsOut, statsOutB, compareOut, blockA, blockB, fusedAccA, fusedAccB, compareAcc, BLOCK_ELEMENTS } from './layout';
import {
  SRC_F32, SRC_BF16, FAST_DONE, FAST_NONFINITE, firstOf, statsAccInit, statsStepsF32, statsFinishF32, statsSlow, widened, writeEmptyStats,
} from './stats';
import { compareAccInit, compareStepsF32, compareFinishF32, compareMaskedF32 } from './compare';
import { bf16_to_f32, f16_to_f32 } from './convert';

/** Elements [s, s+len) of a side as f32: in place for f32, else widened into `block`. */
@inline function blockOf(ptr: usize, src: i32, s: i32, len: i32, block: usize): usize {
  if (src == SRC_F32) return ptr + (<usize>s << 2);
  if (src == SRC_BF16) bf16_to_f32(ptr + (<usize>s << 1), block, len);
  else f16_to_f32(ptr + (<usize>s << 1), block, len);
  return block;
}

/**
 * n elements per side: A at pa stored as srcA, B at pb as srcB (SRC_F32/BF16/F16 of
 * stats.ts). `scratchA`/`scratchB` (4n bytes each) are used only on the slow paths, to
 * widen a whole chunk that holds non-finite values.
 */
export function compare_stats(pa: usize, srcA: i32, pb: usize, srcB: i32, n: i32, eps: f64, scratchA: usize, scratchB: usize): void {
  if (n == 0) {
    writeEmptyStats(statsOut);
    writeEmptyStats(statsOutB);
    compareAccInit(compareAcc);
    compareFinishF32(compareAcc, 0, 0, 0, 0, eps);
    return;
  }
  const pivotA = firstOf(pa, srcA), pivotB = firstOf(pb, srcB);
  // A side whose first element is not finite goes straight to the masking path, as in stats.ts.
  let rA = isFinite(pivotA) ? FAST_DONE : FAST_NONFINITE;
  let rB = isFinite(pivotB) ? FAST_DONE : FAST_NONFINITE;
  const accA = fusedAccA, accB = fusedAccB, accC = compareAcc;
  statsAccInit(accA, pivotA);
  statsAccInit(accB, pivotB);
  compareAccInit(accC);
  const n8 = n & ~7, n4 = n & ~3;
  let last = 0;
  let ba: usize = 0, bb: usize = 0;
  for (let s = 0; s < n; s += BLOCK_ELEMENTS) {
    const len = min(BLOCK_ELEMENTS, n - s);
    ba = blockOf(pa, srcA, s, len, blockA);
    bb = blockOf(pb, srcB, s, len, blockB);
    // Blocks start on multiples of 8, so the 8- and 4-element steps fall as in one pass.
    const l8 = max(0, min(s + len, n8) - s);
    if (rA == FAST_DONE) statsStepsF32(accA, ba, l8, pivotA);
    if (rB == FAST_DONE) statsStepsF32(accB, bb, l8, pivotB);
    compareStepsF32(accC, ba, bb, max(0, min(s + len, n4) - s), eps);
    last = s;
  }
  // The scalar tails lie in the last block.
  const t8 = <usize>(n8 - last) << 2, t4 = <usize>(n4 - last) << 2;
  if (rA == FAST_DONE) rA = statsFinishF32(accA, ba + t8, n - n8, n, pivotA, statsOut);
  if (rB == FAST_DONE) rB = statsFinishF32(accB, bb + t8, n - n8, n, pivotB, statsOutB);
  const compared = compareFinishF32(accC, ba + t4, bb + t4, n - n4, n, eps);
  if (rA != FAST_DONE) statsSlow(pa, n, srcA, rA, statsOut, scratchA);
  if (rB != FAST_DONE) statsSlow(pb, n, srcB, rB, statsOutB, scratchB);
  if (!compared) compareMaskedF32(widened(pa, n, srcA, scratchA), widened(pb, n, srcB, scratchB), n, eps);
}
