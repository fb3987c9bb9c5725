// One-pass statistics of a chunk (DESIGN §4). Each call writes a mergeable partial to
// statsOut: [count, mean, M2, min, max, nan, +inf, -inf, zeros] where count, mean, M2,
// min and max are over finite elements only. Sums are taken in f64, first around 0; a chunk
// whose Σx² shows cancellation (|mean| ≫ std) is summed again around that pass's mean, so
// it keeps its digits; the host merges chunks with Chan's formula. The SIMD path assumes every element is finite and checks that its sums
// stayed finite; if not, the chunk is re-run by the masking scalar path. min, max and the
// zero count of bf16/f16 are taken on their bits (half-bits.ts), of f32 in f32 lanes.

import { statsOut, f16Table } from './layout';
import { bf16_to_f32, f16_to_f32, f16ConstantsPtr, F16_SCALED_MASK, F16_SCALED_SCALE } from './convert';
import { bitsHi, bitsLo, bitsZeros, foldBits, magMin2, magMinStart, maxS2, maxSStart, maxU2, maxUStart } from './half-bits';
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
/** f64 values (compare_f64's tail; never passed by the host). */
export const SRC_F64: i32 = 3;
/**
 * f16 as the statistics kernel reads it: the scaling decoder without its multiply, so the
 * lanes hold x·2^-112 (exact: f16 normals land on f32 normals, subnormals on subnormals).
 * Every sum of such values rounds exactly as the unscaled sum does, scaled (a power of two
 * commutes with rounding; nothing nears the f64 subnormals: nonzero values and sums are
 * multiples of 2^-136, squares of 2^-272), so the lanes are rescaled when folded and give
 * stats_f16 the bits of the fused kernel, which decodes f16 fully. Never passed by the host.
 */
export const SRC_F16_SCALED: i32 = 4;
/** 2^112 and its inverse: the scaling decoder's factor. */
export const F16_UP: f64 = 5.192296858534828e+33;
export const F16_DOWN: f64 = 1.0 / F16_UP;

@inline export function shiftOf(src: i32): usize { return src == SRC_F32 ? 2 : 1; }

@inline export function scalarAt(ptr: usize, i: i32, src: i32): f64 {
  if (src == SRC_F32) return <f64>load<f32>(ptr + (<usize>i << 2));
  if (src == SRC_F64) return load<f64>(ptr + (<usize>i << 3));
  const bits = <u32>load<u16>(ptr + (<usize>i << 1));
  if (src == SRC_BF16) return <f64>reinterpret<f32>(bits << 16);
  return <f64>load<f32>(f16Table + (<usize>bits << 2));
}

/**
 * Elements i..i+3 as f32x4 (`half` 0) or i+4..i+7 (`half` 1); bf16 by interleaving zero
 * words below each value (bf16 → f32 is a 16-bit shift; V8 emits one punpck per half); f16
 * through the scaling decoder (convert.ts: ±Inf/NaN come out finite, as magnitudes ≥ 2^16;
 * the callers see them in the extremes taken on the bits) from the same interleaving, or
 * without its multiply for SRC_F16_SCALED.
 */
@inline export function vecAt(ptr: usize, i: i32, half: i32, src: i32, mask: v128, scale: v128): v128 {
  if (src == SRC_F32) return v128.load(ptr + (<usize>(i + half * 4) << 2));
  return widenHalf(v128.load(ptr + (<usize>i << 1)), half, src, mask, scale);
}

/** vecAt of eight bf16/f16 already loaded (`v`, the bits half-bits.ts also reads). */
@inline export function widenHalf(v: v128, half: i32, src: i32, mask: v128, scale: v128): v128 {
  // Each value in the high half of a 32-bit lane (one punpck per half): bf16 → f32 as is.
  const zero = i32x4.splat(0);
  const high = half == 0
    ? i8x16.shuffle(zero, v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23)
    : i8x16.shuffle(zero, v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  if (src == SRC_BF16) return high;
  // f16: (h << 16) >> 3 (arithmetic) is the sign-extended h << 13 of the scaling decoder.
  const bits = v128.and(i32x4.shr_s(high, 3), mask);
  return src == SRC_F16_SCALED ? bits : f32x4.mul(bits, scale);
}

// The lane order every f32-family kernel sums in (stats here, compare_f32 and the fused
// kernel): sixteen elements per step as eight f64x2 (elements 0–1, 2–3, …, 14–15), added
// ((acc + ((x0 + x1) + (x2 + x3))) + ((x4 + x5) + (x6 + x7))) into one accumulator; the lanes
// are folded lane 0 + lane 1 and the tail (< 16 elements) is added after, in order. Sixteen
// a step, not eight: V8 ran the bf16 statistics loop ~30 % faster so (measured; fewer back
// edges, each with an interrupt check). With the first pass's pivot 0, Σx² of the statistics
// is then bit for bit the comparison's Σa² (or Σb²): the fused kernel takes it once.

/** Lanes 0–1 and 2–3 of an f32x4 as two f64x2. */
@inline export function lowF64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline export function highF64(v: v128): v128 { return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)); }

