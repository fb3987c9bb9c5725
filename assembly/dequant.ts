// Dequantization of ggml's block-quantized types into f32, exactly as ggml's reference
// dequantize_row_* functions (ggml-quants.c) compute them: the same block layouts, the same
// f32 operations in the same order (products and sums rounded one at a time, no fused
// multiply-add). Each kernel takes n elements (a whole number of blocks) at src and writes
// n f32 at dst. Sixteen quants at a time are widened in SIMD and scaled with f32x4.
//
// Block layouts (bytes; "d", "m", "dmin" are f16 unless noted):
//   Q4_0   18: d, qs[16]                 (low nibbles: elements 0..15, high: 16..31)
//   Q4_1   20: d, m, qs[16]
//   Q5_0   22: d, qh[4], qs[16]          (bit j of qh: 5th bit of element j)
//   Q5_1   24: d, m, qh[4], qs[16]
//   Q8_0   34: d, qs[32] (i8)
//   Q2_K   84: scales[16], qs[64], d, dmin                    (256 elements)
//   Q3_K  110: hmask[32], qs[64], scales[12], d
//   Q4_K  144: d, dmin, scales[12], qs[128]
//   Q5_K  176: d, dmin, scales[12], qh[32], qs[128]
//   Q6_K  210: ql[128], qh[64], scales[16] (i8), d
//   Q8_K  292: d (f32), qs[256] (i8), bsums[16] (i16, unused here)
//   IQ4_NL 18: d, qs[16]                 (nibbles index a 16-value non-linear table)
//   IQ4_XS 136: d, scales_h (u16), scales_l[4], qs[128]       (256 elements)

import { f16Table } from './layout';

@inline export function f16(p: usize): f32 {
  return load<f32>(f16Table + (<usize>load<u16>(p) << 2));
}

/** Stores 16 signed 8-bit lanes of v, each times d (f32x4), as 16 f32 at dst. */
@inline function mul16s(dst: usize, v: v128, d: v128): void {
  const lo = i16x8.extend_low_i8x16_s(v);
  const hi = i16x8.extend_high_i8x16_s(v);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
}

/** Stores (q·d) + m for 16 unsigned 8-bit lanes q (Q4_1, Q5_1). */
@inline function mulAdd16u(dst: usize, v: v128, d: v128, m: v128): void {
  const lo = i16x8.extend_low_i8x16_u(v);
  const hi = i16x8.extend_high_i8x16_u(v);
  v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), d), m));
  v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), d), m), 16);
  v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), d), m), 32);
  v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), d), m), 48);
}

/** Stores d·q − m for 16 unsigned 8-bit lanes q (the K-quants with a minimum). */
@inline function mulSub16u(dst: usize, v: v128, d: v128, m: v128): void {
  const lo = i16x8.extend_low_i8x16_u(v);
  const hi = i16x8.extend_high_i8x16_u(v);
  v128.store(dst, f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo))), m));
  v128.store(dst, f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo))), m), 16);
  v128.store(dst, f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi))), m), 32);
  v128.store(dst, f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi))), m), 48);
}

/** The 5th bits of Q5_0/Q5_1: lane j of the result is 0x10 when bit (base + j) of qh is set. */
@inline function highBits16(qh: u32, upper: bool): v128 {
  const bytes = i32x4.splat(<i32>qh);
  const pick = upper
    ? v128(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
    : v128(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const bit = v128.and(i8x16.swizzle(bytes, pick), v128(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128));
  return v128.and(i8x16.ne(bit, i8x16.splat(0)), i8x16.splat(0x10));
}

export function q4_0_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 18;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    const q = v128.load(x, 2);
    mul16s(y, i8x16.sub(v128.and(q, low), eight), d);
    mul16s(y + 64, i8x16.sub(i8x16.shr_u(q, 4), eight), d);
  }
}

export function q4_1_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 20;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    const m = f32x4.splat(f16(x + 2));
    const q = v128.load(x, 4);
    mulAdd16u(y, v128.and(q, low), d, m);
    mulAdd16u(y + 64, i8x16.shr_u(q, 4), d, m);
  }
}

