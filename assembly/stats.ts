// One-pass statistics of a chunk (DESIGN §4). Each call writes a mergeable partial to
// statsOut: [count, mean, M2, min, max, nan, +inf, -inf, zeros] where count, mean, M2,
// min and max are over finite elements only. Sums are taken in f64 around a pivot (the
// chunk's first element) so |mean| ≫ std keeps its digits; the host merges chunks with
// Chan's formula. The SIMD path assumes every element is finite and checks that its sums
// stayed finite; if not, the chunk is re-run by the masking scalar path.

import { statsOut, statsAcc, f16Table } from './layout';
import { bf16_to_f32, f16_to_f32, f16x4Scaled, f16ConstantsPtr, F16_SCALED_MASK, F16_SCALED_SCALE, F16_SCALED_SPECIAL } from './convert';
import { maxF32x4, minF32x4, sumF64x2, sumI32x4, sumI64x2 } from './lanes';

// Re-run with the mean as pivot when Q/M2 shows more than this cancellation (4 bits).
export const CANCELLATION_LIMIT: f64 = 16.0;

// Magnitudes whose squares could leave the f64 range take a path that scales the
// values by a power of two (exact) and reports the scale: true M2 = m2 · 4^exp.
const SCALE_HIGH: f64 = 3.1217485503159922e+144; // 2^480: a chunk of 2^20 squares stays below f64 max
const SCALE_LOW: f64 = 1.0 / SCALE_HIGH;

@inline export function writeStats(o: usize, n: f64, mean: f64, m2: f64, mn: f64, mx: f64, nan: f64, pinf: f64, ninf: f64, zeros: f64, exp: f64 = 0): void {
  store<f64>(o + 72, exp);
  store<f64>(o, n);
  store<f64>(o + 8, mean);
  store<f64>(o + 16, m2);
  store<f64>(o + 24, mn);
  store<f64>(o + 32, mx);
  store<f64>(o + 40, nan);
  store<f64>(o + 48, pinf);
  store<f64>(o + 56, ninf);
  store<f64>(o + 64, zeros);
}

/** The record of an empty chunk. */
export function writeEmptyStats(o: usize): void { writeStats(o, 0, 0, 0, Infinity, -Infinity, 0, 0, 0, 0); }

/** Σ(x−p) and Σ(x−p)² over n f64 values; shiftedSumsF64 returns them through these globals. */
let sumD: f64 = 0;
let sumQ: f64 = 0;

function shiftedSumsF64(ptr: usize, n: i32, p: f64): void {
  const P = f64x2.splat(p);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let q0 = f64x2.splat(0), q1 = f64x2.splat(0);
  let i = 0;
  const n4 = n & ~3;
  for (; i < n4; i += 4) {
    const a = f64x2.sub(v128.load(ptr + (<usize>i << 3)), P);
    const b = f64x2.sub(v128.load(ptr + (<usize>i << 3), 16), P);
    s0 = f64x2.add(s0, a);
    s1 = f64x2.add(s1, b);
    q0 = f64x2.add(q0, f64x2.mul(a, a));
    q1 = f64x2.add(q1, f64x2.mul(b, b));
  }
  const s = f64x2.add(s0, s1);
  const q = f64x2.add(q0, q1);
  let S = sumF64x2(s);
  let Q = sumF64x2(q);
  for (; i < n; i++) {
    const d = load<f64>(ptr + (<usize>i << 3)) - p;
    S += d;
    Q += d * d;
  }
  sumD = S;
  sumQ = Q;
}

// Sources the one-pass f32 kernel reads directly: f32, and bf16/f16 widened in registers
// (no scratch round trip). Constants so each inlined copy folds to one straight loop. The
// host passes these numbers to the fused compare kernel (src/engine/ops/compare.ts).
export const SRC_F32: i32 = 0;
export const SRC_BF16: i32 = 1;
export const SRC_F16: i32 = 2;

