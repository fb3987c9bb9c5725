// Statistics of Q4_K straight from its blocks, from integer moments of the quants instead of
// element-by-element f64 sums (the element route spends most of its time there).
//
// In a Q4_K sub-block (32 quants q < 16 sharing a 6-bit scale sc and min m), ggml's value of
// q is fl(fl(D·q) − M) with D = fl(d·sc), M = fl(dmin·m), d and dmin f16. d and dmin carry
// 11 significant bits, so D, M (17 bits) and D·q (21 bits) are exact in f32; D·q − M is exact
// too when it fits 24 bits above the finer f16 unit u of d and dmin, i.e. 15|D| + |M| < 2^24·u
// (checked per super-block; one that fails — d and dmin 2^4 or more apart — is summed element
// by element, as ggml rounds it). Then every value of the sub-block is exactly D·q − M, and
// with b = 8D − M − p (the value at q = 8, shifted by the pivot p):
//   Σ(y − p)  = D·Σ(q − 8) + 32·b
//   Σ(y − p)² = D²·Σ(q − 8)² + 2·b·D·Σ(q − 8) + 32·b²
// where Σ(q − 8) and Σ(q − 8)² are integers taken in SIMD (D·Σ(q − 8) and D²·Σ(q − 8)² are
// exact in f64). Per sub-block that is a few roundings instead of 64, so the sums are at
// least as accurate as the element route's (tests check both against exact sums).
// min and max: a sub-block's values lie between D·0 − M and D·15 − M; only when that range
// reaches past the running min or max are its smallest and largest quants found (rare after
// the first blocks). Zeros: y = 0 needs D·q = M for an integer q in 0..15; only sub-blocks
// where M/D can be one count their quants equal to it.
// Non-finite d or dmin send the chunk to the dequantize-and-mask path, as before.

import { statsOut } from './layout';
import { f16, q4_k_to_f32, scaleMinK4 } from './dequant';
import { CANCELLATION_LIMIT, FAST_CANCELLED, FAST_DONE, FAST_NONFINITE, statsMaskedF32, writeEmptyStats, writeStats } from './stats';
import { maxU8, minU8, sumF64x2 } from './lanes';

// The running min, max and zero count of a pass, and the sums of the blocks summed element
// by element (kept apart from the SIMD lanes, added at the end: the order stays fixed).
let runMin: f32 = 0;
let runMax: f32 = 0;
let runZeros: i32 = 0;
let slowS: f64 = 0;
let slowQ: f64 = 0;
let passMean: f64 = 0;

/** The 32 quants of Q4_K sub-block s (0..7) of the block at x, as two vectors of 16 bytes. */
@inline function nibbles(x: usize, s: i32, half: i32): v128 {
  const v = v128.load(x + 16 + <usize>(s >> 1) * 32 + <usize>half * 16);
  return (s & 1) != 0 ? i8x16.shr_u(v, 4) : v128.and(v, i8x16.splat(0x0f));
}

/**
 * Folds exact values of some sub-blocks of the (exact-regime) block at x into the running
 * min, max and zero count: bit s of `reach` marks sub-block s whose value range reaches past
 * the running min or max, bit s of `zeros` one where M/D may be an integer quant.
 */
function q4kExtras(x: usize, d: f32, dmin: f32, reach: i32, zeros: i32): void {
  let todo = reach | zeros;
  while (todo != 0) {
    const s = ctz(todo);
    todo &= todo - 1;
    const sm = scaleMinK4(x + 4, s);
    const D = d * <f32>(sm & 0xffff);
    const M = dmin * <f32>(sm >> 16);
    const a = nibbles(x, s, 0);
    const b = nibbles(x, s, 1);
    if ((reach >> s) & 1) {
      const ya = D * <f32>minU8(i8x16.min_u(a, b)) - M;
      const yb = D * <f32>maxU8(i8x16.max_u(a, b)) - M;
      const lo = ya < yb ? ya : yb;
      const hi = ya < yb ? yb : ya;
      if (lo < runMin) runMin = lo;
      if (hi > runMax) runMax = hi;
    }
    if ((zeros >> s) & 1) {
      if (D == 0) {
        if (M == 0) runZeros += 32;
      } else {
        const k = M / D;
        if (k >= 0 && k <= 15 && k == Mathf.floor(k) && D * k == M) {
          const kv = i8x16.splat(<i8>k);
          runZeros += popcnt(i8x16.bitmask(i8x16.eq(a, kv))) + popcnt(i8x16.bitmask(i8x16.eq(b, kv)));
        }
      }
    }
  }
}