/** (x0 + x1) + (x2 + x3). */
@inline export function sum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return f64x2.add(f64x2.add(x0, x1), f64x2.add(x2, x3));
}

/** (x0² + x1²) + (x2² + x3²). */
@inline export function squares4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return f64x2.add(f64x2.add(f64x2.mul(x0, x0), f64x2.mul(x1, x1)), f64x2.add(f64x2.mul(x2, x2), f64x2.mul(x3, x3)));
}

export const FAST_DONE: i32 = 0;
export const FAST_NONFINITE: i32 = 1;
export const FAST_CANCELLED: i32 = 2;

/**
 * The fast path's folded lanes: Σ(x−p) and Σ(x−p)² over the SIMD part, min and max as f64,
 * the zero count. statsLanes and the fused kernel leave them here for statsFinish.
 */
let laneS: f64 = 0;
let laneQ: f64 = 0;
let laneLo: f64 = 0;
let laneHi: f64 = 0;
let laneZeros: i32 = 0;

/** Folds one side's accumulators into the lane* globals. */
@inline export function foldStatsLanes(mn: v128, mx: v128, z: v128, s: v128, q: v128): void {
  laneLo = <f64>minF32x4(mn);
  laneHi = <f64>maxF32x4(mx);
  // eq lanes are −1 when equal, so the lane sums are minus the zero count.
  laneZeros = -sumI32x4(z);
  laneS = sumF64x2(s);
  laneQ = sumF64x2(q);
}

/** The smallest, the largest lanes and the −(zero count) lanes of four f32x4, in one fixed tree. */
@inline export function min4(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.pmin(f32x4.pmin(v0, v1), f32x4.pmin(v2, v3)); }
@inline export function max4(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3)); }
@inline export function zeros4(v0: v128, v1: v128, v2: v128, v3: v128, zero: v128): v128 {
  return i32x4.add(i32x4.add(f32x4.eq(v0, zero), f32x4.eq(v1, zero)), i32x4.add(f32x4.eq(v2, zero), f32x4.eq(v3, zero)));
}

/**
 * x − P for a pass around a pivot (S = Shifted), or x itself for a pass around 0 (S = AtZero;
 * exact: x − 0 = x, also for −0). A type, not a flag: each kind of pass is compiled as its own
 * loop (binaryen folded two copies told apart by a flag into one loop with a select per value).
 */
type Shifted = u64;
type AtZero = u32;
@inline function shift<S>(x: v128, P: v128): v128 {
  if (sizeof<S>() == sizeof<Shifted>()) return f64x2.sub(x, P);
  return x;
}

/**
 * Elements [0, n16) of ptr (n16 a multiple of 16): min, max and zero count (in f32 lanes
 * started from the first element, or on the bits for bf16/f16), Σ(x−p) and Σ(x−p)² in f64
 * lanes.
 */
@inline function statsLanes<S>(ptr: usize, n16: i32, src: i32, first: f64, p: f64): void {
  if (src == SRC_F32) statsLanesF32<S>(ptr, n16, first, p);
  else statsLanesHalf<S>(ptr, n16, src, first, p);
}

