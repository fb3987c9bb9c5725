// Widening of stored element types into f32 (exact for f16, bf16, f8, 8/16-bit integers and
// bool) or f64 (32/64-bit integers), so that the two fast stats/compare kernels serve every
// dtype. Also in-place byte swapping for big-endian sources.

import { f16Table, e4m3Table, e5m2Table, e4m3fnuzTable, e5m2fnuzTable } from './layout';

/** Decodes a small float with the given exponent and mantissa widths. */
function decodeMinifloat(bits: u32, expBits: u32, manBits: u32, bias: i32, ieeeSpecials: bool, nanAllOnes: bool): f32 {
  const sign: f32 = (bits >> (expBits + manBits)) & 1 ? -1 : 1;
  const e = <i32>((bits >> manBits) & ((1 << expBits) - 1));
  const m = <i32>(bits & ((1 << manBits) - 1));
  const maxE = (1 << expBits) - 1;
  if (ieeeSpecials && e == maxE) return m == 0 ? sign * Infinity : NaN;
  if (nanAllOnes && e == maxE && m == (1 << manBits) - 1) return NaN;
  if (e == 0) return sign * <f32>(<f64>m * Math.pow(2, <f64>(1 - bias - <i32>manBits)));
  return sign * <f32>((1.0 + <f64>m / <f64>(1 << manBits)) * Math.pow(2, <f64>(e - bias)));
}

/**
 * Fills the conversion tables; `work` is 128 KiB of free memory. The f16 table comes from
 * the exact SIMD conversion below over all 65,536 patterns (decoding each by formula took
 * ~15 ms, a tenth of Node's own start-up); kernels.test.ts checks every entry by formula.
 */
export function buildTables(work: usize): void {
  f16Constants(); // allocate now: memory must not grow after init (the host holds views on it)
  for (let b: u32 = 0; b < 65536; b++) store<u16>(work + (<usize>b << 1), <u16>b);
  f16_to_f32(work, f16Table, 65536);
  for (let b: u32 = 0; b < 256; b++) {
    store<f32>(e4m3Table + (<usize>b << 2), decodeMinifloat(b, 4, 3, 7, false, true));   // float8_e4m3fn: no infinities
    store<f32>(e5m2Table + (<usize>b << 2), decodeMinifloat(b, 5, 2, 15, true, false));
    // The FNUZ variants (ONNX FLOAT8E4M3FNUZ/E5M2FNUZ): bias one higher, no infinities and no
    // negative zero; the one NaN is 0x80.
    store<f32>(e4m3fnuzTable + (<usize>b << 2), b == 0x80 ? NaN : decodeMinifloat(b, 4, 3, 8, false, false));
    store<f32>(e5m2fnuzTable + (<usize>b << 2), b == 0x80 ? NaN : decodeMinifloat(b, 5, 2, 16, false, false));
  }
}

/**
 * f16 → f32 by table: one load per element. Kept beside the SIMD version below; the
 * benchmark measures both (DESIGN §4: each won a different measurement).
 */
export function f16_to_f32_table(src: usize, dst: usize, n: i32): void {
  const t = f16Table;
  for (let i = 0; i < n; i++) {
    const bits = <usize>load<u16>(src + (<usize>i << 1));
    store<f32>(dst + (<usize>i << 2), load<f32>(t + (bits << 2)));
  }
}

// f16 → f32 in SIMD (the exponent-rebias trick): normals get the exponent moved from
// bias 15 to 127; Inf/NaN get the exponent forced to all ones; subnormals are rebuilt
// exactly by a float subtraction of the "magic" 2^-14.
// SIMD constants live in a small table in memory and are loaded into locals once before
// the loop: V8 re-materializes v128.const on every iteration (DESIGN §4).
let f16Consts: usize = 0;

/** The constant table (allocated by init). */
export function f16ConstantsPtr(): usize { return f16Consts; }