/** The block at x summed element by element (outside the exact regime), values as ggml rounds them. */
function q4kElementwise(x: usize, d: f32, dmin: f32, p: f64): void {
  let S: f64 = 0, Q: f64 = 0;
  for (let s = 0; s < 8; s++) {
    const sm = scaleMinK4(x + 4, s);
    const D = d * <f32>(sm & 0xffff);
    const M = dmin * <f32>(sm >> 16);
    const q = x + 16 + <usize>(s >> 1) * 32;
    for (let l = 0; l < 32; l++) {
      const byte = <u32>load<u8>(q + <usize>l);
      const y = D * <f32>((s & 1) != 0 ? byte >> 4 : byte & 15) - M;
      if (y < runMin) runMin = y;
      if (y > runMax) runMax = y;
      if (y == 0) runZeros++;
      const dy = <f64>y - p;
      S += dy;
      Q += dy * dy;
    }
  }
  slowS += S;
  slowQ += Q;
}

/** Σ(q − 8)² + 8192·Σq over the 32 quants a, b of one sub-block, spread over four i32 lanes. */
@inline function moments(a: v128, b: v128, squares: v128, k: v128): v128 {
  const p1 = i16x8.extadd_pairwise_i8x16_u(i8x16.add(a, b));
  const p2 = i16x8.extadd_pairwise_i8x16_u(i8x16.add(i8x16.swizzle(squares, a), i8x16.swizzle(squares, b)));
  return i32x4.add(i32x4.extadd_pairwise_i16x8_u(p2), i32x4.dot_i16x8_s(p1, k));
}

/** [Σt0, Σt1, Σt2, Σt3] (lane sums). */
@inline function sum4(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const e = i32x4.add(i32x4.shuffle(t0, t1, 0, 4, 2, 6), i32x4.shuffle(t0, t1, 1, 5, 3, 7));
  const f = i32x4.add(i32x4.shuffle(t2, t3, 0, 4, 2, 6), i32x4.shuffle(t2, t3, 1, 5, 3, 7));
  return i32x4.add(i32x4.shuffle(e, f, 0, 1, 4, 5), i32x4.shuffle(e, f, 2, 3, 6, 7));
}

/** Rotates the upper two 32-bit lanes into the lower two. */
@inline function upper(v: v128): v128 { return i32x4.shuffle(v, v, 2, 3, 0, 1); }

/**
 * The shifted sums of two sub-blocks (the low two lanes of D, y8 = 8D − M, u = Σ(q − 8),
 * w = Σ(q − 8)²) around the pivot P: [Σ(y − p), Σ(y − p)²] per f64 lane, as [s, q] in sums.
 */
let pairS: v128 = f64x2.splat(0);
@inline function pairSums(Df: v128, y8: v128, u: v128, w: v128, P: v128, c32: v128): v128 {
  const D = f64x2.promote_low_f32x4(Df);
  const b = f64x2.sub(f64x2.promote_low_f32x4(y8), P);
  const Du = f64x2.mul(D, f64x2.convert_low_i32x4_s(u));
  const s = f64x2.add(Du, f64x2.mul(b, c32));
  pairS = s;
  // D²·w + 2·b·D·u + 32·b² = D²·w + b·(D·u + s)
  return f64x2.add(f64x2.mul(f64x2.mul(D, D), f64x2.convert_low_i32x4_s(w)), f64x2.mul(b, f64x2.add(Du, s)));
}

// SIMD constants, loaded once per pass (V8 does not hoist constants out of loops).
const CONSTANTS = memory.data<u8>([
  // (q − 8)² for q = 0..15
  64, 49, 36, 25, 16, 9, 4, 1, 0, 1, 4, 9, 16, 25, 36, 49,
  // scale decoding (as scaleMinK4): lanes 0..7 the scales, 8..15 the mins; low bits from the
  // bytes (masked), bits 4..5 of entries 4..7 from bits 6..7 of earlier bytes
  4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 255, 255, 255, 255,
  63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 12, 13, 14, 15,
  255, 255, 255, 255, 4, 5, 6, 7, 255, 255, 255, 255, 8, 9, 10, 11,
  // 0x0f bytes; 8192 (i16 lanes); 8191, 256 (i32 lanes)
  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
  0, 32, 0, 32, 0, 32, 0, 32, 0, 32, 0, 32, 0, 32, 0, 32,
  255, 31, 0, 0, 255, 31, 0, 0, 255, 31, 0, 0, 255, 31, 0, 0,
  0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,
  // 15.0f, 8.0f (f32 lanes); 32.0 (f64 lanes)
  0, 0, 112, 65, 0, 0, 112, 65, 0, 0, 112, 65, 0, 0, 112, 65,
  0, 0, 0, 65, 0, 0, 0, 65, 0, 0, 0, 65, 0, 0, 0, 65,
  0, 0, 0, 0, 0, 0, 64, 64, 0, 0, 0, 0, 0, 0, 64, 64,
], 16);

