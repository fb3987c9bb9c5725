// The fused diff kernel: statistics of A, statistics of B and their element-wise comparison
// over one chunk pair, in one pass. Each step loads sixteen elements per side, widens them
// once in registers (bf16/f16 → f32x4 → f64x2) and feeds all three accumulations from the
// same values (bf16/f16 sides take min, max and zeros from the loaded bits, half-bits.ts).
// Statistics take their first pass around 0, so a side's Σx² is bit for bit
// the comparison's Σa² (Σb²), summed once. Every accumulator sees the values of the
// separate kernels (stats_f32/bf16/f16, compare_f32) in their lane order (stats.ts sum4 and
// squares4), with the same tails and slow paths (cancellation re-run, NaN/±Inf masking), so
// the records are theirs bit for bit; compare_f32 is this loop without the statistics.
//
// Writes A's record to statsOut, B's to statsOutB (the stats.ts layout) and the comparison
// to compareOut (the compare.ts layout).

import { statsOut, statsOutB } from './layout';
import {
  SRC_F32, SRC_BF16, SRC_F16, SRC_F16_SCALED, F16_UP, F16_DOWN, FAST_DONE, FAST_CANCELLED, FAST_NONFINITE, foldHalfLanes, foldStatsLanes, guessPivot, highF64, max4, min4, scalarAt, lowF64, shiftOf, squares4, statsFinish,
  statsFrom, statsSlow, sum4, sumSquares, vecAt, widened, widenHalf, writeEmptyStats, zeros4,
} from './stats';
import { foldBits, magMin2, magMinStart, maxS2, maxSStart, maxU2, maxUStart } from './half-bits';
import { compareFinish, compareMaskedF32, writeCompare } from './compare';
import { f16ConstantsPtr, F16_SCALED_MASK, F16_SCALED_SCALE } from './convert';
import { sumF64x2 as hsum, sumI32x4, sumI64x2 } from './lanes';

/** (acc + x) + y: two steps' sums added in order. */
@inline function add2(acc: v128, x: v128, y: v128): v128 { return f64x2.add(f64x2.add(acc, x), y); }

/** (a0·b0 + a1·b1) + (a2·b2 + a3·b3). */
@inline function dot4(a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128): v128 {
  return f64x2.add(f64x2.add(f64x2.mul(a0, b0), f64x2.mul(a1, b1)), f64x2.add(f64x2.mul(a2, b2), f64x2.mul(a3, b3)));
}

/** Element group k (0–3: elements 4k..4k+3 of the step at i) of one side as f32x4; bf16/f16 from their loaded bits r0 (elements 0–7), r1 (8–15). */
@inline function sideVec(ptr: usize, i: i32, k: i32, src: i32, r0: v128, r1: v128, mask: v128, scale: v128): v128 {
  if (src == SRC_F32) return vecAt(ptr, i + (k >> 1) * 8, k & 1, src, mask, scale);
  return widenHalf(k < 2 ? r0 : r1, k & 1, src, mask, scale);
}

/** One side's folded lanes for statsFinish: its f32 lanes, or the bit accumulators of bf16/f16. */
@inline function foldSide(mn: v128, mx: v128, umx: v128, smx: v128, mmn: v128, z: v128, s: v128, q: v128, ptr: usize, n16: i32, src: i32, first: f64): void {
  foldStatsLanes(mn, mx, z, s, q);
  if (src != SRC_F32) foldHalfLanes(n16 > 0 && foldBits(umx, smx, mmn, ptr, n16, src == SRC_BF16), ptr, n16, src, first);
}

/** The largest lanes of four f64x2. */
@inline function max4F64(e0: v128, e1: v128, e2: v128, e3: v128): v128 { return f64x2.pmax(f64x2.pmax(e0, e1), f64x2.pmax(e2, e3)); }

/** −(the count of lanes > E) of four f64x2, as i64x2. */
@inline function over4(e0: v128, e1: v128, e2: v128, e3: v128, E: v128): v128 {
  return i64x2.add(i64x2.add(f64x2.gt(e0, E), f64x2.gt(e1, E)), i64x2.add(f64x2.gt(e2, E), f64x2.gt(e3, E)));
}