@inline function shiftOf(src: i32): usize { return src == SRC_F32 ? 2 : 1; }

@inline function scalarAt(ptr: usize, i: i32, src: i32): f64 {
  if (src == SRC_F32) return <f64>load<f32>(ptr + (<usize>i << 2));
  const bits = <u32>load<u16>(ptr + (<usize>i << 1));
  if (src == SRC_BF16) return <f64>reinterpret<f32>(bits << 16);
  return <f64>load<f32>(f16Table + (<usize>bits << 2));
}

/** The first element of a chunk of any source, as f64 (the pivot of the fast path). */
export function firstOf(ptr: usize, src: i32): f64 {
  return src == SRC_F32 ? scalarAt(ptr, 0, SRC_F32) : src == SRC_BF16 ? scalarAt(ptr, 0, SRC_BF16) : scalarAt(ptr, 0, SRC_F16);
}

/**
 * Elements i..i+3 as f32x4 (`half` 0) or i+4..i+7 (`half` 1); f16 through the scaling
 * decoder (convert.ts: ±Inf/NaN come out as magnitudes ≥ 2^16, which statsFinish catches).
 */
@inline function vecAt(ptr: usize, i: i32, half: i32, src: i32, mask: v128, scale: v128): v128 {
  if (src == SRC_F32) return v128.load(ptr + (<usize>(i + half * 4) << 2));
  const v = v128.load(ptr + (<usize>i << 1));
  if (src == SRC_BF16) return i32x4.shl(half == 0 ? i32x4.extend_low_i16x8_u(v) : i32x4.extend_high_i16x8_u(v), 16);
  return f16x4Scaled(half == 0 ? i32x4.extend_low_i16x8_s(v) : i32x4.extend_high_i16x8_s(v), mask, scale);
}

export const FAST_DONE: i32 = 0;
export const FAST_NONFINITE: i32 = 1;
export const FAST_CANCELLED: i32 = 2;

// The fast path's lane accumulators live in a 112-byte record (STATS_ACC_BYTES) between
// calls, so one chunk can be summed in pieces (the fused compare kernel runs it block by
// block) with exactly the arithmetic of one straight pass: min, max, zero count, and the
// shifted sums and squares of even and odd 4-lane groups.
const ACC_MN: usize = 0;
const ACC_MX: usize = 16;
const ACC_Z: usize = 32;
const ACC_S0: usize = 48;
const ACC_S1: usize = 64;
const ACC_Q0: usize = 80;
const ACC_Q1: usize = 96;

/** Starts a fast-path record whose min and max lanes hold the chunk's first element. */
export function statsAccInit(acc: usize, first: f64): void {
  const f = f32x4.splat(<f32>first);
  const z = f64x2.splat(0);
  v128.store(acc, f, ACC_MN);
  v128.store(acc, f, ACC_MX);
  v128.store(acc, z, ACC_Z);
  v128.store(acc, z, ACC_S0);
  v128.store(acc, z, ACC_S1);
  v128.store(acc, z, ACC_Q0);
  v128.store(acc, z, ACC_Q1);
}