/**
 * One pass over n Q4_K elements (whole blocks) at ptr around the pivot (the first element,
 * or `pivot` when given); writes the record to statsOut or says why it cannot.
 */
function q4kPass(ptr: usize, n: i32, pivot: f64): i32 {
  const bits0 = load<u32>(ptr);
  if (((bits0 >> 10) & 31) == 31 || ((bits0 >> 26) & 31) == 31) return FAST_NONFINITE;
  const sm0 = scaleMinK4(ptr + 4, 0);
  const first = <f64>(f16(ptr) * <f32>(sm0 & 0xffff) * <f32>(<u32>load<u8>(ptr + 16) & 15) - f16(ptr + 2) * <f32>(sm0 >> 16));
  const p = isNaN(pivot) ? first : pivot;
  runMin = <f32>first;
  runMax = <f32>first;
  runZeros = 0;
  slowS = 0;
  slowQ = 0;
  const P = f64x2.splat(p);
  const squares = v128.load(CONSTANTS);
  const idxLow = v128.load(CONSTANTS, 16);
  const maskLow = v128.load(CONSTANTS, 32);
  const idxMid = v128.load(CONSTANTS, 48);
  const idxHigh = v128.load(CONSTANTS, 64);
  const low = v128.load(CONSTANTS, 80);
  const k8192 = v128.load(CONSTANTS, 96);
  const mask13 = v128.load(CONSTANTS, 112);
  const i256 = v128.load(CONSTANTS, 128);
  const c15 = v128.load(CONSTANTS, 144);
  const c8 = v128.load(CONSTANTS, 160);
  const c32 = v128.load(CONSTANTS, 176);
  const zero = f32x4.splat(0);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let q0 = f64x2.splat(0), q1 = f64x2.splat(0);
  const blocks = n >> 8;
  for (let blk = 0; blk < blocks; blk++) {
    const x = ptr + <usize>blk * 144;
    const bits = load<u32>(x);
    const ed = (bits >> 10) & 31, em = (bits >> 26) & 31;
    if (ed == 31 || em == 31) return FAST_NONFINITE;
    const d = f16(x), dmin = f16(x + 2);
    // 2^24 times the finer f16 unit of d and dmin (unit 2^(e − 25), e the biased exponent, ≥ 1);
    // a zero d or dmin sets no unit (0 is a multiple of any).
    const eD = (bits & 0x7fff) == 0 ? 31 : max(ed, 1);
    const eM = (bits & 0x7fff0000) == 0 ? 31 : max(em, 1);
    const limit = f32x4.splat(reinterpret<f32>((min(eD, eM) + 126) << 23));
    const v = v128.load(x);
    const scm = v128.or(
      v128.or(v128.and(i8x16.swizzle(v, idxLow), maskLow), i8x16.swizzle(i8x16.shr_u(v, 4), idxMid)),
      i8x16.shl(i8x16.swizzle(i8x16.shr_u(v, 6), idxHigh), 4),
    );
    const sc = i16x8.extend_low_i8x16_u(scm);
    const mn = i16x8.extend_high_i8x16_u(scm);
    const dv = f32x4.splat(d), mv = f32x4.splat(dmin);
    const DA = f32x4.mul(dv, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(sc)));
    const DB = f32x4.mul(dv, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(sc)));
    const MA = f32x4.mul(mv, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(mn)));
    const MB = f32x4.mul(mv, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(mn)));
    const y15A = f32x4.sub(f32x4.mul(DA, c15), MA), y15B = f32x4.sub(f32x4.mul(DB, c15), MB);
    const exact = v128.and(
      f32x4.lt(f32x4.add(f32x4.abs(f32x4.mul(DA, c15)), f32x4.abs(MA)), limit),
      f32x4.lt(f32x4.add(f32x4.abs(f32x4.mul(DB, c15)), f32x4.abs(MB)), limit),
    );
    if (!i32x4.all_true(exact)) {
      q4kElementwise(x, d, dmin, p);
      continue;
    }
    // Sub-blocks whose value range [D·0 − M, D·15 − M] reaches past the running min or max,
    // and those where M/D may be an integer quant (or M = 0): a zero is possible.
    const mnv = f32x4.splat(runMin), mxv = f32x4.splat(runMax);
    const y0A = f32x4.neg(MA), y0B = f32x4.neg(MB);
    const reachA = v128.or(f32x4.lt(f32x4.pmin(y0A, y15A), mnv), f32x4.gt(f32x4.pmax(y0A, y15A), mxv));
    const reachB = v128.or(f32x4.lt(f32x4.pmin(y0B, y15B), mnv), f32x4.gt(f32x4.pmax(y0B, y15B), mxv));
    const kA = f32x4.div(MA, DA), kB = f32x4.div(MB, DB);
    const zA = v128.or(f32x4.eq(MA, zero), v128.and(f32x4.eq(kA, f32x4.nearest(kA)), v128.and(f32x4.ge(kA, zero), f32x4.le(kA, c15))));
    const zB = v128.or(f32x4.eq(MB, zero), v128.and(f32x4.eq(kB, f32x4.nearest(kB)), v128.and(f32x4.ge(kB, zero), f32x4.le(kB, c15))));
    if (v128.any_true(v128.or(v128.or(reachA, reachB), v128.or(zA, zB)))) {
      q4kExtras(x, d, dmin, i32x4.bitmask(reachA) | (i32x4.bitmask(reachB) << 4), i32x4.bitmask(zA) | (i32x4.bitmask(zB) << 4));
    }
    // Σ(q − 8)² + 8192·Σq per sub-block: lanes of GA are sub-blocks 0..3, of GB 4..7.
    const qa0 = v128.load(x, 16), qb0 = v128.load(x, 32);
    const qa1 = v128.load(x, 48), qb1 = v128.load(x, 64);
    const GA = sum4(
      moments(v128.and(qa0, low), v128.and(qb0, low), squares, k8192),
      moments(i8x16.shr_u(qa0, 4), i8x16.shr_u(qb0, 4), squares, k8192),
      moments(v128.and(qa1, low), v128.and(qb1, low), squares, k8192),
      moments(i8x16.shr_u(qa1, 4), i8x16.shr_u(qb1, 4), squares, k8192),
    );
    const qa2 = v128.load(x, 80), qb2 = v128.load(x, 96);
    const qa3 = v128.load(x, 112), qb3 = v128.load(x, 128);
    const GB = sum4(
      moments(v128.and(qa2, low), v128.and(qb2, low), squares, k8192),
      moments(i8x16.shr_u(qa2, 4), i8x16.shr_u(qb2, 4), squares, k8192),
      moments(v128.and(qa3, low), v128.and(qb3, low), squares, k8192),
      moments(i8x16.shr_u(qa3, 4), i8x16.shr_u(qb3, 4), squares, k8192),
    );
    const uA = i32x4.sub(i32x4.shr_u(GA, 13), i256), uB = i32x4.sub(i32x4.shr_u(GB, 13), i256);
    const wA = v128.and(GA, mask13), wB = v128.and(GB, mask13);
    const y8A = f32x4.sub(f32x4.mul(DA, c8), MA), y8B = f32x4.sub(f32x4.mul(DB, c8), MB);
    // Four pairs of sub-blocks in f64 lanes.
    q0 = f64x2.add(q0, pairSums(DA, y8A, uA, wA, P, c32));
    s0 = f64x2.add(s0, pairS);
    q1 = f64x2.add(q1, pairSums(upper(DA), upper(y8A), upper(uA), upper(wA), P, c32));
    s1 = f64x2.add(s1, pairS);
    q0 = f64x2.add(q0, pairSums(DB, y8B, uB, wB, P, c32));
    s0 = f64x2.add(s0, pairS);
    q1 = f64x2.add(q1, pairSums(upper(DB), upper(y8B), upper(uB), upper(wB), P, c32));
    s1 = f64x2.add(s1, pairS);
  }
  const sv = f64x2.add(s0, s1), qv = f64x2.add(q0, q1);
  const S = sumF64x2(sv) + slowS;
  const Q = sumF64x2(qv) + slowQ;
  const fn = <f64>n;
  const m2 = Q - S * S / fn;
  if (Q > CANCELLATION_LIMIT * m2 && isNaN(pivot)) {
    passMean = p + S / fn;
    return FAST_CANCELLED;
  }
  writeStats(statsOut, fn, p + S / fn, max(m2, 0), <f64>runMin, <f64>runMax, 0, 0, 0, <f64>runZeros);
  return FAST_DONE;
}

/** Statistics of n Q4_K elements (whole blocks) at ptr; `scratch` (4n bytes) only for non-finite scales. */
export function stats_q4_k(ptr: usize, n: i32, scratch: usize): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  const r = q4kPass(ptr, n, NaN);
  if (r == FAST_CANCELLED) q4kPass(ptr, n, passMean);
  else if (r == FAST_NONFINITE) { q4_k_to_f32(ptr, scratch, n); statsMaskedF32(scratch, n, statsOut); }
}