/**
 * One pass over n pairs: A at pa stored as srcA, B at pb as srcB (SRC_* of stats.ts). With
 * `withStats`, also both sides' statistics (and their slow paths, which use scratchA/B);
 * without, the comparison alone (compare_f32: f32 pairs). Constants fold each inlined copy to
 * one straight loop.
 */
@inline function pairPass(pa: usize, srcA: i32, pb: usize, srcB: i32, n: i32, eps: f64, withStats: bool, scratchA: usize, scratchB: usize): void {
  // f16 against f16 is compared scaled (pairLoop `scaled`) where ε scales exactly.
  const halves = srcA == SRC_F16 && srcB == SRC_F16;
  if (eps == 0) pairLoop(pa, srcA, pb, srcB, n, eps, withStats, true, halves, scratchA, scratchB);
  else if (halves && eps * F16_DOWN * F16_UP == eps) pairLoop(pa, srcA, pb, srcB, n, eps, withStats, false, true, scratchA, scratchB);
  else pairLoop(pa, srcA, pb, srcB, n, eps, withStats, false, false, scratchA, scratchB);
}

/**
 * pairPass's loop; `exact` (eps 0) counts the changed pairs as a ≠ b on the f32 lanes, four
 * at a time: for finite f32 values a − b ≠ 0 in f64 exactly when a ≠ b (the difference of two
 * f32 is a multiple of 2^-149, never rounded to 0), and NaN/±Inf go to the masking path.
 */