export function q5_0_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const sixteen = i8x16.splat(16);
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 22;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    const qh = load<u32>(x, 2);
    const q = v128.load(x, 6);
    mul16s(y, i8x16.sub(v128.or(v128.and(q, low), highBits16(qh, false)), sixteen), d);
    mul16s(y + 64, i8x16.sub(v128.or(i8x16.shr_u(q, 4), highBits16(qh, true)), sixteen), d);
  }
}

export function q5_1_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 24;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    const m = f32x4.splat(f16(x + 2));
    const qh = load<u32>(x, 4);
    const q = v128.load(x, 8);
    mulAdd16u(y, v128.or(v128.and(q, low), highBits16(qh, false)), d, m);
    mulAdd16u(y + 64, v128.or(i8x16.shr_u(q, 4), highBits16(qh, true)), d, m);
  }
}

export function q8_0_to_f32(src: usize, dst: usize, n: i32): void {
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 34;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    mul16s(y, v128.load(x, 2), d);
    mul16s(y + 64, v128.load(x, 18), d);
  }
}

export function q2_k_to_f32(src: usize, dst: usize, n: i32): void {
  const three = i8x16.splat(3);
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 84;
    let y = dst + (<usize>b << 10);
    const d = f16(x + 80);
    const dmin = f16(x + 82);
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = x + 16 + <usize>half * 32;
      const q0 = v128.load(q);
      const q1 = v128.load(q, 16);
      for (let shift = 0; shift < 8; shift += 2) {
        let sc = <u32>load<u8>(x + <usize>(is++));
        mulSub16u(y, v128.and(i8x16.shr_u(q0, shift), three), f32x4.splat(d * <f32>(sc & 0xf)), f32x4.splat(dmin * <f32>(sc >> 4)));
        sc = <u32>load<u8>(x + <usize>(is++));
        mulSub16u(y + 64, v128.and(i8x16.shr_u(q1, shift), three), f32x4.splat(d * <f32>(sc & 0xf)), f32x4.splat(dmin * <f32>(sc >> 4)));
        y += 128;
      }
    }
  }
}

/** The sixteen 6-bit signed scales of a Q3_K block (12 packed bytes at p), minus 32. */
@inline function q3kScale(p: usize, j: i32): i32 {
  // Low 4 bits: nibble (j & 7 < 4 ? low : high) of byte j % 8; high 2 bits: bits 2·(j / 4) of byte 8 + j % 4.
  const lo = (<u32>load<u8>(p + <usize>(j & 7)) >> (<u32>(j >> 3) << 2)) & 0xf;
  const hi = (<u32>load<u8>(p + 8 + <usize>(j & 3)) >> (<u32>(j >> 2) << 1)) & 3;
  return <i32>(lo | (hi << 4)) - 32;
}

export function q3_k_to_f32(src: usize, dst: usize, n: i32): void {
  const three = i8x16.splat(3);
  const four = i8x16.splat(4);
  const zero = i8x16.splat(0);
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 110;
    let y = dst + (<usize>b << 10);
    const dAll = f16(x + 108);
    const hm0 = v128.load(x);
    const hm1 = v128.load(x, 16);
    let is = 0;
    let m: i32 = 1;
    for (let half = 0; half < 2; half++) {
      const q = x + 32 + <usize>half * 32;
      const q0 = v128.load(q);
      const q1 = v128.load(q, 16);
      for (let shift = 0; shift < 8; shift += 2) {
        const mask = i8x16.splat(<i8>m);
        const v0 = i8x16.sub(v128.and(i8x16.shr_u(q0, shift), three), v128.and(i8x16.eq(v128.and(hm0, mask), zero), four));
        mul16s(y, v0, f32x4.splat(dAll * <f32>q3kScale(x + 96, is++)));
        const v1 = i8x16.sub(v128.and(i8x16.shr_u(q1, shift), three), v128.and(i8x16.eq(v128.and(hm1, mask), zero), four));
        mul16s(y + 64, v1, f32x4.splat(dAll * <f32>q3kScale(x + 96, is++)));
        y += 128;
        m <<= 1;
      }
    }
  }
}