/** Allocates and fills the SIMD constants of the f16 conversion (part of every init). */
export function f16Constants(): usize {
  if (f16Consts == 0) {
    f16Consts = heap.alloc(11 * 16 + 16);
    f16Consts = (f16Consts + 15) & ~(<usize>15);
    v128.store(f16Consts, i32x4.splat(0x7fff));
    v128.store(f16Consts, i32x4.splat(0x0f800000), 16);
    v128.store(f16Consts, i32x4.splat(112 << 23), 32);
    v128.store(f16Consts, i32x4.splat(1 << 23), 48);
    v128.store(f16Consts, i32x4.splat(113 << 23), 64);
    v128.store(f16Consts, i32x4.splat(0x8000), 80);
    v128.store(f16Consts, i32x4.splat(0), 96);
    // The scaling decoder's constants (F16_SCALED_* offsets below).
    v128.store(f16Consts, i32x4.splat(0x8fffe000), F16_SCALED_MASK);
    v128.store(f16Consts, f32x4.splat(5.192296858534828e+33), F16_SCALED_SCALE); // 2^112
    v128.store(f16Consts, i16x8.splat(0x7c00), F16_SCALED_EXP);
    v128.store(f16Consts, i16x8.splat(0x7fff), F16_SCALED_LOW15);
  }
  return f16Consts;
}

/** The exact decoder (normals, subnormals, ±Inf, NaN with its payload) of four f16 in u32 lanes. */
@inline export function f16x4_to_f32x4(h: v128, low15: v128, expMask: v128, rebias: v128, one: v128, magic: v128, signBit: v128, zero: v128): v128 {
  const o0 = i32x4.shl(v128.and(h, low15), 13);
  const e = v128.and(o0, expMask);
  let o = i32x4.add(o0, rebias);
  o = i32x4.add(o, v128.and(i32x4.eq(e, expMask), rebias));
  const sub = f32x4.sub(i32x4.add(o, one), magic);
  o = v128.bitselect(sub, o, i32x4.eq(e, zero));
  return v128.or(o, i32x4.shl(v128.and(h, signBit), 16));
}

// The scaling decoder: an f16's 15 magnitude bits moved into an f32's exponent and mantissa
// fields (<< 13) make an f32 of the value × 2^-112, for normals and subnormals alike (the
// f16 exponent field lands unchanged in the f32 one), so one exact multiply by 2^112 restores
// it; the sign bit comes along from the sign-extended lane. Three operations per four values
// where the exact decoder takes fourteen. Infinities and NaN (exponent all ones) come out
// finite, as magnitudes ≥ 2^16 (above the largest finite f16, 65504): the statistics kernels
// take min and max from the stored bits (half-bits.ts), decoded exactly, and send a chunk
// whose extreme is not finite to its masking path; f16_to_f32 decodes again exactly when its
// largest magnitude bits show one.
export const F16_SCALED_MASK: usize = 112;
export const F16_SCALED_SCALE: usize = 128;
export const F16_SCALED_EXP: usize = 144;
export const F16_SCALED_LOW15: usize = 160;

/** Four f16, sign-extended into i32 lanes, as f32 (finite values exactly; see above for the rest). */
@inline export function f16x4Scaled(h: v128, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), mask), scale);
}

export function f16_to_f32(src: usize, dst: usize, n: i32): void {
  const c = f16Constants();
  const mask = v128.load(c, F16_SCALED_MASK), scale = v128.load(c, F16_SCALED_SCALE), low15 = v128.load(c, F16_SCALED_LOW15);
  // The largest magnitude bits seen, per u16 lane.
  let top = i16x8.splat(0);
  let i = 0;
  const n8 = n & ~7;
  for (; i < n8; i += 8) {
    const v = v128.load(src + (<usize>i << 1));
    top = i16x8.max_u(top, v128.and(v, low15));
    v128.store(dst + (<usize>i << 2), f16x4Scaled(i32x4.extend_low_i16x8_s(v), mask, scale));
    v128.store(dst + (<usize>i << 2), f16x4Scaled(i32x4.extend_high_i16x8_s(v), mask, scale), 16);
  }
  if (v128.any_true(i16x8.ge_u(top, v128.load(c, F16_SCALED_EXP)))) f16ExactSteps(src, dst, n8, c);
  const t = f16Table;
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(t + (<usize>load<u16>(src + (<usize>i << 1)) << 2)));
}

