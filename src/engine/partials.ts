/**
 * Mergeable partial results (Chan et al.): chunks, tensors split across workers and shards
 * all combine through these two merges, so results do not depend on how data was cut.
 */

export interface StatsPartial {
  /** Finite elements. */
  count: number;
  mean: number;
  /** Σ(x − mean)² over finite elements is m2 · 4^exp (exp ≠ 0 only for magnitudes whose squares leave the f64 range). */
  m2: number;
  exp: number;
  min: number;
  max: number;
  nan: number;
  posinf: number;
  neginf: number;
  zeros: number;
}

export function emptyStats(): StatsPartial {
  return { count: 0, mean: 0, m2: 0, exp: 0, min: Infinity, max: -Infinity, nan: 0, posinf: 0, neginf: 0, zeros: 0 };
}

/**
 * The kernels' stats record (assembly/stats.ts writeStats): where each field sits. The one
 * definition of that layout: statsFromRecord and columns.ts packStatsRecord both read it.
 */
export const STATS_RECORD: Readonly<Record<keyof StatsPartial, number>> = Object.freeze({
  count: 0,
  mean: 1,
  m2: 2,
  min: 3,
  max: 4,
  nan: 5,
  posinf: 6,
  neginf: 7,
  zeros: 8,
  exp: 9,
});

const R = STATS_RECORD;

export function statsFromRecord(r: Float64Array): StatsPartial {
  return {
    count: r[R.count]!,
    mean: r[R.mean]!,
    m2: r[R.m2]!,
    exp: r[R.exp]!,
    min: r[R.min]!,
    max: r[R.max]!,
    nan: r[R.nan]!,
    posinf: r[R.posinf]!,
    neginf: r[R.neginf]!,
    zeros: r[R.zeros]!,
  };
}

/** True when a kernel's stats record holds no element (mergeStats keeps the other side then). */
export function recordIsEmpty(r: Float64Array): boolean {
  return r[R.count] === 0 && r[R.nan] === 0 && r[R.posinf] === 0 && r[R.neginf] === 0;
}

/** True for an accumulator as emptyStats() makes it (merging into it yields the other side unchanged). */
function isEmptyStats(p: StatsPartial): boolean {
  return p.count === 0 && p.nan === 0 && p.posinf === 0 && p.neginf === 0 && p.zeros === 0 && p.exp === 0 && p.min === Infinity && p.max === -Infinity;
}

export function mergeStats(a: StatsPartial, b: StatsPartial): StatsPartial {
  if (b.count === 0 && b.nan === 0 && b.posinf === 0 && b.neginf === 0) return a;
  // What the general merge computes from an empty `a`, field for field (a million small tensors merge once each).
  if (isEmptyStats(a)) return b;
  const count = a.count + b.count;
  let mean = a.mean;
  let m2 = a.m2;
  let exp = a.exp;
  if (a.count === 0) {
    mean = b.mean;
    m2 = b.m2;
    exp = b.exp;
  } else if (b.count > 0) {
    const delta = b.mean - a.mean;
    mean = a.mean + (delta * b.count) / count;
    // Square-root magnitudes (log2) of the three terms; scale only when one is extreme.
    const half = (m2: number, e: number) => (m2 > 0 ? e + Math.log2(m2) / 2 : -Infinity);
    const top = Math.max(half(a.m2, a.exp), half(b.m2, b.exp), delta !== 0 ? Math.log2(Math.abs(delta)) : -Infinity);
    exp = Number.isFinite(top) && Math.abs(top) > 480 ? Math.floor(top) : 0;
    if (a.exp === 0 && b.exp === 0 && exp === 0) {
      m2 = a.m2 + b.m2 + (delta * delta * a.count * b.count) / count;
    } else {
      // Align every term to 4^exp (power-of-two scaling is exact until it underflows, where it no longer matters).
      const d = ldexp(delta, -exp);
      m2 = ldexp(a.m2, 2 * (a.exp - exp)) + ldexp(b.m2, 2 * (b.exp - exp)) + (d * d * a.count * b.count) / count;
    }
  }
  return {
    count,
    mean,
    m2,
    exp,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    nan: a.nan + b.nan,
    posinf: a.posinf + b.posinf,
    neginf: a.neginf + b.neginf,
    zeros: a.zeros + b.zeros,
  };
}

