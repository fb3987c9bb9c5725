// Element-wise comparison of two same-length chunks. Writes to compareOut:
// [pairs, maxAbs, sumAbs, changed, sumSqDiff, sumAB, sumAA, sumBB, mismatched]
// where the sums are over positions where both values are finite ("pairs"); `changed`
// counts finite pairs with |a−b| > eps plus positions whose non-finite values differ
// (`mismatched`: NaN vs number, Inf vs anything else). NaN against NaN and equal
// infinities count as equal. Differences are taken in f64, so f32 inputs compare exactly.

import { compareOut, compareAcc } from './layout';
import { sumF64x2 as hsum, sumI64x2 } from './lanes';

@inline function writeCompare(pairs: f64, maxAbs: f64, sumAbs: f64, changed: f64, sdd: f64, sab: f64, saa: f64, sbb: f64, mismatched: f64): void {
  const o = compareOut;
  store<f64>(o, pairs);
  store<f64>(o + 8, maxAbs);
  store<f64>(o + 16, sumAbs);
  store<f64>(o + 24, changed);
  store<f64>(o + 32, sdd);
  store<f64>(o + 40, sab);
  store<f64>(o + 48, saa);
  store<f64>(o + 56, sbb);
  store<f64>(o + 64, mismatched);
}

// The SIMD lane accumulators live in a 112-byte record (COMPARE_ACC_BYTES) between calls,
// so the fused kernel can run a chunk block by block with the arithmetic of one pass.
const ACC_MX: usize = 0;
const ACC_SABS: usize = 16;
const ACC_CNT: usize = 32;
const ACC_SDD: usize = 48;
const ACC_SAB: usize = 64;
const ACC_SAA: usize = 80;
const ACC_SBB: usize = 96;

export function compareAccInit(acc: usize): void {
  const z = f64x2.splat(0);
  for (let o: usize = 0; o < 112; o += 16) v128.store(acc + o, z);
}

/** Writes the lane accumulators back into the record (compareStepsF32 and compare_f64 end alike). */
@inline function storeCompareAcc(acc: usize, mx: v128, sabs: v128, cnt: v128, sdd: v128, sab: v128, saa: v128, sbb: v128): void {
  v128.store(acc, mx, ACC_MX);
  v128.store(acc, sabs, ACC_SABS);
  v128.store(acc, cnt, ACC_CNT);
  v128.store(acc, sdd, ACC_SDD);
  v128.store(acc, sab, ACC_SAB);
  v128.store(acc, saa, ACC_SAA);
  v128.store(acc, sbb, ACC_SBB);
}

/** Adds f32 pairs [0, n4) (n4 a multiple of 4) into the record. */
export function compareStepsF32(acc: usize, pa: usize, pb: usize, n4: i32, eps: f64): void {
  const E = f64x2.splat(eps);
  let mx = v128.load(acc, ACC_MX), sabs = v128.load(acc, ACC_SABS), sdd = v128.load(acc, ACC_SDD);
  let sab = v128.load(acc, ACC_SAB), saa = v128.load(acc, ACC_SAA), sbb = v128.load(acc, ACC_SBB);
  let cnt = v128.load(acc, ACC_CNT);
  for (let i = 0; i < n4; i += 4) {
    const va = v128.load(pa + (<usize>i << 2));
    const vb = v128.load(pb + (<usize>i << 2));
    const a0 = f64x2.promote_low_f32x4(va);
    const a1 = f64x2.promote_low_f32x4(i32x4.shuffle(va, va, 2, 3, 0, 1));
    const b0 = f64x2.promote_low_f32x4(vb);
    const b1 = f64x2.promote_low_f32x4(i32x4.shuffle(vb, vb, 2, 3, 0, 1));
    const d0 = f64x2.sub(a0, b0);
    const d1 = f64x2.sub(a1, b1);
    const e0 = f64x2.abs(d0);
    const e1 = f64x2.abs(d1);
    mx = f64x2.pmax(mx, f64x2.pmax(e0, e1));
    sabs = f64x2.add(sabs, f64x2.add(e0, e1));
    cnt = i64x2.sub(cnt, f64x2.gt(e0, E));
    cnt = i64x2.sub(cnt, f64x2.gt(e1, E));
    sdd = f64x2.add(sdd, f64x2.add(f64x2.mul(d0, d0), f64x2.mul(d1, d1)));
    sab = f64x2.add(sab, f64x2.add(f64x2.mul(a0, b0), f64x2.mul(a1, b1)));
    saa = f64x2.add(saa, f64x2.add(f64x2.mul(a0, a0), f64x2.mul(a1, a1)));
    sbb = f64x2.add(sbb, f64x2.add(f64x2.mul(b0, b0), f64x2.mul(b1, b1)));
  }
  storeCompareAcc(acc, mx, sabs, cnt, sdd, sab, saa, sbb);
}

