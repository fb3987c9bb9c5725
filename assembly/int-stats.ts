// Statistics of 8- and 16-bit integers from exact integer sums, read as stored (no widening
// into scratch, no f64 rounding). Each value is taken as y = x − offset in a signed lane
// (offset 0 for i8/i16; 128 for u8 and 32768 for u16, a flip of the top bit), so one signed
// loop serves both. Σy and Σy² are exact: SIMD lanes of i32 (and i16 for the zero count)
// that cannot overflow within a block of BLOCK_STEPS vectors, added into i64 after each
// block; Σy² of 16-bit values goes to i64 lanes at every step (a lane's two squares reach
// 2^31). From the exact sums, mean = Σx / n is correctly rounded and
// M2 = (n·Σ(y−c)² − (Σ(y−c))²) / n (c = ⌊Σy / n⌋, so the integers stay small) has two
// roundings: no cancellation whatever |mean| / std is, so there is never a second pass.
// Integers are finite: nan, ±inf and exp are 0. n ≤ 2^20 (the engine's chunks are at most
// 2^19 elements), which keeps every sum below 2^53 and every product below 2^63.

import { statsOut } from './layout';
import { writeEmptyStats, writeStats } from './stats';
import { maxS16x8, maxU8, minS16x8, minU8, sumI32x4, sumI64x2 } from './lanes';

/** Vectors per block: the i16 zero-count lanes and i32 sum lanes stay below their limits. */
const BLOCK_STEPS: i32 = 4096;

// The pass's exact sums of y = x − offset, its extremes (of y) and its zero count.
let sumY: i64 = 0;
let sumY2: i64 = 0;
let lowY: i32 = 0;
let highY: i32 = 0;
let zeroCount: i64 = 0;

/** i8 (offset 0) or u8 (offset 128: the top bit flipped makes y = x − 128 a signed byte). */
@inline function bytesPass(ptr: usize, n: i32, offset: i32): void {
  const flip = i8x16.splat(<i8>offset);
  // x = 0 is y = −offset.
  const zeroY = i8x16.splat(<i8>(-offset));
  let mn = i8x16.splat(127), mx = i8x16.splat(-128);
  let S: i64 = 0, Q: i64 = 0, Z: i64 = 0;
  const n16 = n & ~15;
  for (let b = 0; b < n16; b += BLOCK_STEPS * 16) {
    const end = min(n16, b + BLOCK_STEPS * 16);
    let s = i32x4.splat(0), q = s, z = i16x8.splat(0);
    for (let i = b; i < end; i += 16) {
      const v = v128.xor(v128.load(ptr + <usize>i), flip);
      mn = i8x16.min_s(mn, v);
      mx = i8x16.max_s(mx, v);
      // eq lanes are −1: two per i16 lane per step, 2·BLOCK_STEPS ≤ 32768.
      z = i16x8.add(z, i16x8.extadd_pairwise_i8x16_s(i8x16.eq(v, zeroY)));
      const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
      // |lo + hi| ≤ 256 per i16 lane; ≤ 512 per i32 lane per step.
      s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.add(lo, hi)));
      // Each dot lane is y² + y'² ≤ 32768; ≤ 65536 per lane per step.
      q = i32x4.add(q, i32x4.add(i32x4.dot_i16x8_s(lo, lo), i32x4.dot_i16x8_s(hi, hi)));
    }
    S += <i64>sumI32x4(s);
    Q += <i64>sumI32x4(q);
    Z -= <i64>sumI32x4(i32x4.extadd_pairwise_i16x8_s(z));
  }
  // Extremes of y as signed bytes: flipping the top bit maps signed order onto unsigned.
  const top = i8x16.splat(-128);
  let lo = <i32>minU8(v128.xor(mn, top)) - 128, hi = <i32>maxU8(v128.xor(mx, top)) - 128;
  for (let i = n16; i < n; i++) {
    const y = offset != 0 ? <i32>load<u8>(ptr + <usize>i) - offset : <i32>load<i8>(ptr + <usize>i);
    lo = min(lo, y);
    hi = max(hi, y);
    if (y == -offset) Z++;
    S += <i64>y;
    Q += <i64>(y * y);
  }
  sumY = S; sumY2 = Q; lowY = lo; highY = hi; zeroCount = Z;
}

