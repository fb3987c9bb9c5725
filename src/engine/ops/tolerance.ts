/**
 * Elements of B outside A's tolerance, |b − a| > atol + rtol·|a| (torch.testing.assert_close's
 * closeness, NaN never close, equal infinities close), with the largest absolute and relative
 * differences and the first logical index where each occurs. Counts add exactly and maxima
 * merge with the earlier index winning ties, so results do not depend on how ranges are cut.
 */
import type { EngineOp } from '../op.js';

export interface ToleranceResult {
  /** Elements outside the tolerance (non-finite mismatches included). */
  violations: number;
  /** Positions where a NaN or an infinity is not matched by the same value. */
  nonFinite: number;
  maxAbs: number;
  /** Logical index of the first element with |b − a| = maxAbs (−1: no finite pair differs). */
  maxAbsIndex: number;
  /** Largest |b − a| / |a| over a ≠ 0. */
  maxRel: number;
  maxRelIndex: number;
}

const empty = (): ToleranceResult => ({ violations: 0, nonFinite: 0, maxAbs: 0, maxAbsIndex: -1, maxRel: 0, maxRelIndex: -1 });

/** x then y (y later in the tensor): sums, and maxima where y wins only when strictly larger. */
function merge(x: ToleranceResult, y: ToleranceResult): ToleranceResult {
  const abs = y.maxAbs > x.maxAbs ? y : x;
  const rel = y.maxRel > x.maxRel ? y : x;
  return {
    violations: x.violations + y.violations,
    nonFinite: x.nonFinite + y.nonFinite,
    maxAbs: abs.maxAbs,
    maxAbsIndex: abs.maxAbsIndex,
    maxRel: rel.maxRel,
    maxRelIndex: rel.maxRelIndex,
  };
}

export const toleranceOp: EngineOp<{ atol: number; rtol: number }, ToleranceResult, ToleranceResult> = {
  sides: 2,
  split: 'ranges',
  empty,
  chunk(acc, c, { atol, rtol }) {
    const { k, n } = c;
    if (c.kind === 'f64') k.k.tolerance_f64(c.ptr(0), c.ptr(1), n, atol, rtol);
    else k.k.tolerance_f32(c.ptr(0), c.ptr(1), n, atol, rtol);
    const o = k.compareOut;
    const at = (i: number) => (i < 0 ? -1 : c.first + i);
    return merge(acc, { violations: o[0]!, maxAbs: o[1]!, maxAbsIndex: at(o[2]!), maxRel: o[3]!, maxRelIndex: at(o[4]!), nonFinite: o[5]! });
  },
  result: (acc) => acc,
  merge,
};
