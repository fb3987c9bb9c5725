/**
 * Tolerance checks against float64 references.
 *
 * The required accuracy is 1e-6 relative. Two quantities need an absolute floor, because a
 * relative test is meaningless when the reference is (nearly) 0:
 *  - mean: |got − ref| ≤ 1e-6·|ref| + 1e-9·max|x|. A mean near 0 (symmetric data) is the
 *    difference of large sums; float64 accumulation over n elements errs by about
 *    n·2^-53·max|x| (≈ 1e-11·max|x| for n = 10^5), so 1e-9·max|x| still rejects any real
 *    algorithmic error (e.g. lost or double-counted elements, a wrong pivot).
 *  - std and l2_norm: |got − ref| ≤ 1e-6·|ref| + 1e-15·max|x|: the floor is only rounding
 *    level, so |mean| ≫ std (1000 + N(0, 1e-3)) is still checked to 1e-6 relative.
 * min and max are selected elements and must be exact; counts must be exact.
 */
import { expect } from 'vitest';
import type { RefCompare, RefStats } from './exact.js';

export const REL = 1e-6;

export function expectClose(got: number | null | undefined, ref: number | null, rel: number, abs: number, label: string): void {
  if (ref === null) {
    expect(got, `${label}: expected null`).toBeNull();
    return;
  }
  expect(typeof got, `${label}: expected a number, got ${String(got)}`).toBe('number');
  const g = got as number;
  const tol = rel * Math.abs(ref) + abs;
  if (!(Math.abs(g - ref) <= tol)) {
    expect.fail(`${label}: got ${g}, reference ${ref} (|diff| ${Math.abs(g - ref)} > tolerance ${tol})`);
  }
}

/** The contract's view of stats (src/diff/types.ts TensorStats), as the tests read it. */
export interface StatsLike {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  nan_count: number | null;
  posinf_count: number | null;
  neginf_count: number | null;
  zero_count: number | null;
  l2_norm: number | null;
}

export function expectStats(got: StatsLike, ref: RefStats, label: string, rel = REL): void {
  expect({ nan: got.nan_count, posinf: got.posinf_count, neginf: got.neginf_count, zeros: got.zero_count }, `${label}: special counts`).toEqual({
    nan: ref.nan,
    posinf: ref.posinf,
    neginf: ref.neginf,
    zeros: ref.zeros,
  });
  expectClose(got.mean, ref.mean, rel, 1e-9 * ref.maxAbs, `${label}: mean`);
  expectClose(got.std, ref.std, rel, 1e-15 * ref.maxAbs, `${label}: std`);
  expectClose(got.l2_norm, ref.l2, rel, 1e-15 * ref.maxAbs, `${label}: l2_norm`);
  if (ref.min === null) expect(got.min, `${label}: min`).toBeNull();
  else expect(got.min === ref.min, `${label}: min ${got.min} should be exactly ${ref.min}`).toBe(true);
  if (ref.max === null) expect(got.max, `${label}: max`).toBeNull();
  else expect(got.max === ref.max, `${label}: max ${got.max} should be exactly ${ref.max}`).toBe(true);
}

/** The contract's comparison object (src/diff/types.ts Comparison). */
export interface ComparisonLike {
  max_abs_diff: number | null;
  mean_abs_diff: number | null;
  rel_l2_change: number | null;
  cosine_similarity: number | null;
  changed_elements: number;
}

/**
 * Comparison numbers: max |a−b| to 1e-15 relative (a − b of two f64 rounds once); mean |a−b| relative 1e-6 (floor 1e-15·max|a−b|, it is
 * ≥ 0); rel. L2 change relative 1e-6; cosine absolute 1e-9 (it is in [−1, 1], and a cosine
 * near 1 computed from float64 sums has an absolute error of ~1e-16 per term).
 */
export function expectComparison(got: ComparisonLike, ref: RefCompare, label: string): void {
  expect(got.changed_elements, `${label}: changed_elements`).toBe(ref.changed);
  expectClose(got.max_abs_diff, ref.maxAbs, 1e-15, 0, `${label}: max_abs_diff`);
  expectClose(got.mean_abs_diff, ref.meanAbs, REL, 1e-15 * (ref.maxAbs ?? 0), `${label}: mean_abs_diff`);
  expectClose(got.rel_l2_change, ref.relL2, REL, 0, `${label}: rel_l2_change`);
  expectClose(got.cosine_similarity, ref.cosine, 0, 1e-9, `${label}: cosine_similarity`);
}