/**
 * Shared end of the SIMD kernels: folds the lane accumulators, runs the scalar tail (`tail`
 * pairs at ta, tb) and writes the record of n pairs; false when any sum is non-finite (a NaN
 * or infinity somewhere), and the caller must re-run the chunk with the masking kernel.
 */
@inline function finish<T>(acc: usize, ta: usize, tb: usize, tail: i32, n: i32, eps: f64): bool {
  const mx = v128.load(acc, ACC_MX), cnt = v128.load(acc, ACC_CNT);
  let M = max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  let SABS = hsum(v128.load(acc, ACC_SABS)), SDD = hsum(v128.load(acc, ACC_SDD)), SAB = hsum(v128.load(acc, ACC_SAB));
  let SAA = hsum(v128.load(acc, ACC_SAA)), SBB = hsum(v128.load(acc, ACC_SBB));
  let C = <f64>sumI64x2(cnt);
  for (let i = 0; i < tail; i++) {
    const a = <f64>load<T>(ta + (<usize>i << alignof<T>()));
    const b = <f64>load<T>(tb + (<usize>i << alignof<T>()));
    const d = a - b, e = abs(d);
    M = e > M ? e : M;
    SABS += e;
    if (e > eps) C++;
    SDD += d * d; SAB += a * b; SAA += a * a; SBB += b * b;
  }
  if (!isFinite(SABS + SDD + SAB + SAA + SBB)) return false;
  writeCompare(<f64>n, M, SABS, C, SDD, SAB, SAA, SBB, 0);
  return true;
}

/** finish() over f32 tails (the fused kernel's last block). */
export function compareFinishF32(acc: usize, ta: usize, tb: usize, tail: i32, n: i32, eps: f64): bool {
  return finish<f32>(acc, ta, tb, tail, n, eps);
}

export function compare_f32(pa: usize, pb: usize, n: i32, eps: f64): void {
  const acc = compareAcc;
  compareAccInit(acc);
  const n4 = n & ~3;
  compareStepsF32(acc, pa, pb, n4, eps);
  const at = <usize>n4 << 2;
  if (!finish<f32>(acc, pa + at, pb + at, n - n4, n, eps)) compareMaskedF32(pa, pb, n, eps);
}

export function compare_f64(pa: usize, pb: usize, n: i32, eps: f64): void {
  const E = f64x2.splat(eps);
  let mx = f64x2.splat(0), sabs = f64x2.splat(0), sdd = f64x2.splat(0);
  let sab = f64x2.splat(0), saa = f64x2.splat(0), sbb = f64x2.splat(0);
  let cnt = i64x2.splat(0);
  let i = 0;
  const n2 = n & ~1;
  for (; i < n2; i += 2) {
    const a = v128.load(pa + (<usize>i << 3));
    const b = v128.load(pb + (<usize>i << 3));
    const d = f64x2.sub(a, b);
    const e = f64x2.abs(d);
    mx = f64x2.pmax(mx, e);
    sabs = f64x2.add(sabs, e);
    cnt = i64x2.sub(cnt, f64x2.gt(e, E));
    sdd = f64x2.add(sdd, f64x2.mul(d, d));
    sab = f64x2.add(sab, f64x2.mul(a, b));
    saa = f64x2.add(saa, f64x2.mul(a, a));
    sbb = f64x2.add(sbb, f64x2.mul(b, b));
  }
  const acc = compareAcc;
  storeCompareAcc(acc, mx, sabs, cnt, sdd, sab, saa, sbb);
  const at = <usize>n2 << 3;
  if (!finish<f64>(acc, pa + at, pb + at, n - n2, n, eps)) compareMasked<f64>(pa, pb, n, eps);
}

@inline function compareMasked<T>(pa: usize, pb: usize, n: i32, eps: f64): void {
  let pairs: f64 = 0, M: f64 = 0, SABS: f64 = 0, C: f64 = 0, SDD: f64 = 0;
  let SAB: f64 = 0, SAA: f64 = 0, SBB: f64 = 0, mismatched: f64 = 0;
  for (let i = 0; i < n; i++) {
    const a = <f64>load<T>(pa + (<usize>i << alignof<T>()));
    const b = <f64>load<T>(pb + (<usize>i << alignof<T>()));
    if (!isFinite(a) || !isFinite(b)) {
      const same = (isNaN(a) && isNaN(b)) || a == b;
      if (!same) { mismatched++; C++; }
      continue;
    }
    pairs++;
    const d = a - b, e = abs(d);
    M = e > M ? e : M;
    SABS += e;
    if (e > eps) C++;
    SDD += d * d; SAB += a * b; SAA += a * a; SBB += b * b;
  }
  writeCompare(pairs, M, SABS, C, SDD, SAB, SAA, SBB, mismatched);
}

/** The masking kernel over f32 pairs (chunks holding NaN/±Inf). */
export function compareMaskedF32(pa: usize, pb: usize, n: i32, eps: f64): void { compareMasked<f32>(pa, pb, n, eps); }