/** Scale (low 16 bits) and min (high 16 bits) j of the 12 packed bytes at q (Q4_K, Q5_K). */
@inline export function scaleMinK4(q: usize, j: i32): u32 {
  let d: u32, m: u32;
  if (j < 4) {
    d = <u32>load<u8>(q + <usize>j) & 63;
    m = <u32>load<u8>(q + <usize>j + 4) & 63;
  } else {
    d = (<u32>load<u8>(q + <usize>j + 4) & 0xf) | ((<u32>load<u8>(q + <usize>j - 4) >> 6) << 4);
    m = (<u32>load<u8>(q + <usize>j + 4) >> 4) | ((<u32>load<u8>(q + <usize>j) >> 6) << 4);
  }
  return d | (m << 16);
}

export function q4_k_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 144;
    let y = dst + (<usize>b << 10);
    const d = f16(x);
    const dmin = f16(x + 2);
    for (let j = 0; j < 4; j++) {
      const s1 = scaleMinK4(x + 4, 2 * j);
      const s2 = scaleMinK4(x + 4, 2 * j + 1);
      const d1 = f32x4.splat(d * <f32>(s1 & 0xffff)), m1 = f32x4.splat(dmin * <f32>(s1 >> 16));
      const d2 = f32x4.splat(d * <f32>(s2 & 0xffff)), m2 = f32x4.splat(dmin * <f32>(s2 >> 16));
      const q = x + 16 + <usize>j * 32;
      const qa = v128.load(q);
      const qb = v128.load(q, 16);
      mulSub16u(y, v128.and(qa, low), d1, m1);
      mulSub16u(y + 64, v128.and(qb, low), d1, m1);
      mulSub16u(y + 128, i8x16.shr_u(qa, 4), d2, m2);
      mulSub16u(y + 192, i8x16.shr_u(qb, 4), d2, m2);
      y += 256;
    }
  }
}

/** 16 in each lane whose byte of qh has the bit `u` set, else 0. */
@inline function bitAs16(qh: v128, u: v128, zero: v128, sixteen: v128): v128 {
  return v128.and(i8x16.ne(v128.and(qh, u), zero), sixteen);
}

export function q5_k_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const zero = i8x16.splat(0);
  const sixteen = i8x16.splat(16);
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 176;
    let y = dst + (<usize>b << 10);
    const d = f16(x);
    const dmin = f16(x + 2);
    const qh0 = v128.load(x, 16);
    const qh1 = v128.load(x, 32);
    for (let j = 0; j < 4; j++) {
      const s1 = scaleMinK4(x + 4, 2 * j);
      const s2 = scaleMinK4(x + 4, 2 * j + 1);
      const d1 = f32x4.splat(d * <f32>(s1 & 0xffff)), m1 = f32x4.splat(dmin * <f32>(s1 >> 16));
      const d2 = f32x4.splat(d * <f32>(s2 & 0xffff)), m2 = f32x4.splat(dmin * <f32>(s2 >> 16));
      const u1 = i8x16.splat(<i8>(1 << <i8>(2 * j)));
      const u2 = i8x16.splat(<i8>(2 << <i8>(2 * j)));
      const q = x + 48 + <usize>j * 32;
      const qa = v128.load(q);
      const qb = v128.load(q, 16);
      mulSub16u(y, v128.or(v128.and(qa, low), bitAs16(qh0, u1, zero, sixteen)), d1, m1);
      mulSub16u(y + 64, v128.or(v128.and(qb, low), bitAs16(qh1, u1, zero, sixteen)), d1, m1);
      mulSub16u(y + 128, v128.or(i8x16.shr_u(qa, 4), bitAs16(qh0, u2, zero, sixteen)), d2, m2);
      mulSub16u(y + 192, v128.or(i8x16.shr_u(qb, 4), bitAs16(qh1, u2, zero, sixteen)), d2, m2);
      y += 256;
    }
  }
}

