// Reductions of SIMD lanes to one value, each in one fixed order (results stay bit-identical
// wherever they are used). Inlined, so a fold costs what it did written out.

/** Lane 0 + lane 1 of f64x2. */
@inline export function sumF64x2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Lane 0 + lane 1 of i64x2. */
@inline export function sumI64x2(v: v128): i64 {
  return i64x2.extract_lane(v, 0) + i64x2.extract_lane(v, 1);
}

/** Lanes 0 + 1 + 2 + 3 of i32x4, left to right. */
@inline export function sumI32x4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The smallest and the largest of the f32x4 lanes (pairs first: (0, 1) and (2, 3)). */
@inline export function minF32x4(v: v128): f32 {
  return min(min(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), min(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline export function maxF32x4(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// Lane swaps for folding a vector onto itself: after a swap of halves, then quarters, then
// pairs (then bytes), lane 0 holds the fold of every lane (the upper lanes repeat the lower).
@inline function swapHalves(v: v128): v128 { return i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7); }
@inline function swapQuarters(v: v128): v128 { return i8x16.shuffle(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3); }
@inline function swapShorts(v: v128): v128 { return i8x16.shuffle(v, v, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1); }
@inline function swapBytes(v: v128): v128 { return i8x16.shuffle(v, v, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0); }

/** Smallest of 16 unsigned bytes. */
@inline export function minU8(v: v128): i32 {
  let m = i8x16.min_u(v, swapHalves(v));
  m = i8x16.min_u(m, swapQuarters(m));
  m = i8x16.min_u(m, swapShorts(m));
  m = i8x16.min_u(m, swapBytes(m));
  return i8x16.extract_lane_u(m, 0);
}

/** Largest of 16 unsigned bytes. */
@inline export function maxU8(v: v128): i32 {
  let m = i8x16.max_u(v, swapHalves(v));
  m = i8x16.max_u(m, swapQuarters(m));
  m = i8x16.max_u(m, swapShorts(m));
  m = i8x16.max_u(m, swapBytes(m));
  return i8x16.extract_lane_u(m, 0);
}

/** Largest of 8 unsigned 16-bit lanes. */
@inline export function maxU16x8(v: v128): u32 {
  let m = i16x8.max_u(v, swapHalves(v));
  m = i16x8.max_u(m, swapQuarters(m));
  m = i16x8.max_u(m, swapShorts(m));
  return i16x8.extract_lane_u(m, 0);
}

/** Smallest of 8 signed 16-bit lanes. */
@inline export function minS16x8(v: v128): i32 {
  let m = i16x8.min_s(v, swapHalves(v));
  m = i16x8.min_s(m, swapQuarters(m));
  m = i16x8.min_s(m, swapShorts(m));
  return i16x8.extract_lane_s(m, 0);
}

/** Largest of 8 signed 16-bit lanes. */
@inline export function maxS16x8(v: v128): i32 {
  let m = i16x8.max_s(v, swapHalves(v));
  m = i16x8.max_s(m, swapQuarters(m));
  m = i16x8.max_s(m, swapShorts(m));
  return i16x8.extract_lane_s(m, 0);
}

/** Smallest of 8 unsigned 16-bit lanes. */
@inline export function minU16x8(v: v128): u32 {
  let m = i16x8.min_u(v, swapHalves(v));
  m = i16x8.min_u(m, swapQuarters(m));
  m = i16x8.min_u(m, swapShorts(m));
  return i16x8.extract_lane_u(m, 0);
}