/** f16_to_f32's first n8 values (a multiple of 8) again, with the exact decoder. */
function f16ExactSteps(src: usize, dst: usize, n8: i32, c: usize): void {
  const low15 = v128.load(c), expMask = v128.load(c, 16), rebias = v128.load(c, 32), one = v128.load(c, 48);
  const magic = v128.load(c, 64), signBit = v128.load(c, 80), zero = v128.load(c, 96);
  for (let i = 0; i < n8; i += 8) {
    const v = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), f16x4_to_f32x4(i32x4.extend_low_i16x8_u(v), low15, expMask, rebias, one, magic, signBit, zero));
    v128.store(dst + (<usize>i << 2), f16x4_to_f32x4(i32x4.extend_high_i16x8_u(v), low15, expMask, rebias, one, magic, signBit, zero), 16);
  }
}

export function bf16_to_f32(src: usize, dst: usize, n: i32): void {
  let i = 0;
  const n8 = n & ~7;
  for (; i < n8; i += 8) {
    const v = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(v), 16));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(v), 16), 16);
  }
  for (; i < n; i++) store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
}

@inline function byTable(table: usize, src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(table + (<usize>load<u8>(src + i) << 2)));
}
export function f8e4m3_to_f32(src: usize, dst: usize, n: i32): void { byTable(e4m3Table, src, dst, n); }
export function f8e5m2_to_f32(src: usize, dst: usize, n: i32): void { byTable(e5m2Table, src, dst, n); }
export function f8e4m3fnuz_to_f32(src: usize, dst: usize, n: i32): void { byTable(e4m3fnuzTable, src, dst, n); }
export function f8e5m2fnuz_to_f32(src: usize, dst: usize, n: i32): void { byTable(e5m2fnuzTable, src, dst, n); }

@inline function widen<S, D>(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<D>(dst + (<usize>i << alignof<D>()), <D>load<S>(src + (<usize>i << alignof<S>())));
}
// 8- and 16-bit integers widen exactly to f32 in SIMD: sign/zero-extend to i32 lanes, convert.
@inline function bytesToF32(src: usize, dst: usize, n: i32, signed: bool, asBool: bool): void {
  let i = 0;
  const n16 = n & ~15;
  const zero = i8x16.splat(0);
  const one = i8x16.splat(1);
  for (; i < n16; i += 16) {
    let v = v128.load(src + <usize>i);
    if (asBool) v = v128.and(i8x16.ne(v, zero), one);
    const lo = signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v);
    const hi = signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v);
    const out = dst + (<usize>i << 2);
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_low_i16x8_s(lo) : i32x4.extend_low_i16x8_u(lo)));
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_high_i16x8_s(lo) : i32x4.extend_high_i16x8_u(lo)), 16);
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_low_i16x8_s(hi) : i32x4.extend_low_i16x8_u(hi)), 32);
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_high_i16x8_s(hi) : i32x4.extend_high_i16x8_u(hi)), 48);
  }
  for (; i < n; i++) {
    const b = load<u8>(src + <usize>i);
    store<f32>(dst + (<usize>i << 2), asBool ? (b != 0 ? 1 : 0) : signed ? <f32><i8>b : <f32>b);
  }
}

@inline function shortsToF32(src: usize, dst: usize, n: i32, signed: bool): void {
  let i = 0;
  const n8 = n & ~7;
  for (; i < n8; i += 8) {
    const v = v128.load(src + (<usize>i << 1));
    const out = dst + (<usize>i << 2);
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_low_i16x8_s(v) : i32x4.extend_low_i16x8_u(v)));
    v128.store(out, f32x4.convert_i32x4_s(signed ? i32x4.extend_high_i16x8_s(v) : i32x4.extend_high_i16x8_u(v)), 16);
  }
  for (; i < n; i++) {
    const x = load<u16>(src + (<usize>i << 1));
    store<f32>(dst + (<usize>i << 2), signed ? <f32><i16>x : <f32>x);
  }
}

export function i8_to_f32(src: usize, dst: usize, n: i32): void { bytesToF32(src, dst, n, true, false); }
export function u8_to_f32(src: usize, dst: usize, n: i32): void { bytesToF32(src, dst, n, false, false); }
export function bool_to_f32(src: usize, dst: usize, n: i32): void { bytesToF32(src, dst, n, false, true); }

