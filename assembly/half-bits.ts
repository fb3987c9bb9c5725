// Min, max and zero count of 16-bit floats (bf16, f16) taken on their bits, eight lanes a
// vector, for the statistics and fused kernels (stats.ts, fused.ts); their sums still go
// through f64. Both formats are sign-magnitude: among patterns with the sign bit clear the
// larger pattern is the larger value, among those with it set the larger pattern is the more
// negative value. So over a chunk of finite values:
//   - the largest pattern read as signed i16 is the largest value if any value is > 0;
//   - the largest pattern read as unsigned is the smallest value if any value is < 0;
//   - otherwise the smallest pattern read as unsigned is the extreme that remains;
// three integer reductions where the f32 lanes they replace took twice the operations (four
// lanes a vector, and a compare plus an add per zero). Zeros (a pattern whose bits other
// than the sign are 0) are counted in bytes: sixteen a step, so a count is carried into i32
// lanes at least every 255 steps (BITS_BLOCK). NaN and ±Inf are not special here: the
// caller decodes the extremes and sends a chunk whose extreme is not finite to its masking
// path. An extreme of 0 can be +0 or −0; which one the f32 lanes picked depends on where the
// zeros lie, so when both signs occur foldBits says so and the caller asks the f32 lanes.

import { f16Table } from './layout';

/** Steps (of sixteen elements) between two carries of the byte-wide zero counts. */
export const BITS_BLOCK: i32 = 255;

/** max_u, max_s and min_u of two vectors into their accumulators. */
@inline export function maxU2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.max_u(acc, i16x8.max_u(r0, r1)); }
@inline export function maxS2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.max_s(acc, i16x8.max_s(r0, r1)); }
@inline export function minU2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.min_u(acc, i16x8.min_u(r0, r1)); }

/** The accumulators' starting values: nothing seen. */
@inline export function maxUStart(): v128 { return i16x8.splat(0); }
@inline export function maxSStart(): v128 { return i16x8.splat(-32768); }
@inline export function minUStart(): v128 { return i16x8.splat(-1); }

/**
 * Adds one per zero of r0, r1 to the byte lanes of acc: shifting out the sign leaves 0 only
 * for ±0, and the signed narrowing keeps every nonzero lane nonzero (it saturates).
 */
@inline export function zeroBytes(acc: v128, r0: v128, r1: v128, zero: v128): v128 {
  return i8x16.sub(acc, i8x16.eq(i8x16.narrow_i16x8_s(i16x8.shl(r0, 1), i16x8.shl(r1, 1)), zero));
}

/** The byte-wide counts as i32 lanes (each byte ≤ 255). */
@inline export function zeroCarry(z8: v128): v128 { return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(z8)); }

@inline function maxUOf(v: v128): u32 {
  let m = i16x8.max_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i16x8.max_u(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i16x8.max_u(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  return i16x8.extract_lane_u(m, 0);
}

@inline function maxSOf(v: v128): i32 {
  let m = i16x8.max_s(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i16x8.max_s(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i16x8.max_s(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  return i16x8.extract_lane_s(m, 0);
}

@inline function minUOf(v: v128): u32 {
  let m = i16x8.min_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i16x8.min_u(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i16x8.min_u(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  return i16x8.extract_lane_u(m, 0);
}

/** The value of a bf16 (`bf16`) or f16 pattern (exact; ±Inf and NaN as such). */
@inline export function halfValue(bits: u32, bf16: bool): f64 {
  if (bf16) return <f64>reinterpret<f32>(bits << 16);
  return <f64>load<f32>(f16Table + (<usize>bits << 2));
}

/** foldBits' results: the smallest and largest values, the zero count. */
export let bitsLo: f64 = 0;
export let bitsHi: f64 = 0;
export let bitsZeros: i32 = 0;

const SIGN: u32 = 0x8000;

/**
 * Folds the accumulators of a run that saw at least one element into bitsLo, bitsHi and
 * bitsZeros. False when an extreme is a zero and both +0 and −0 may occur: its sign is then
 * the one the f32 lanes would give (left to the caller); the value in bitsLo/bitsHi is +0.
 */
@inline export function foldBits(umx: v128, smx: v128, umn: v128, z32: v128, bf16: bool): bool {
  const topU = maxUOf(umx), topS = maxSOf(smx), lowU = minUOf(umn);
  const zeros = i32x4.extract_lane(z32, 0) + i32x4.extract_lane(z32, 1) + i32x4.extract_lane(z32, 2) + i32x4.extract_lane(z32, 3);
  bitsZeros = zeros;
  let known = true;
  // Smallest: the most negative pattern; else (nothing below 0) the smallest pattern, or a
  // zero: −0 alone shows as topU = 0x8000, +0 as lowU = 0.
  if (topU > SIGN) bitsLo = halfValue(topU, bf16);
  else if (zeros == 0) bitsLo = halfValue(lowU, bf16);
  else {
    const minus = topU == SIGN, plus = lowU == 0;
    bitsLo = minus && !plus ? -0.0 : 0.0;
    known = !(minus && plus);
  }
  // Largest: the largest positive pattern; else (nothing above 0) the smallest pattern (all
  // negative: the one nearest 0), or a zero: +0 shows as topS = 0; −0 is certain only
  // without +0, absent only when every pattern is +0 (topU = 0).
  if (topS > 0) bitsHi = halfValue(<u32>topS, bf16);
  else if (zeros == 0) bitsHi = halfValue(lowU, bf16);
  else {
    const plus = topS == 0;
    bitsHi = plus ? 0.0 : -0.0;
    if (plus && topU != 0) known = false;
  }
  return known;
}