/** Adds elements [0, n8) of ptr (n8 a multiple of 8) into the record, shifted by the pivot p. */
@inline function statsSteps(acc: usize, ptr: usize, n8: i32, src: i32, p: f64): void {
  const c = f16ConstantsPtr();
  const mask = v128.load(c, F16_SCALED_MASK), scale = v128.load(c, F16_SCALED_SCALE);
  const P = f64x2.splat(p);
  const zero = f32x4.splat(0);
  let mn = v128.load(acc, ACC_MN), mx = v128.load(acc, ACC_MX);
  let z = v128.load(acc, ACC_Z);
  let s0 = v128.load(acc, ACC_S0), q0 = v128.load(acc, ACC_Q0);
  let s1 = v128.load(acc, ACC_S1), q1 = v128.load(acc, ACC_Q1);
  for (let i = 0; i < n8; i += 8) {
    const v0 = vecAt(ptr, i, 0, src, mask, scale);
    const v1 = vecAt(ptr, i, 1, src, mask, scale);
    mn = f32x4.pmin(mn, f32x4.pmin(v0, v1));
    mx = f32x4.pmax(mx, f32x4.pmax(v0, v1));
    z = i32x4.add(z, i32x4.add(f32x4.eq(v0, zero), f32x4.eq(v1, zero)));
    const a = f64x2.sub(f64x2.promote_low_f32x4(v0), P);
    const b = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 0, 1)), P);
    const d0 = f64x2.sub(f64x2.promote_low_f32x4(v1), P);
    const d1 = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 0, 1)), P);
    s0 = f64x2.add(s0, f64x2.add(a, b));
    s1 = f64x2.add(s1, f64x2.add(d0, d1));
    q0 = f64x2.add(q0, f64x2.add(f64x2.mul(a, a), f64x2.mul(b, b)));
    q1 = f64x2.add(q1, f64x2.add(f64x2.mul(d0, d0), f64x2.mul(d1, d1)));
  }
  v128.store(acc, mn, ACC_MN);
  v128.store(acc, mx, ACC_MX);
  v128.store(acc, z, ACC_Z);
  v128.store(acc, s0, ACC_S0);
  v128.store(acc, s1, ACC_S1);
  v128.store(acc, q0, ACC_Q0);
  v128.store(acc, q1, ACC_Q1);
}

/** statsSteps over f32 (the fused kernel's widened blocks). */
export function statsStepsF32(acc: usize, ptr: usize, n8: i32, p: f64): void { statsSteps(acc, ptr, n8, SRC_F32, p); }

/**
 * The end of the fast path: folds the lanes, adds the scalar tail (`tail` elements at
 * tailPtr) and writes the record of n elements to `out`, or says why the caller must take a
 * slower path (non-finite values, or — when `pivot` is NaN, i.e. the first try — cancellation
 * that needs the mean as pivot; the mean is left in cancelledMean).
 */
@inline function statsFinish(acc: usize, tailPtr: usize, tail: i32, n: i32, src: i32, p: f64, pivot: f64, out: usize): i32 {
  const mn = v128.load(acc, ACC_MN), mx = v128.load(acc, ACC_MX), z = v128.load(acc, ACC_Z);
  let lo = <f64>minF32x4(mn);
  let hi = <f64>maxF32x4(mx);
  // eq lanes are −1 when equal, so the lane sums are minus the zero count.
  let zeros = -sumI32x4(z);
  const s = f64x2.add(v128.load(acc, ACC_S0), v128.load(acc, ACC_S1));
  const q = f64x2.add(v128.load(acc, ACC_Q0), v128.load(acc, ACC_Q1));
  let S = sumF64x2(s);
  let Q = sumF64x2(q);
  for (let i = 0; i < tail; i++) {
    const x = scalarAt(tailPtr, i, src);
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    if (x == 0) zeros++;
    const dx = x - p;
    S += dx;
    Q += dx * dx;
  }
  // Any NaN or infinity makes the sums non-finite (f16's scaled lanes show theirs in min/max).
  if (!isFinite(S) || !isFinite(Q)) return FAST_NONFINITE;
  if (src == SRC_F16 && (hi >= F16_SCALED_SPECIAL || lo <= -F16_SCALED_SPECIAL)) return FAST_NONFINITE;
  const fn = <f64>n;
  const m2 = Q - S * S / fn;
  if (Q > CANCELLATION_LIMIT * m2 && isNaN(pivot)) {
    cancelledMean = p + S / fn;
    return FAST_CANCELLED;
  }
  writeStats(out, fn, p + S / fn, max(m2, 0), lo, hi, 0, 0, 0, <f64>zeros);
  return FAST_DONE;
}