@inline function pairLoop(pa: usize, srcA: i32, pb: usize, srcB: i32, n: i32, eps: f64, withStats: bool, exact: bool, scaled: bool, scratchA: usize, scratchB: usize): void {
  const c = f16ConstantsPtr();
  const mask = v128.load(c, F16_SCALED_MASK), scale = v128.load(c, F16_SCALED_SCALE);
  // `scaled` (both sides f16): the values × 2^-112, the scaling decoder without its multiply,
  // as stats_f16 sums them. Every value, difference, square and product stays a normal f64
  // (multiples of 2^-136, squares and products of 2^-272), so each sum rounds exactly as the
  // unscaled one, scaled; the lanes are rescaled before they are folded. ε is scaled with
  // them (pairPass checks that this is exact), and ≠ on the f32 lanes is unchanged (distinct
  // f16 stay distinct, ±0 stay equal).
  const lanesA = scaled ? SRC_F16_SCALED : srcA, lanesB = scaled ? SRC_F16_SCALED : srcB;
  const E = f64x2.splat(scaled ? eps * F16_DOWN : eps);
  const zero = f32x4.splat(0);
  const zd = f64x2.splat(0);
  // Statistics: min/max lanes start at each side's first element, as in stats.ts.
  const firstA = withStats ? scalarAt(pa, 0, srcA) : 0, firstB = withStats ? scalarAt(pb, 0, srcB) : 0;
  // A side whose pivot guess is not 0 has its statistics summed apart, around that pivot, as
  // its stats kernel does (the pass below still gives the comparison its Σa², Σb²).
  const pivotA = withStats ? guessPivot(pa, n, srcA) : 0, pivotB = withStats ? guessPivot(pb, n, srcB) : 0;
  // f32 sides keep min/max/zeros in f32 lanes; bf16/f16 sides on their bits (half-bits.ts).
  const bitsA = withStats && srcA != SRC_F32, bitsB = withStats && srcB != SRC_F32;
  let mnA = f32x4.splat(<f32>firstA), mxA = mnA, mnB = f32x4.splat(<f32>firstB), mxB = mnB;
  let zA = zd, zB = zd, sA = zd, sB = zd;
  let umxA = maxUStart(), smxA = maxSStart(), mmnA = magMinStart();
  let umxB = maxUStart(), smxB = maxSStart(), mmnB = magMinStart();
  // Σa² and Σb²: the statistics' Σx² around 0 and the comparison's Σa², Σb².
  let qA = zd, qB = zd;
  let mx = zd, cnt = zd, sabs = zd, sdd = zd, sab = zd;
  const n16 = n & ~15;
  for (let i = 0; i < n16; i += 16) {
    const rA0 = srcA == SRC_F32 ? zd : v128.load(pa + (<usize>i << 1)), rA1 = srcA == SRC_F32 ? zd : v128.load(pa + (<usize>i << 1), 16);
    const rB0 = srcB == SRC_F32 ? zd : v128.load(pb + (<usize>i << 1)), rB1 = srcB == SRC_F32 ? zd : v128.load(pb + (<usize>i << 1), 16);
    const v0 = sideVec(pa, i, 0, lanesA, rA0, rA1, mask, scale), v1 = sideVec(pa, i, 1, lanesA, rA0, rA1, mask, scale);
    const v2 = sideVec(pa, i, 2, lanesA, rA0, rA1, mask, scale), v3 = sideVec(pa, i, 3, lanesA, rA0, rA1, mask, scale);
    const w0 = sideVec(pb, i, 0, lanesB, rB0, rB1, mask, scale), w1 = sideVec(pb, i, 1, lanesB, rB0, rB1, mask, scale);
    const w2 = sideVec(pb, i, 2, lanesB, rB0, rB1, mask, scale), w3 = sideVec(pb, i, 3, lanesB, rB0, rB1, mask, scale);
    const a0 = lowF64(v0), a1 = highF64(v0), a2 = lowF64(v1), a3 = highF64(v1);
    const a4 = lowF64(v2), a5 = highF64(v2), a6 = lowF64(v3), a7 = highF64(v3);
    const b0 = lowF64(w0), b1 = highF64(w0), b2 = lowF64(w1), b3 = highF64(w1);
    const b4 = lowF64(w2), b5 = highF64(w2), b6 = lowF64(w3), b7 = highF64(w3);
    if (withStats) {
      if (bitsA) {
        umxA = maxU2(umxA, rA0, rA1);
        smxA = maxS2(smxA, rA0, rA1);
        mmnA = magMin2(mmnA, rA0, rA1);
      } else {
        mnA = f32x4.pmin(mnA, min4(v0, v1, v2, v3));
        mxA = f32x4.pmax(mxA, max4(v0, v1, v2, v3));
        zA = i32x4.add(zA, zeros4(v0, v1, v2, v3, zero));
      }
      if (bitsB) {
        umxB = maxU2(umxB, rB0, rB1);
        smxB = maxS2(smxB, rB0, rB1);
        mmnB = magMin2(mmnB, rB0, rB1);
      } else {
        mnB = f32x4.pmin(mnB, min4(w0, w1, w2, w3));
        mxB = f32x4.pmax(mxB, max4(w0, w1, w2, w3));
        zB = i32x4.add(zB, zeros4(w0, w1, w2, w3, zero));
      }
      sA = add2(sA, sum4(a0, a1, a2, a3), sum4(a4, a5, a6, a7));
      sB = add2(sB, sum4(b0, b1, b2, b3), sum4(b4, b5, b6, b7));
    }
    qA = add2(qA, squares4(a0, a1, a2, a3), squares4(a4, a5, a6, a7));
    qB = add2(qB, squares4(b0, b1, b2, b3), squares4(b4, b5, b6, b7));
    const d0 = f64x2.sub(a0, b0), d1 = f64x2.sub(a1, b1), d2 = f64x2.sub(a2, b2), d3 = f64x2.sub(a3, b3);
    const d4 = f64x2.sub(a4, b4), d5 = f64x2.sub(a5, b5), d6 = f64x2.sub(a6, b6), d7 = f64x2.sub(a7, b7);
    const e0 = f64x2.abs(d0), e1 = f64x2.abs(d1), e2 = f64x2.abs(d2), e3 = f64x2.abs(d3);
    const e4 = f64x2.abs(d4), e5 = f64x2.abs(d5), e6 = f64x2.abs(d6), e7 = f64x2.abs(d7);
    mx = f64x2.pmax(mx, f64x2.pmax(max4F64(e0, e1, e2, e3), max4F64(e4, e5, e6, e7)));
    if (exact) cnt = i32x4.sub(cnt, i32x4.add(i32x4.add(f32x4.ne(v0, w0), f32x4.ne(v1, w1)), i32x4.add(f32x4.ne(v2, w2), f32x4.ne(v3, w3))));
    else cnt = i64x2.sub(cnt, i64x2.add(over4(e0, e1, e2, e3, E), over4(e4, e5, e6, e7, E)));
    sabs = add2(sabs, sum4(e0, e1, e2, e3), sum4(e4, e5, e6, e7));
    sdd = add2(sdd, squares4(d0, d1, d2, d3), squares4(d4, d5, d6, d7));
    sab = add2(sab, dot4(a0, a1, a2, a3, b0, b1, b2, b3), dot4(a4, a5, a6, a7, b4, b5, b6, b7));
  }
  if (scaled) {
    const up = f64x2.splat(F16_UP), up2 = f64x2.splat(F16_UP * F16_UP);
    sA = f64x2.mul(sA, up);
    sB = f64x2.mul(sB, up);
    qA = f64x2.mul(qA, up2);
    qB = f64x2.mul(qB, up2);
    mx = f64x2.mul(mx, up);
    sabs = f64x2.mul(sabs, up);
    sdd = f64x2.mul(sdd, up2);
    sab = f64x2.mul(sab, up2);
  }
  const ta = pa + (<usize>n16 << shiftOf(srcA)), tb = pb + (<usize>n16 << shiftOf(srcB)), tail = n - n16;
  let saa = hsum(qA), sbb = hsum(qB);
  let rA = FAST_DONE, rB = FAST_DONE;
  if (withStats) {
    // Each side's record (the statistics' tail adds the tail's squares to Σx²), then its
    // re-run around the mean at once: statsFinish and statsSlow share globals.
    // A non-finite first element stays in the min/max lanes (pmin/pmax keep a NaN there), so
    // it is checked here, as stats.ts checks it before its pass.
    // Non-finite values do not depend on the pivot: such a side goes to the masking path below.
    foldSide(mnA, mxA, umxA, smxA, mmnA, zA, sA, qA, pa, n16, srcA, firstA);
    rA = isFinite(firstA) ? statsFinish(ta, tail, n, srcA, 0, true, statsOut) : FAST_NONFINITE;
    saa = sumSquares;
    if (rA != FAST_NONFINITE && pivotA != 0) statsFrom(pa, n, srcA, pivotA, statsOut, scratchA);
    else if (rA == FAST_CANCELLED) statsSlow(pa, n, srcA, rA, statsOut, scratchA);
    foldSide(mnB, mxB, umxB, smxB, mmnB, zB, sB, qB, pb, n16, srcB, firstB);
    rB = isFinite(firstB) ? statsFinish(tb, tail, n, srcB, 0, true, statsOutB) : FAST_NONFINITE;
    sbb = sumSquares;
    if (rB != FAST_NONFINITE && pivotB != 0) statsFrom(pb, n, srcB, pivotB, statsOutB, scratchB);
    else if (rB == FAST_CANCELLED) statsSlow(pb, n, srcB, rB, statsOutB, scratchB);
  }
  const M = max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  // A side with NaN/±Inf makes the comparison's sums non-finite too, except f16 decoded by
  // the scaling decoder (finite stand-ins): its statistics saw them, so it takes that verdict.
  let compared = compareFinish(M, <f64>(exact ? <i64>sumI32x4(cnt) : sumI64x2(cnt)), hsum(sabs), hsum(sdd), hsum(sab), saa, sbb, ta, srcA, tb, srcB, tail, n, eps, !withStats);
  if (withStats) {
    if (rA == FAST_NONFINITE) statsSlow(pa, n, srcA, rA, statsOut, scratchA);
    if (rB == FAST_NONFINITE) statsSlow(pb, n, srcB, rB, statsOutB, scratchB);
    compared = compared && rA != FAST_NONFINITE && rB != FAST_NONFINITE;
  }
  if (!compared) compareMaskedF32(widened(pa, n, srcA, scratchA), widened(pb, n, srcB, scratchB), n, eps);
}