@inline function statsLanesF32<S>(ptr: usize, n16: i32, first: f64, p: f64): void {
  const P = f64x2.splat(p);
  const zero = f32x4.splat(0);
  let mn = f32x4.splat(<f32>first), mx = mn;
  let z = i32x4.splat(0);
  let s = f64x2.splat(0), q = s;
  for (let i = 0; i < n16; i += 16) {
    const v0 = vecAt(ptr, i, 0, SRC_F32, zero, zero), v1 = vecAt(ptr, i, 1, SRC_F32, zero, zero);
    const v2 = vecAt(ptr, i + 8, 0, SRC_F32, zero, zero), v3 = vecAt(ptr, i + 8, 1, SRC_F32, zero, zero);
    mn = f32x4.pmin(mn, min4(v0, v1, v2, v3));
    mx = f32x4.pmax(mx, max4(v0, v1, v2, v3));
    z = i32x4.add(z, zeros4(v0, v1, v2, v3, zero));
    const x0 = shift<S>(lowF64(v0), P), x1 = shift<S>(highF64(v0), P);
    const x2 = shift<S>(lowF64(v1), P), x3 = shift<S>(highF64(v1), P);
    const x4 = shift<S>(lowF64(v2), P), x5 = shift<S>(highF64(v2), P);
    const x6 = shift<S>(lowF64(v3), P), x7 = shift<S>(highF64(v3), P);
    s = f64x2.add(f64x2.add(s, sum4(x0, x1, x2, x3)), sum4(x4, x5, x6, x7));
    q = f64x2.add(f64x2.add(q, squares4(x0, x1, x2, x3)), squares4(x4, x5, x6, x7));
  }
  foldStatsLanes(mn, mx, z, s, q);
}

/** statsLanes of bf16/f16: min, max and zeros on the bits (half-bits.ts), sums as the f32 lanes take them. */
@inline function statsLanesHalf<S>(ptr: usize, n16: i32, src: i32, first: f64, p: f64): void {
  const c = f16ConstantsPtr();
  const mask = v128.load(c, F16_SCALED_MASK), scale = v128.load(c, F16_SCALED_SCALE);
  // f16 is summed scaled by 2^-112 (SRC_F16_SCALED), the pivot with it.
  const scaled = src == SRC_F16;
  const lanes = scaled ? SRC_F16_SCALED : src;
  const P = f64x2.splat(scaled ? p * F16_DOWN : p);
  let umx = maxUStart(), smx = maxSStart(), mmn = magMinStart();
  let s = f64x2.splat(0), q = s;
  for (let i = 0; i < n16; i += 16) {
    const r0 = v128.load(ptr + (<usize>i << 1)), r1 = v128.load(ptr + (<usize>i << 1), 16);
    umx = maxU2(umx, r0, r1);
    smx = maxS2(smx, r0, r1);
    mmn = magMin2(mmn, r0, r1);
    const v0 = widenHalf(r0, 0, lanes, mask, scale), v1 = widenHalf(r0, 1, lanes, mask, scale);
    const v2 = widenHalf(r1, 0, lanes, mask, scale), v3 = widenHalf(r1, 1, lanes, mask, scale);
    const x0 = shift<S>(lowF64(v0), P), x1 = shift<S>(highF64(v0), P);
    const x2 = shift<S>(lowF64(v1), P), x3 = shift<S>(highF64(v1), P);
    const x4 = shift<S>(lowF64(v2), P), x5 = shift<S>(highF64(v2), P);
    const x6 = shift<S>(lowF64(v3), P), x7 = shift<S>(highF64(v3), P);
    s = f64x2.add(f64x2.add(s, sum4(x0, x1, x2, x3)), sum4(x4, x5, x6, x7));
    q = f64x2.add(f64x2.add(q, squares4(x0, x1, x2, x3)), squares4(x4, x5, x6, x7));
  }
  laneS = sumF64x2(s);
  laneQ = sumF64x2(q);
  if (scaled) {
    laneS *= F16_UP;
    laneQ *= F16_UP * F16_UP;
  }
  foldHalfLanes(n16 > 0 && foldBits(umx, smx, mmn, ptr, n16, src == SRC_BF16), ptr, n16, src, first);
}

/**
 * laneLo, laneHi and laneZeros of bf16/f16 elements [0, n16) from the bit accumulators
 * (half-bits.ts); an extreme that is a zero of unsettled sign takes the sign the f32 lanes
 * give (halfZeroSigns), so the record stays the one of min/max in f32 lanes bit for bit.
 */
@inline export function foldHalfLanes(known: bool, ptr: usize, n16: i32, src: i32, first: f64): void {
  if (n16 == 0) {
    laneLo = first;
    laneHi = first;
    laneZeros = 0;
    return;
  }
  laneLo = bitsLo;
  laneHi = bitsHi;
  laneZeros = bitsZeros;
  if (!known) halfZeroSigns(ptr, n16, src, first);
}