/** x · 2^k without overflow of the factor (2^k alone leaves the f64 range for |k| > 1023). */
export function ldexp(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= 2 ** -1000;
    k += 1000;
  }
  return x * 2 ** k;
}

/** Population standard deviation: sqrt(M2 / count). */
export function partialStd(p: StatsPartial): number {
  return ldexp(Math.sqrt(p.m2 / p.count), p.exp);
}

/** ‖x‖₂ over finite elements: sqrt(M2 + count · mean²), scaled so neither term over/underflows. */
export function partialL2(p: StatsPartial): number {
  if (p.count === 0) return 0;
  const s = Math.max(p.exp, p.mean === 0 ? -Infinity : Math.floor(Math.log2(Math.abs(p.mean))));
  const scale = Number.isFinite(s) && Math.abs(s) > 500 ? s : 0;
  const m = ldexp(p.mean, -scale);
  return ldexp(Math.sqrt(ldexp(p.m2, 2 * (p.exp - scale)) + p.count * m * m), scale);
}

export interface ComparePartial {
  /** Positions where both values are finite. */
  pairs: number;
  maxAbs: number;
  sumAbs: number;
  /** |a−b| > ε among pairs, plus non-finite mismatches. */
  changed: number;
  sumSqDiff: number;
  sumAB: number;
  sumAA: number;
  sumBB: number;
  /** Positions where the non-finite values differ (NaN vs number, Inf vs other). */
  mismatched: number;
}

/** Statistics of both tensors of a pair and their element-wise comparison (the compare op's result). */
export interface CompareResult {
  a: StatsPartial;
  b: StatsPartial;
  comparison: ComparePartial;
}

export function emptyCompare(): ComparePartial {
  return { pairs: 0, maxAbs: 0, sumAbs: 0, changed: 0, sumSqDiff: 0, sumAB: 0, sumAA: 0, sumBB: 0, mismatched: 0 };
}

export function compareFromRecord(r: Float64Array): ComparePartial {
  return { pairs: r[0]!, maxAbs: r[1]!, sumAbs: r[2]!, changed: r[3]!, sumSqDiff: r[4]!, sumAB: r[5]!, sumAA: r[6]!, sumBB: r[7]!, mismatched: r[8]! };
}

/** An accumulator as emptyCompare() makes it, merged with `b` whose sums are not −0 (0 + −0 is +0): `b` itself. */
function mergesToOther(a: ComparePartial, b: ComparePartial): boolean {
  const zero = (x: number) => x === 0 && !Object.is(x, -0);
  return (
    a.pairs === 0 &&
    zero(a.maxAbs) &&
    zero(a.sumAbs) &&
    a.changed === 0 &&
    zero(a.sumSqDiff) &&
    zero(a.sumAB) &&
    zero(a.sumAA) &&
    zero(a.sumBB) &&
    a.mismatched === 0 &&
    !Object.is(b.maxAbs, -0) &&
    !Object.is(b.sumAbs, -0) &&
    !Object.is(b.sumSqDiff, -0) &&
    !Object.is(b.sumAB, -0) &&
    !Object.is(b.sumAA, -0) &&
    !Object.is(b.sumBB, -0)
  );
}

export function mergeCompare(a: ComparePartial, b: ComparePartial): ComparePartial {
  if (mergesToOther(a, b)) return b;
  return {
    pairs: a.pairs + b.pairs,
    maxAbs: Math.max(a.maxAbs, b.maxAbs),
    sumAbs: a.sumAbs + b.sumAbs,
    changed: a.changed + b.changed,
    sumSqDiff: a.sumSqDiff + b.sumSqDiff,
    sumAB: a.sumAB + b.sumAB,
    sumAA: a.sumAA + b.sumAA,
    sumBB: a.sumBB + b.sumBB,
    mismatched: a.mismatched + b.mismatched,
  };
}