// 4-bit integers packed two to a byte, the first element in the low nibble (ONNX INT4/UINT4).
// n is a whole number of elements (even). Nibbles are split and interleaved back into element
// order with one shuffle per 16 elements, then widened as bytes are.
@inline function i8x16ToF32(out: usize, v: v128, signed: bool): void {
  const lo = signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v);
  const hi = signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v);
  v128.store(out, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)));
  v128.store(out, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), 16);
  v128.store(out, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), 32);
  v128.store(out, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), 48);
}

@inline function nibblesToF32(src: usize, dst: usize, n: i32, signed: bool): void {
  const bytes = n >> 1;
  const mask = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  let k = 0;
  for (; k + 16 <= bytes; k += 16) {
    const v = v128.load(src + <usize>k);
    let lo = v128.and(v, mask);
    let hi = i8x16.shr_u(v, 4);
    if (signed) {
      lo = i8x16.sub(v128.xor(lo, eight), eight); // sign-extend 4 bits: (x ^ 8) − 8
      hi = i8x16.sub(v128.xor(hi, eight), eight);
    }
    const out = dst + (<usize>k << 3);
    i8x16ToF32(out, i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), signed);
    i8x16ToF32(out + 64, i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), signed);
  }
  for (; k < bytes; k++) {
    const b = <i32>load<u8>(src + <usize>k);
    const l = b & 15;
    const h = b >> 4;
    store<f32>(dst + (<usize>k << 3), <f32>(signed ? (l ^ 8) - 8 : l));
    store<f32>(dst + (<usize>k << 3) + 4, <f32>(signed ? (h ^ 8) - 8 : h));
  }
}

export function i4_to_f32(src: usize, dst: usize, n: i32): void { nibblesToF32(src, dst, n, true); }
export function u4_to_f32(src: usize, dst: usize, n: i32): void { nibblesToF32(src, dst, n, false); }
export function i16_to_f32(src: usize, dst: usize, n: i32): void { shortsToF32(src, dst, n, true); }
export function u16_to_f32(src: usize, dst: usize, n: i32): void { shortsToF32(src, dst, n, false); }
export function i32_to_f64(src: usize, dst: usize, n: i32): void { widen<i32, f64>(src, dst, n); }
export function u32_to_f64(src: usize, dst: usize, n: i32): void { widen<u32, f64>(src, dst, n); }
export function i64_to_f64(src: usize, dst: usize, n: i32): void { widen<i64, f64>(src, dst, n); }
export function u64_to_f64(src: usize, dst: usize, n: i32): void { widen<u64, f64>(src, dst, n); }

/** Reverses the bytes of each of n elements of `size` bytes (2, 4 or 8) in place. */
export function byteswap(ptr: usize, n: i32, size: i32): void {
  if (size == 2) for (let i = 0; i < n; i++) { const p = ptr + (<usize>i << 1); store<u16>(p, bswap<u16>(load<u16>(p))); }
  else if (size == 4) for (let i = 0; i < n; i++) { const p = ptr + (<usize>i << 2); store<u32>(p, bswap<u32>(load<u32>(p))); }
  else if (size == 8) for (let i = 0; i < n; i++) { const p = ptr + (<usize>i << 3); store<u64>(p, bswap<u64>(load<u64>(p))); }
}

/** Widens n f32 to f64; `dst` may equal `src` (it runs backwards so nothing is overwritten early). */
export function f32_to_f64(src: usize, dst: usize, n: i32): void {
  for (let i = n - 1; i >= 0; i--) store<f64>(dst + (<usize>i << 3), <f64>load<f32>(src + (<usize>i << 2)));
}

/** Dequantizes n f64 in place: x ← (x − zeroPoint) · scale. */
export function affine_f64(ptr: usize, n: i32, scale: f64, zeroPoint: f64): void {
  for (let i = 0; i < n; i++) {
    const p = ptr + (<usize>i << 3);
    store<f64>(p, (load<f64>(p) - zeroPoint) * scale);
  }
}