/** Elements halfZeroSigns reads looking for each lane's earliest zero before it asks the f32 lanes. */
const ZERO_SCAN: i32 = 1024;

/**
 * The sign of a zero min or max over bf16/f16 elements [0, n16) (foldBits could not settle
 * it: both +0 and −0 occur and nothing lies below, or above, 0) as min/max in f32 lanes give
 * it. Lane j (elements ≡ j mod 4) starts at the first element and keeps the earliest of
 * equal values (pmin/pmax), and the folded lanes prefer −0 for the min and +0 for the max.
 * So a zero first element is the answer; otherwise each lane ends at its earliest zero, and
 * the min is −0 if any lane's is −0 (the max +0 if any lane's is +0). The first ZERO_SCAN
 * elements usually settle it; if not, the f32 lanes are run.
 */
function halfZeroSigns(ptr: usize, n16: i32, src: i32, first: f64): void {
  if (first == 0) {
    // (Also where both extremes are zeros: then every element is one.)
    if (laneLo == 0) laneLo = first;
    if (laneHi == 0) laneHi = first;
    return;
  }
  const forMin = laneLo == 0; // else the max is the unsettled zero (not both: first is not 0)
  let found = 0;
  const m = min(n16, ZERO_SCAN);
  for (let i = 0; i < m && found != 15; i++) {
    const h = <u32>load<u16>(ptr + (<usize>i << 1));
    const lane = 1 << (i & 3);
    if ((h & 0x7fff) != 0 || (found & lane) != 0) continue;
    found |= lane;
    // This lane's earliest zero: −0 decides the min, +0 the max.
    if (forMin && h != 0) { laneLo = -0.0; return; }
    if (!forMin && h == 0) { laneHi = 0.0; return; }
  }
  if (found == 15 || m == n16) {
    // Every lane's earliest zero is known (or the lane has none): none has the other sign.
    if (forMin) laneLo = 0.0;
    else laneHi = -0.0;
    return;
  }
  const c = f16ConstantsPtr();
  const mask = v128.load(c, F16_SCALED_MASK), scale = v128.load(c, F16_SCALED_SCALE);
  const lanes = src == SRC_BF16 ? SRC_BF16 : SRC_F16_SCALED;
  let mn = f32x4.splat(<f32>(lanes == SRC_BF16 ? first : first * F16_DOWN)), mx = mn;
  for (let i = 0; i < n16; i += 16) {
    const v0 = vecAt(ptr, i, 0, lanes, mask, scale), v1 = vecAt(ptr, i, 1, lanes, mask, scale);
    const v2 = vecAt(ptr, i + 8, 0, lanes, mask, scale), v3 = vecAt(ptr, i + 8, 1, lanes, mask, scale);
    mn = f32x4.pmin(mn, min4(v0, v1, v2, v3));
    mx = f32x4.pmax(mx, max4(v0, v1, v2, v3));
  }
  if (forMin) laneLo = <f64>minF32x4(mn);
  else laneHi = <f64>maxF32x4(mx);
}

/**
 * The end of the fast path: adds the scalar tail (`tail` elements at tailPtr) to the folded
 * lanes (lane*), and writes the record of n elements to `out`, or says why the caller must
 * take a slower path (non-finite values, or — on the first try, `retry` — cancellation that
 * needs the mean as pivot; the mean is left in cancelledMean). `sumSquares` is left Σ(x−p)².
 */
@inline export function statsFinish(tailPtr: usize, tail: i32, n: i32, src: i32, p: f64, retry: bool, out: usize): i32 {
  let lo = laneLo, hi = laneHi, zeros = laneZeros, S = laneS, Q = laneQ;
  for (let i = 0; i < tail; i++) {
    const x = scalarAt(tailPtr, i, src);
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    if (x == 0) zeros++;
    const dx = x - p;
    S += dx;
    Q += dx * dx;
  }
  sumSquares = Q;
  // Any NaN or infinity makes the sums non-finite.
  if (!isFinite(S) || !isFinite(Q)) return FAST_NONFINITE;
  // bf16/f16 extremes come decoded from their bits: a NaN or infinity shows there (f16's
  // scaled lanes keep their sums finite).
  if (src != SRC_F32 && (!isFinite(lo) || !isFinite(hi))) return FAST_NONFINITE;
  const fn = <f64>n;
  const m2 = Q - S * S / fn;
  if (retry && Q > CANCELLATION_LIMIT * m2) {
    cancelledMean = p + S / fn;
    return FAST_CANCELLED;
  }
  writeStats(out, fn, p + S / fn, max(m2, 0), lo, hi, 0, 0, 0, <f64>zeros);
  return FAST_DONE;
}

