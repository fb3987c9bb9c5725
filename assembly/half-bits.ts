// Min, max and zero count of 16-bit floats (bf16, f16) taken on their bits, eight lanes a
// vector, for the statistics and fused kernels (stats.ts, fused.ts); their sums still go
// through f64. Both formats are sign-magnitude: among patterns with the sign bit clear the
// larger pattern is the larger value, among those with it set the larger pattern is the more
// negative value. So over a run of finite values:
//   - the largest pattern read as signed i16 is the largest value if any value is > 0;
//   - the largest pattern read as unsigned is the smallest value if any value is < 0;
//   - the smallest magnitude (the pattern shifted left by one, read as unsigned) gives the
//     extreme that remains when all values have one sign, and shows whether a zero occurs;
// three integer reductions where the f32 lanes they replace took twice the operations (four
// lanes a vector) and a compare plus an add per element for the zeros. The zeros are counted
// by a pass of their own only when a run holds one (zeroPass). NaN and ±Inf are not special
// here: the caller decodes the extremes and sends a run whose extreme is not finite to its
// masking path.

import { f16Table } from './layout';
import { maxS16x8, maxU16x8, minU16x8, sumI32x4 } from './lanes';

/** Accumulates max_u of r0, r1 (the most negative value's pattern). */
@inline export function maxU2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.max_u(acc, i16x8.max_u(r0, r1)); }
/** Accumulates max_s of r0, r1 (the largest positive value's pattern). */
@inline export function maxS2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.max_s(acc, i16x8.max_s(r0, r1)); }
/** Accumulates the smallest magnitude of r0, r1, shifted left by one (the sign shifted out). */
@inline export function magMin2(acc: v128, r0: v128, r1: v128): v128 { return i16x8.min_u(acc, i16x8.min_u(i16x8.shl(r0, 1), i16x8.shl(r1, 1))); }

/** The accumulators' starting values: nothing seen. */
@inline export function maxUStart(): v128 { return i16x8.splat(0); }
@inline export function maxSStart(): v128 { return i16x8.splat(-32768); }
@inline export function magMinStart(): v128 { return i16x8.splat(-1); }

/** The value of a bf16 (`bf16`) or f16 pattern (exact; ±Inf and NaN as such). */
@inline export function halfValue(bits: u32, bf16: bool): f64 {
  if (bf16) return <f64>reinterpret<f32>(bits << 16);
  return <f64>load<f32>(f16Table + (<usize>bits << 2));
}

/** foldBits' results: the smallest and largest values, the zero count. */
export let bitsLo: f64 = 0;
export let bitsHi: f64 = 0;
export let bitsZeros: i32 = 0;
/** zeroPass' counts of +0 and −0. */
let plusZeros: i32 = 0;
let minusZeros: i32 = 0;

const SIGN: u32 = 0x8000;

/**
 * Counts +0 and −0 among the 16-bit patterns [0, n16) at ptr (n16 a multiple of 16) into
 * plusZeros and minusZeros: sixteen a step in i16 lanes, carried into i32 lanes before a
 * lane (two per step) can overflow.
 */
function zeroPass(ptr: usize, n16: i32): void {
  const zero = i32x4.splat(0), minus = i16x8.splat(-32768);
  let plus32 = zero, minus32 = zero;
  for (let i = 0; i < n16;) {
    const end = n16 - i > 16 << 14 ? i + (16 << 14) : n16;
    let p = zero, m = zero;
    for (; i < end; i += 16) {
      const r0 = v128.load(ptr + (<usize>i << 1)), r1 = v128.load(ptr + (<usize>i << 1), 16);
      p = i16x8.sub(p, i16x8.add(i16x8.eq(r0, zero), i16x8.eq(r1, zero)));
      m = i16x8.sub(m, i16x8.add(i16x8.eq(r0, minus), i16x8.eq(r1, minus)));
    }
    plus32 = i32x4.add(plus32, i32x4.extadd_pairwise_i16x8_u(p));
    minus32 = i32x4.add(minus32, i32x4.extadd_pairwise_i16x8_u(m));
  }
  plusZeros = sumI32x4(plus32);
  minusZeros = sumI32x4(minus32);
}

/**
 * Folds the accumulators of the patterns [0, n16) at ptr (n16 > 0) into bitsLo, bitsHi and
 * bitsZeros, counting the zeros (zeroPass) if there are any. False when an extreme is a zero
 * and both +0 and −0 occur: which one the f32 lanes picked depends on where the zeros lie,
 * so the caller asks them (bitsLo/bitsHi hold +0 then).
 */
@inline export function foldBits(umx: v128, smx: v128, mmn: v128, ptr: usize, n16: i32, bf16: bool): bool {
  return foldPatterns(maxU16x8(umx), maxS16x8(smx), minU16x8(mmn) >> 1, ptr, n16, bf16);
}

/** foldBits from the reduced accumulators: the largest pattern (unsigned, signed), the smallest magnitude. */
function foldPatterns(topU: u32, topS: i32, magMin: u32, ptr: usize, n16: i32, bf16: bool): bool {
  plusZeros = 0;
  minusZeros = 0;
  if (magMin == 0) zeroPass(ptr, n16);
  const plus = plusZeros > 0, minus = minusZeros > 0;
  bitsZeros = plusZeros + minusZeros;
  // Smallest: the most negative pattern; else (nothing below 0) a zero, or the smallest magnitude.
  if (topU > SIGN) bitsLo = halfValue(topU, bf16);
  else if (plus || minus) bitsLo = minus && !plus ? -0.0 : 0.0;
  else bitsLo = halfValue(magMin, bf16);
  // Largest: the largest positive pattern; else (nothing above 0) a zero, or the negative value of smallest magnitude.
  if (topS > 0) bitsHi = halfValue(<u32>topS, bf16);
  else if (plus || minus) bitsHi = plus ? 0.0 : -0.0;
  else bitsHi = halfValue(SIGN | magMin, bf16);
  return !(plus && minus && (topU <= SIGN || topS <= 0));
}
