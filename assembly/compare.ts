// Element-wise comparison of two same-length chunks. Writes to compareOut:
// [pairs, maxAbs, sumAbs, changed, sumSqDiff, sumAB, sumAA, sumBB, mismatched]
// where the sums are over positions where both values are finite ("pairs"); `changed`
// counts finite pairs with |a−b| > eps plus positions whose non-finite values differ
// (`mismatched`: NaN vs number, Inf vs anything else). NaN against NaN and equal
// infinities count as equal. Differences are taken in f64, so f32 inputs compare exactly.
// compare_f32 is the fused kernel without its statistics (fused.ts).

import { compareOut } from './layout';
import { SRC_F64, scalarAt } from './stats';
import { sumF64x2 as hsum, sumI64x2 } from './lanes';

@inline export function writeCompare(pairs: f64, maxAbs: f64, sumAbs: f64, changed: f64, sdd: f64, sab: f64, saa: f64, sbb: f64, mismatched: f64): void {
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

/**
 * The end of the SIMD kernels, given the folded lane sums: runs the scalar tail (`tail`
 * pairs at ta and tb, stored as srcA and srcB; `tailSquares` false when the caller's SAA and
 * SBB already hold the tail's squares) and writes the record of n pairs; false when any sum
 * is non-finite (a NaN or infinity somewhere), and the caller must re-run the chunk with the
 * masking kernel.
 */
@inline export function compareFinish(
  M: f64, C: f64, SABS: f64, SDD: f64, SAB: f64, SAA: f64, SBB: f64,
  ta: usize, srcA: i32, tb: usize, srcB: i32, tail: i32, n: i32, eps: f64, tailSquares: bool,
): bool {
  for (let i = 0; i < tail; i++) {
    const a = scalarAt(ta, i, srcA);
    const b = scalarAt(tb, i, srcB);
    const d = a - b, e = abs(d);
    M = e > M ? e : M;
    SABS += e;
    if (e > eps) C++;
    SDD += d * d; SAB += a * b;
    if (tailSquares) { SAA += a * a; SBB += b * b; }
  }
  if (!isFinite(SABS + SDD + SAB + SAA + SBB)) return false;
  writeCompare(<f64>n, M, SABS, C, SDD, SAB, SAA, SBB, 0);
  return true;
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
  const M = max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  const at = <usize>n2 << 3;
  const done = compareFinish(M, <f64>sumI64x2(cnt), hsum(sabs), hsum(sdd), hsum(sab), hsum(saa), hsum(sbb), pa + at, SRC_F64, pb + at, SRC_F64, n - n2, n, eps, true);
  if (!done) compareMasked<f64>(pa, pb, n, eps);
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