export function q6_k_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const three = i8x16.splat(3);
  const bias = i8x16.splat(32);
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 210;
    const d = f16(x + 208);
    for (let half = 0; half < 2; half++) {
      const ql = x + <usize>half * 64;
      const qh = x + 128 + <usize>half * 32;
      const sc = x + 192 + <usize>half * 8;
      const y = dst + (<usize>b << 10) + (<usize>half << 9);
      for (let part = 0; part < 2; part++) {
        // Elements l = 16·part … 16·part + 15 of each of the four 32-element quarters.
        const o = <usize>part * 16;
        const la = v128.load(ql + o);
        const lb = v128.load(ql + 32 + o);
        const h = v128.load(qh + o);
        const is = <usize>part;
        const q1 = i8x16.sub(v128.or(v128.and(la, low), i8x16.shl(v128.and(h, three), 4)), bias);
        const q2 = i8x16.sub(v128.or(v128.and(lb, low), i8x16.shl(v128.and(i8x16.shr_u(h, 2), three), 4)), bias);
        const q3 = i8x16.sub(v128.or(i8x16.shr_u(la, 4), i8x16.shl(v128.and(i8x16.shr_u(h, 4), three), 4)), bias);
        const q4 = i8x16.sub(v128.or(i8x16.shr_u(lb, 4), i8x16.shl(i8x16.shr_u(h, 6), 4)), bias);
        // ggml computes d * sc * q left to right: (d·sc) rounded, then times q.
        mul16s(y + (o << 2), q1, f32x4.splat(d * <f32>load<i8>(sc + is)));
        mul16s(y + 128 + (o << 2), q2, f32x4.splat(d * <f32>load<i8>(sc + is + 2)));
        mul16s(y + 256 + (o << 2), q3, f32x4.splat(d * <f32>load<i8>(sc + is + 4)));
        mul16s(y + 384 + (o << 2), q4, f32x4.splat(d * <f32>load<i8>(sc + is + 6)));
      }
    }
  }
}

export function q8_k_to_f32(src: usize, dst: usize, n: i32): void {
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 292;
    const y = dst + (<usize>b << 10);
    const d = f32x4.splat(load<f32>(x));
    for (let i = 0; i < 16; i++) mul16s(y + (<usize>i << 6), v128.load(x + 4 + (<usize>i << 4)), d);
  }
}

/** kvalues_iq4nl: the 16 levels IQ4_NL and IQ4_XS nibbles index. */
@inline function iq4Levels(): v128 {
  return v128(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

export function iq4_nl_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const levels = iq4Levels();
  for (let b = 0; b < n >> 5; b++) {
    const x = src + <usize>b * 18;
    const y = dst + (<usize>b << 7);
    const d = f32x4.splat(f16(x));
    const q = v128.load(x, 2);
    mul16s(y, i8x16.swizzle(levels, v128.and(q, low)), d);
    mul16s(y + 64, i8x16.swizzle(levels, i8x16.shr_u(q, 4)), d);
  }
}

export function iq4_xs_to_f32(src: usize, dst: usize, n: i32): void {
  const low = i8x16.splat(0x0f);
  const levels = iq4Levels();
  for (let b = 0; b < n >> 8; b++) {
    const x = src + <usize>b * 136;
    const d = f16(x);
    const scalesH = <u32>load<u16>(x, 2);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((<u32>load<u8>(x + 4 + (<usize>ib >> 1)) >> (<u32>(ib & 1) << 2)) & 0xf) | (((scalesH >> (<u32>ib << 1)) & 3) << 4);
      const dl = f32x4.splat(d * <f32>(<i32>ls - 32));
      const q = v128.load(x + 8 + (<usize>ib << 4));
      const y = dst + (<usize>b << 10) + (<usize>ib << 7);
      mul16s(y, i8x16.swizzle(levels, v128.and(q, low)), dl);
      mul16s(y + 64, i8x16.swizzle(levels, i8x16.shr_u(q, 4)), dl);
    }
  }
}