/** statsFinish over an f32 tail (the fused kernel's last block). */
export function statsFinishF32(acc: usize, tailPtr: usize, tail: i32, n: i32, p: f64, out: usize): i32 {
  return statsFinish(acc, tailPtr, tail, n, SRC_F32, p, NaN, out);
}

/**
 * One pass: min, max and zero count in f32 lanes; sums in f64 around the pivot (the first
 * element, or `pivot` when given). Writes the record to `out` and returns FAST_DONE, or says
 * why the caller must take a slower path.
 */
export let cancelledMean: f64 = 0;

@inline function fastStats(ptr: usize, n: i32, src: i32, pivot: f64, out: usize): i32 {
  const first = scalarAt(ptr, 0, src);
  if (!isFinite(first)) return FAST_NONFINITE;
  const p = isNaN(pivot) ? first : pivot;
  const acc = statsAcc;
  statsAccInit(acc, first);
  const n8 = n & ~7;
  statsSteps(acc, ptr, n8, src, p);
  return statsFinish(acc, ptr + (<usize>n8 << shiftOf(src)), n - n8, n, src, p, pivot, out);
}

/**
 * The slow paths after fastStats returned `r`: cancellation re-runs the pass around the
 * first pass's mean (finite data, so it completes); non-finite values take the masking
 * path, bf16/f16 widened into `scratch` (4n bytes) first.
 */
export function statsSlow(ptr: usize, n: i32, src: i32, r: i32, out: usize, scratch: usize): void {
  if (r == FAST_CANCELLED) {
    if (src == SRC_F32) fastStats(ptr, n, SRC_F32, cancelledMean, out);
    else if (src == SRC_BF16) fastStats(ptr, n, SRC_BF16, cancelledMean, out);
    else fastStats(ptr, n, SRC_F16, cancelledMean, out);
  } else if (r == FAST_NONFINITE) statsMaskedF32(widened(ptr, n, src, scratch), n, out);
}

/** The chunk as f32: ptr itself for f32, else bf16/f16 widened into scratch. */
export function widened(ptr: usize, n: i32, src: i32, scratch: usize): usize {
  if (src == SRC_F32) return ptr;
  if (src == SRC_BF16) bf16_to_f32(ptr, scratch, n);
  else f16_to_f32(ptr, scratch, n);
  return scratch;
}

@inline function statsOf(ptr: usize, n: i32, src: i32, scratch: usize): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  const r = fastStats(ptr, n, src, NaN, statsOut);
  if (r != FAST_DONE) statsSlow(ptr, n, src, r, statsOut, scratch);
}

/** Statistics of n f32 values at ptr. */
export function stats_f32(ptr: usize, n: i32): void { statsOf(ptr, n, SRC_F32, 0); }

/** Statistics of n bf16 values at ptr; `scratch` (4n bytes) is used only on the slow path. */
export function stats_bf16(ptr: usize, n: i32, scratch: usize): void { statsOf(ptr, n, SRC_BF16, scratch); }

/** Statistics of n f16 values at ptr; `scratch` (4n bytes) is used only on the slow path. */
export function stats_f16(ptr: usize, n: i32, scratch: usize): void { statsOf(ptr, n, SRC_F16, scratch); }