/** The comparison of n f32 pairs (chunks of other dtypes come widened to f32). */
export function compare_f32(pa: usize, pb: usize, n: i32, eps: f64): void {
  pairPass(pa, SRC_F32, pb, SRC_F32, n, eps, false, 0, 0);
}

// One function per pair of stored types, each one straight loop (two: eps 0 and not). Kept
// apart, not inlined into compare_stats: V8 compiles WASM functions lazily on first call and
// tiers them up one by one, so a diff compiles and optimizes only the pairs it meets (one
// function holding all nine took ~20 ms to compile on its first call). Exported only so
// binaryen leaves them separate functions; the host calls compare_stats.
export function compare_stats_f32_f32(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F32, pb, SRC_F32, n, eps, true, sa, sb); }
export function compare_stats_f32_bf16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F32, pb, SRC_BF16, n, eps, true, sa, sb); }
export function compare_stats_f32_f16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F32, pb, SRC_F16, n, eps, true, sa, sb); }
export function compare_stats_bf16_f32(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_BF16, pb, SRC_F32, n, eps, true, sa, sb); }
export function compare_stats_bf16_bf16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_BF16, pb, SRC_BF16, n, eps, true, sa, sb); }
export function compare_stats_bf16_f16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_BF16, pb, SRC_F16, n, eps, true, sa, sb); }
export function compare_stats_f16_f32(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F16, pb, SRC_F32, n, eps, true, sa, sb); }
export function compare_stats_f16_bf16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F16, pb, SRC_BF16, n, eps, true, sa, sb); }
export function compare_stats_f16_f16(pa: usize, pb: usize, n: i32, eps: f64, sa: usize, sb: usize): void { pairPass(pa, SRC_F16, pb, SRC_F16, n, eps, true, sa, sb); }

