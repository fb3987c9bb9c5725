// Fixed-bin histogram of a chunk over [lo, hi). Each call ADDS its counts into the f64 array
// at `out`, so chunks, tensors and workers merge by addition (zero `out` before the first):
//   out[0] underflow (finite x < lo)   out[1] overflow (finite x > hi)
//   out[2] NaN   out[3] +Inf   out[4] −Inf   out[5..8) spare (left untouched)
//   out[8 + b] count of bin b, b in 0..bins
// The bin of a finite lo ≤ x ≤ hi is min(bins − 1, floor((x − lo) · (bins / (hi − lo)))),
// evaluated in f64 (f32 inputs are promoted exactly), so x = hi lands in the last bin and a
// reference can reproduce every count. The caller guarantees lo < hi, both finite, hi − lo
// finite and 1 ≤ bins ≤ HIST_MAX_BINS.
//
// The bin index of in-range lanes is computed in SIMD; the scatter stays scalar, spread over
// four u32 sub-histograms (one per lane) so consecutive increments of one bin do not wait
// on each other. Lanes out of range (or NaN/Inf) fall back to the scalar classifier.

import { histWork, HIST_HEADER_SLOTS, HIST_MAX_BINS } from './layout';

let under: f64 = 0, over: f64 = 0, nans: f64 = 0, pinf: f64 = 0, ninf: f64 = 0;

/** The scalar path for one element; `sub` is the byte offset of its lane's sub-histogram. */
@inline function classify(x: f64, lo: f64, hi: f64, scale: f64, top: f64, sub: usize): void {
  if (x >= lo && x <= hi) {
    bump(sub, <i32>min((x - lo) * scale, top));
  } else if (isNaN(x)) nans++;
  else if (x == Infinity) pinf++;
  else if (x == -Infinity) ninf++;
  else if (x < lo) under++;
  else over++;
}

@inline function bump(sub: usize, bin: i32): void {
  const p = sub + (<usize>bin << 2);
  store<u32>(p, load<u32>(p) + 1);
}

@inline function begin(bins: i32): void {
  under = 0; over = 0; nans = 0; pinf = 0; ninf = 0;
  // Only the first `bins` entries of each sub-histogram are used: clear just those.
  const stride: usize = HIST_MAX_BINS << 2, used = <usize>bins << 2;
  for (let s = 0; s < 4; s++) memory.fill(histWork + <usize>s * stride, 0, used);
}

@inline function end(out: usize, bins: i32): void {
  store<f64>(out, load<f64>(out) + under);
  store<f64>(out + 8, load<f64>(out + 8) + over);
  store<f64>(out + 16, load<f64>(out + 16) + nans);
  store<f64>(out + 24, load<f64>(out + 24) + pinf);
  store<f64>(out + 32, load<f64>(out + 32) + ninf);
  const w = histWork, stride = HIST_MAX_BINS << 2;
  const o = out + (HIST_HEADER_SLOTS << 3);
  for (let b = 0; b < bins; b++) {
    const q = <usize>b << 2;
    const c = load<u32>(w + q) + load<u32>(w + stride + q) + load<u32>(w + 2 * stride + q) + load<u32>(w + 3 * stride + q);
    const p = o + (<usize>b << 3);
    store<f64>(p, load<f64>(p) + <f64>c);
  }
}

/** Bins one f64x2 pair of in-range-or-not values; `s0`/`s1` are the lanes' sub-histograms. */
@inline function pair(v: v128, LO: v128, HI: v128, S: v128, TOP: v128, lo: f64, hi: f64, scale: f64, top: f64, s0: usize, s1: usize): void {
  const inside = v128.and(f64x2.ge(v, LO), f64x2.lt(v, HI));
  if (i64x2.all_true(inside)) {
    const k = i32x4.trunc_sat_f64x2_s_zero(f64x2.pmin(f64x2.mul(f64x2.sub(v, LO), S), TOP));
    bump(s0, i32x4.extract_lane(k, 0));
    bump(s1, i32x4.extract_lane(k, 1));
  } else {
    classify(f64x2.extract_lane(v, 0), lo, hi, scale, top, s0);
    classify(f64x2.extract_lane(v, 1), lo, hi, scale, top, s1);
  }
}

/** The histogram of n elements of type T (f32 or f64) at ptr; the two exports below instantiate it. */
@inline function histogramOf<T>(ptr: usize, n: i32, lo: f64, hi: f64, bins: i32, out: usize): void {
  begin(bins);
  const scale = <f64>bins / (hi - lo), top = <f64>(bins - 1);
  const LO = f64x2.splat(lo), HI = f64x2.splat(hi), S = f64x2.splat(scale), TOP = f64x2.splat(top);
  const w = histWork, stride: usize = HIST_MAX_BINS << 2;
  let i = 0;
  const n4 = n & ~3;
  for (; i < n4; i += 4) {
    // four elements as two f64x2 pairs: f32 lanes promoted, f64 loaded as they are
    const p = ptr + (<usize>i << alignof<T>());
    const v = v128.load(p);
    pair(sizeof<T>() == 4 ? f64x2.promote_low_f32x4(v) : v, LO, HI, S, TOP, lo, hi, scale, top, w, w + stride);
    const v1 = sizeof<T>() == 4 ? f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)) : v128.load(p, 16);
    pair(v1, LO, HI, S, TOP, lo, hi, scale, top, w + 2 * stride, w + 3 * stride);
  }
  for (; i < n; i++) classify(<f64>load<T>(ptr + (<usize>i << alignof<T>())), lo, hi, scale, top, w);
  end(out, bins);
}

export function histogram_f32(ptr: usize, n: i32, lo: f64, hi: f64, bins: i32, out: usize): void {
  histogramOf<f32>(ptr, n, lo, hi, bins, out);
}

export function histogram_f64(ptr: usize, n: i32, lo: f64, hi: f64, bins: i32, out: usize): void {
  histogramOf<f64>(ptr, n, lo, hi, bins, out);
}
