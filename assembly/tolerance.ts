// Per-element tolerance check of two same-length chunks, as torch.testing.assert_close
// decides closeness: b is close to a when |b − a| ≤ atol + rtol·|a| (a the baseline), equal
// infinities are close, NaN is never close (equal_nan=False). Computed in f64. Writes to
// compareOut: [violations, maxAbs, maxAbsIndex, maxRel, maxRelIndex, nonFiniteMismatches];
// maxRel is |b − a|/|a| over a ≠ 0; the indexes are the first element (chunk-relative) that
// reaches the maximum, −1 when there is none. Counts are exact, so ranges merge exactly.

import { compareOut } from './layout';

@inline function check<T>(pa: usize, pb: usize, n: i32, atol: f64, rtol: f64): void {
  let bad: f64 = 0, nonFinite: f64 = 0;
  let maxAbs: f64 = 0, maxAbsAt: f64 = -1, maxRel: f64 = 0, maxRelAt: f64 = -1;
  for (let i = 0; i < n; i++) {
    const a = <f64>load<T>(pa + (<usize>i << alignof<T>()));
    const b = <f64>load<T>(pb + (<usize>i << alignof<T>()));
    if (!isFinite(a) || !isFinite(b)) {
      if (isNaN(a) || isNaN(b) || a != b) { bad++; nonFinite++; }
      continue;
    }
    const e = abs(b - a);
    if (e > atol + rtol * abs(a)) bad++;
    if (e > maxAbs) { maxAbs = e; maxAbsAt = <f64>i; }
    if (a != 0) {
      const r = e / abs(a);
      if (r > maxRel) { maxRel = r; maxRelAt = <f64>i; }
    }
  }
  const o = compareOut;
  store<f64>(o, bad);
  store<f64>(o + 8, maxAbs);
  store<f64>(o + 16, maxAbsAt);
  store<f64>(o + 24, maxRel);
  store<f64>(o + 32, maxRelAt);
  store<f64>(o + 40, nonFinite);
}

export function tolerance_f32(pa: usize, pb: usize, n: i32, atol: f64, rtol: f64): void { check<f32>(pa, pb, n, atol, rtol); }
export function tolerance_f64(pa: usize, pb: usize, n: i32, atol: f64, rtol: f64): void { check<f64>(pa, pb, n, atol, rtol); }