/** i16 (offset 0) or u16 (offset 32768), eight to a vector. */
@inline function shortsPass(ptr: usize, n: i32, offset: i32): void {
  const flip = i16x8.splat(<i16>offset);
  const zeroY = i16x8.splat(<i16>(-offset));
  let mn = i16x8.splat(32767), mx = i16x8.splat(-32768);
  let S: i64 = 0, Z: i64 = 0;
  let q = i64x2.splat(0);
  const n8 = n & ~7;
  for (let b = 0; b < n8; b += BLOCK_STEPS * 8) {
    const end = min(n8, b + BLOCK_STEPS * 8);
    let s = i32x4.splat(0), z = i16x8.splat(0);
    for (let i = b; i < end; i += 8) {
      const v = v128.xor(v128.load(ptr + (<usize>i << 1)), flip);
      mn = i16x8.min_s(mn, v);
      mx = i16x8.max_s(mx, v);
      z = i16x8.add(z, i16x8.eq(v, zeroY));
      // ≤ 65536 per i32 lane per step.
      s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(v));
      // y² + y'² ≤ 2^31: exact as u32 (the one case past i32, both −32768, wraps to 2^31 unsigned).
      const d = i32x4.dot_i16x8_s(v, v);
      q = i64x2.add(q, i64x2.add(i64x2.extend_low_i32x4_u(d), i64x2.extend_high_i32x4_u(d)));
    }
    S += <i64>sumI32x4(s);
    Z -= <i64>sumI32x4(i32x4.extadd_pairwise_i16x8_s(z));
  }
  let Q = sumI64x2(q);
  let lo = minS16x8(mn), hi = maxS16x8(mx);
  for (let i = n8; i < n; i++) {
    const y = offset != 0 ? <i32>load<u16>(ptr + (<usize>i << 1)) - offset : <i32>load<i16>(ptr + (<usize>i << 1));
    lo = min(lo, y);
    hi = max(hi, y);
    if (y == -offset) Z++;
    S += <i64>y;
    Q += <i64>y * <i64>y;
  }
  sumY = S; sumY2 = Q; lowY = lo; highY = hi; zeroCount = Z;
}

/** Writes the record of n elements from the pass's exact sums of y = x − offset. */
function finishInt(n: i32, offset: i32): void {
  const N = <i64>n;
  const S = sumY, Q = sumY2;
  // c = ⌊S / n⌋, so S1 = Σ(y − c) lies in [0, n) and Q1 = Σ(y − c)² ≤ n·(2·32768)².
  let c = S / N;
  if (S - c * N < 0) c--;
  const S1 = S - c * N;
  const Q1 = Q - 2 * c * S + N * c * c;
  // n·Q1 − S1² (up to 2^71) as two exact f64 parts, added with one rounding.
  const high = <f64>(N * (Q1 >> 32)) * 4294967296.0;
  const low = <f64>(N * (Q1 & 0xffffffff) - S1 * S1);
  const m2 = (high + low) / <f64>n;
  const mean = <f64>(S + <i64>offset * N) / <f64>n;
  writeStats(statsOut, <f64>n, mean, m2, <f64>(lowY + offset), <f64>(highY + offset), 0, 0, 0, <f64>zeroCount);
}

/** Statistics of n i8 values at ptr. */
export function stats_i8(ptr: usize, n: i32): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  bytesPass(ptr, n, 0);
  finishInt(n, 0);
}

/** Statistics of n u8 values at ptr. */
export function stats_u8(ptr: usize, n: i32): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  bytesPass(ptr, n, 128);
  finishInt(n, 128);
}

/** Statistics of n i16 values at ptr (native byte order). */
export function stats_i16(ptr: usize, n: i32): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  shortsPass(ptr, n, 0);
  finishInt(n, 0);
}

/** Statistics of n u16 values at ptr (native byte order). */
export function stats_u16(ptr: usize, n: i32): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  shortsPass(ptr, n, 32768);
  finishInt(n, 32768);
}