/** Statistics of n f64 values at ptr. */
export function stats_f64(ptr: usize, n: i32): void {
  if (n == 0) { writeEmptyStats(statsOut); return; }
  const p = load<f64>(ptr);
  if (!isFinite(p)) { statsMaskedF64(ptr, n, statsOut); return; }
  const zero = f64x2.splat(0);
  let mn = f64x2.splat(p), mx = mn;
  let z = i64x2.splat(0);
  let i = 0;
  const n2 = n & ~1;
  for (; i < n2; i += 2) {
    const v = v128.load(ptr + (<usize>i << 3));
    mn = f64x2.pmin(mn, v);
    mx = f64x2.pmax(mx, v);
    z = i64x2.sub(z, f64x2.eq(v, zero));
  }
  let lo = min(f64x2.extract_lane(mn, 0), f64x2.extract_lane(mn, 1));
  let hi = max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  let zeros = sumI64x2(z);
  for (; i < n; i++) {
    const x = load<f64>(ptr + (<usize>i << 3));
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    if (x == 0) zeros++;
  }
  if (!isFinite(lo) || !isFinite(hi)) { statsMaskedF64(ptr, n, statsOut); return; }
  const mag = max(abs(lo), abs(hi));
  if (mag > SCALE_HIGH || (mag < SCALE_LOW && (lo != 0 || hi != 0))) { statsMaskedF64(ptr, n, statsOut); return; }
  shiftedSumsF64(ptr, n, p);
  if (!isFinite(sumD) || !isFinite(sumQ)) { statsMaskedF64(ptr, n, statsOut); return; }
  const fn = <f64>n;
  let mean = p + sumD / fn;
  let m2 = sumQ - sumD * sumD / fn;
  if (sumQ > CANCELLATION_LIMIT * m2) {
    shiftedSumsF64(ptr, n, mean);
    const m = mean;
    mean = m + sumD / fn;
    m2 = sumQ - sumD * sumD / fn;
  }
  writeStats(statsOut, fn, mean, max(m2, 0), lo, hi, 0, 0, 0, <f64>zeros);
}

// The masking path: classifies every element. Used only for chunks holding NaN/±Inf (or
// whose squares overflow), so its speed matters little.
@inline function statsMasked<T>(ptr: usize, n: i32, out: usize): void {
  let nan: f64 = 0, pinf: f64 = 0, ninf: f64 = 0, zeros: f64 = 0, count: f64 = 0;
  let lo: f64 = Infinity, hi: f64 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = <f64>load<T>(ptr + (<usize>i << alignof<T>()));
    if (isNaN(x)) { nan++; continue; }
    if (x == Infinity) { pinf++; continue; }
    if (x == -Infinity) { ninf++; continue; }
    count++;
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    if (x == 0) zeros++;
  }
  if (count == 0) { writeStats(out, 0, 0, 0, lo, hi, nan, pinf, ninf, zeros); return; }
  // Scale by 2^-e so the largest magnitude is near 1 when squares would over/underflow.
  const mag = max(abs(lo), abs(hi));
  let e: i32 = 0;
  if (mag > SCALE_HIGH || (mag < SCALE_LOW && mag != 0)) e = <i32>Math.floor(Math.log2(mag));
  let p: f64 = 0, S: f64 = 0, Q: f64 = 0, seen = false;
  for (let i = 0; i < n; i++) {
    const x = NativeMath.scalbn(<f64>load<T>(ptr + (<usize>i << alignof<T>())), -e);
    if (!isFinite(x)) continue;
    if (!seen) { p = x; seen = true; }
    const d = x - p;
    S += d;
    Q += d * d;
  }
  let mean = p + S / count;
  let m2 = Q - S * S / count;
  if (Q > CANCELLATION_LIMIT * m2) {
    S = 0; Q = 0;
    for (let i = 0; i < n; i++) {
      const x = NativeMath.scalbn(<f64>load<T>(ptr + (<usize>i << alignof<T>())), -e);
      if (!isFinite(x)) continue;
      const d = x - mean;
      S += d;
      Q += d * d;
    }
    mean = mean + S / count;
    m2 = Q - S * S / count;
  }
  writeStats(out, count, NativeMath.scalbn(mean, e), max(m2, 0), lo, hi, nan, pinf, ninf, zeros, <f64>e);
}

export function statsMaskedF32(ptr: usize, n: i32, out: usize): void { statsMasked<f32>(ptr, n, out); }
function statsMaskedF64(ptr: usize, n: i32, out: usize): void { statsMasked<f64>(ptr, n, out); }
