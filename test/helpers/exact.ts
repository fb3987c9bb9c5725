/**
 * Independent float64 references for the tests, computed in exact arithmetic with BigInt.
 *
 * Every finite float64 is m·2^e with integer m; all values of a tensor are scaled to the
 * smallest exponent present, so sums, sums of squares and products are exact integers.
 * Results (mean, population std with ddof 0, L2 norm, comparison numbers) are rounded to
 * float64 only at the end (to within an ulp or two: a 64-bit quotient is rounded once more).
 * Nothing here uses the code under test.
 */

/** An element value: a JS number (any float, including NaN/±Inf/−0) or an exact integer. */
export type Exact = number | bigint;

export interface RefStats {
  count: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  nan: number;
  posinf: number;
  neginf: number;
  zeros: number;
  l2: number;
  /** Largest |x| over finite elements (0 when none): scales absolute tolerance floors. */
  maxAbs: number;
}

export interface RefCompare {
  /** Positions where both values are finite. */
  pairs: number;
  maxAbs: number | null;
  meanAbs: number | null;
  /** As src/diff/stats.ts defines it: ‖b−a‖/‖a‖; 0 when both norms are 0; null when only ‖a‖ is 0. */
  relL2: number | null;
  /** Σab/(‖a‖‖b‖); null when either norm is 0. */
  cosine: number | null;
  /** Finite pairs with |a−b| > eps, plus positions whose non-finite values differ. */
  changed: number;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** Decomposes a finite double into [mantissa, exponent] with x = mantissa·2^exponent exactly. */
export function decompose(x: number): [bigint, number] {
  F64[0] = x;
  const bits = U64[0]!;
  const negative = bits >> 63n === 1n;
  const e = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (e === 0) {
    exp = -1074; // subnormal (or zero)
  } else {
    m |= 1n << 52n;
    exp = e - 1075;
  }
  return [negative ? -m : m, exp];
}

function isFiniteExact(v: Exact): boolean {
  return typeof v === 'bigint' || Number.isFinite(v);
}

/** Scales finite values to integers sharing the smallest exponent: x = X·2^emin. */
function toIntegers(values: Exact[]): { ints: bigint[]; emin: number } {
  const parts: Array<[bigint, number]> = values.map((v) => (typeof v === 'bigint' ? [v, 0] : decompose(v)));
  let emin = Infinity;
  for (const [m, e] of parts) if (m !== 0n && e < emin) emin = e;
  if (emin === Infinity) emin = 0;
  return { ints: parts.map(([m, e]) => m << BigInt(e - emin)), emin };
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : (x < 0n ? -x : x).toString(2).length;
}

/** x·2^e without overflow or underflow of the power itself. */
export function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/** num/den·2^exp2 rounded to float64 (den > 0). */
export function ratio(num: bigint, den: bigint, exp2 = 0): number {
  if (num === 0n) return 0;
  const negative = num < 0n;
  const n = negative ? -num : num;
  const k = Math.max(0, 66 + bitLength(den) - bitLength(n));
  const q = (n << BigInt(k)) / den;
  const r = ldexp(Number(q), exp2 - k);
  return negative ? -r : r;
}

export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new Error('isqrt of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt(num/den)·2^exp2 rounded to float64 (num ≥ 0, den > 0). */
export function sqrtRatio(num: bigint, den: bigint, exp2 = 0): number {
  if (num === 0n) return 0;
  // sqrt(num/den) = isqrt(num·4^k / den) / 2^k with enough bits in the root.
  const k = Math.max(0, Math.ceil((140 + bitLength(den) - bitLength(num)) / 2));
  const root = isqrt((num << BigInt(2 * k)) / den);
  return ldexp(Number(root), exp2 - k);
}

export function exactStats(values: Exact[]): RefStats {
  let nan = 0,
    posinf = 0,
    neginf = 0,
    zeros = 0;
  const finite: Exact[] = [];
  for (const v of values) {
    if (typeof v === 'number' && Number.isNaN(v)) nan++;
    else if (v === Infinity) posinf++;
    else if (v === -Infinity) neginf++;
    else {
      finite.push(v);
      if (v === 0 || v === 0n) zeros++;
    }
  }
  const count = finite.length;
  if (count === 0) {
    return { count, mean: null, std: null, min: null, max: null, nan, posinf, neginf, zeros, l2: 0, maxAbs: 0 };
  }
  const { ints, emin } = toIntegers(finite);
  let s = 0n,
    q = 0n;
  let lo = ints[0]!,
    hi = ints[0]!;
  for (const x of ints) {
    s += x;
    q += x * x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const n = BigInt(count);
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
  const maxAbsInt = -lo > hi ? -lo : hi;
  return {
    count,
    mean: ratio(s, n, emin),
    // Var = (nΣX² − (ΣX)²)/n² · 4^emin.
    std: sqrtRatio(n * q - s * s, n * n, emin),
    min: ratio(lo, 1n, emin),
    max: ratio(hi, 1n, emin),
    nan,
    posinf,
    neginf,
    zeros,
    l2: sqrtRatio(q, 1n, emin),
    maxAbs: ratio(maxAbsInt, 1n, emin),
  };
}

function sameNonFinite(a: number, b: number): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || a === b;
}

/** Element-wise comparison of a and b (same length) with threshold eps ≥ 0. */
export function exactCompare(a: Exact[], b: Exact[], eps = 0): RefCompare {
  if (a.length !== b.length) throw new Error('exactCompare: lengths differ');
  const fa: Exact[] = [];
  const fb: Exact[] = [];
  let changed = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!,
      y = b[i]!;
    if (isFiniteExact(x) && isFiniteExact(y)) {
      fa.push(x);
      fb.push(y);
    } else if (!sameNonFinite(Number(x), Number(y))) {
      changed++;
    }
  }
  const pairs = fa.length;
  const { ints, emin } = toIntegers([...fa, ...fb, eps]);
  const A = ints.slice(0, pairs);
  const B = ints.slice(pairs, 2 * pairs);
  const E = ints[2 * pairs]!;
  let maxAbs = 0n,
    sumAbs = 0n,
    sdd = 0n,
    sab = 0n,
    saa = 0n,
    sbb = 0n;
  for (let i = 0; i < pairs; i++) {
    const x = A[i]!,
      y = B[i]!;
    const d = y - x;
    const ad = d < 0n ? -d : d;
    if (ad > maxAbs) maxAbs = ad;
    if (ad > E) changed++;
    sumAbs += ad;
    sdd += d * d;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  let relL2: number | null;
  // Undefined when no position is finite on both sides; 0 when both are all zeros.
  if (pairs === 0) relL2 = null;
  else if (saa > 0n) relL2 = sqrtRatio(sdd, saa);
  else relL2 = sdd === 0n ? 0 : null;
  let cosine: number | null = null;
  if (saa > 0n && sbb > 0n) {
    // Σab / sqrt(Σa²Σb²) = sign · sqrt((Σab)² / (Σa²Σb²)).
    const c = sqrtRatio(sab * sab, saa * sbb);
    cosine = sab < 0n ? -c : c;
  }
  return {
    pairs,
    maxAbs: pairs > 0 ? ratio(maxAbs, 1n, emin) : null,
    meanAbs: pairs > 0 ? ratio(sumAbs, BigInt(pairs), emin) : null,
    relL2,
    cosine,
    changed,
  };
}