/** Σ(x−p)² of the last statsFinish (with p = 0: Σx², the comparison's Σa² of the fused kernel). */
export let sumSquares: f64 = 0;
/** The first pass's mean after FAST_CANCELLED. */
export let cancelledMean: f64 = 0;

/** Elements guessPivot looks at. */
const SAMPLE: i32 = 32;

/**
 * The pivot of a chunk's first pass: 0 (the fused kernel then shares Σx² with the
 * comparison's Σa²), unless the chunk's first SAMPLE elements already show the cancellation
 * that would send a pass around 0 to its re-run (|mean| ≫ std, a constant like a norm layer's
 * ones, u8-like data around 128): then their mean, and one pass usually does. Both the stats
 * kernels and the fused kernel take it, so their records stay equal bit for bit.
 */
export function guessPivot(ptr: usize, n: i32, src: i32): f64 {
  const m = min(n, SAMPLE);
  let S: f64 = 0;
  for (let i = 0; i < m; i++) S += scalarAt(ptr, i, src);
  const mean = S / <f64>m;
  if (mean == 0 || !isFinite(mean)) return 0;
  let Q: f64 = 0, D: f64 = 0;
  for (let i = 0; i < m; i++) {
    const x = scalarAt(ptr, i, src);
    const d = x - mean;
    Q += x * x;
    D += d * d;
  }
  return Q > CANCELLATION_LIMIT * D ? mean : 0;
}

/**
 * One pass: min, max and zero count in f32 lanes; sums in f64 around `pivot` (skipped for
 * pivot 0: x − 0 = x, also for −0). With `retry`, a pass whose Σ(x−p)² shows cancellation
 * returns FAST_CANCELLED (its mean left in cancelledMean) for a re-run around that mean.
 * Writes the record to `out` and returns FAST_DONE, or says why the caller must take a
 * slower path.
 */
@inline function fastStats(ptr: usize, n: i32, src: i32, pivot: f64, retry: bool, out: usize): i32 {
  const first = scalarAt(ptr, 0, src);
  if (!isFinite(first)) return FAST_NONFINITE;
  const n16 = n & ~15;
  if (pivot == 0) statsLanes<AtZero>(ptr, n16, src, first, 0);
  else statsLanes<Shifted>(ptr, n16, src, first, pivot);
  return statsFinish(ptr + (<usize>n16 << shiftOf(src)), n - n16, n, src, pivot, retry, out);
}

/**
 * The slow paths after fastStats returned `r`: cancellation re-runs the pass around the
 * first pass's mean (finite data, so it completes); non-finite values take the masking
 * path, bf16/f16 widened into `scratch` (4n bytes) first.
 */
export function statsSlow(ptr: usize, n: i32, src: i32, r: i32, out: usize, scratch: usize): void {
  if (r == FAST_CANCELLED) {
    if (src == SRC_F32) fastStats(ptr, n, SRC_F32, cancelledMean, false, out);
    else if (src == SRC_BF16) fastStats(ptr, n, SRC_BF16, cancelledMean, false, out);
    else fastStats(ptr, n, SRC_F16, cancelledMean, false, out);
  } else if (r == FAST_NONFINITE) statsMaskedF32(widened(ptr, n, src, scratch), n, out);
}

/** The statistics kernels' whole path from a pivot (guessPivot's): one pass, the re-run or masking if needed. */
export function statsFrom(ptr: usize, n: i32, src: i32, pivot: f64, out: usize, scratch: usize): void {
  let r: i32;
  if (src == SRC_F32) r = fastStats(ptr, n, SRC_F32, pivot, true, out);
  else if (src == SRC_BF16) r = fastStats(ptr, n, SRC_BF16, pivot, true, out);
  else r = fastStats(ptr, n, SRC_F16, pivot, true, out);
  if (r != FAST_DONE) statsSlow(ptr, n, src, r, out, scratch);
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
  const pivot = guessPivot(ptr, n, src);
  const r = fastStats(ptr, n, src, pivot, true, statsOut);
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