/**
 * n elements per side: A at pa stored as srcA, B at pb as srcB (SRC_F32/BF16/F16 of
 * stats.ts). `scratchA`/`scratchB` (4n bytes each) are used only on the slow paths, to
 * widen a whole chunk that holds non-finite values.
 */
export function compare_stats(pa: usize, srcA: i32, pb: usize, srcB: i32, n: i32, eps: f64, scratchA: usize, scratchB: usize): void {
  if (n == 0) {
    writeEmptyStats(statsOut);
    writeEmptyStats(statsOutB);
    writeCompare(0, 0, 0, 0, 0, 0, 0, 0, 0);
    return;
  }
  if (srcA == SRC_F32) {
    if (srcB == SRC_F32) compare_stats_f32_f32(pa, pb, n, eps, scratchA, scratchB);
    else if (srcB == SRC_BF16) compare_stats_f32_bf16(pa, pb, n, eps, scratchA, scratchB);
    else compare_stats_f32_f16(pa, pb, n, eps, scratchA, scratchB);
  } else if (srcA == SRC_BF16) {
    if (srcB == SRC_F32) compare_stats_bf16_f32(pa, pb, n, eps, scratchA, scratchB);
    else if (srcB == SRC_BF16) compare_stats_bf16_bf16(pa, pb, n, eps, scratchA, scratchB);
    else compare_stats_bf16_f16(pa, pb, n, eps, scratchA, scratchB);
  } else if (srcB == SRC_F32) compare_stats_f16_f32(pa, pb, n, eps, scratchA, scratchB);
  else if (srcB == SRC_BF16) compare_stats_f16_bf16(pa, pb, n, eps, scratchA, scratchB);
  else compare_stats_f16_f16(pa, pb, n, eps, scratchA, scratchB);
}
