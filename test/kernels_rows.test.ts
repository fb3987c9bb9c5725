/**
 * Per-row kernels (assembly/rows.ts) called directly on WASM memory, against exact float64
 * references (test/helpers/exact.ts) row by row, and fed in pieces of many sizes (rows cut
 * anywhere, rows longer than a piece) to require bit-identical records at any split.
 */
import { describe, expect, it } from 'vitest';
import { Kernels } from '../src/engine/kernels.js';
import { expectClose } from './helpers/assert.js';
import { Rng } from './helpers/dtypes.js';
import { decompose, exactCompare, isqrt, ldexp } from './helpers/exact.js';

const k = new Kernels();
const STATS_SLOTS = k.k.rowStatsSlots();
const PAIR_SLOTS = k.k.rowPairSlots();

type Kind = 'f32' | 'f64';

function put(kind: Kind, ptr: number, values: number[]): void {
  (kind === 'f32' ? new Float32Array(k.k.memory.buffer, ptr, values.length) : new Float64Array(k.k.memory.buffer, ptr, values.length)).set(values);
}

/**
 * Feeds `a` (and `b`) as rows of length `len` in calls of `piece` elements, the way a host
 * would: the unfinished last record is moved to the front before the next call. Returns
 * every row's final record.
 */
function feed(kind: Kind, len: number, piece: number, a: number[], b?: number[]): Float64Array[] {
  const slots = b ? PAIR_SLOTS : STATS_SLOTS;
  const bytes = slots * 8;
  const out = k.k.ptrRowsOut();
  const rows: Float64Array[] = [];
  for (let pos = 0; pos < a.length; ) {
    const n = Math.min(piece, a.length - pos);
    const row = Math.floor(pos / len),
      off = pos % len;
    put(kind, k.rawA, a.slice(pos, pos + n));
    if (b) put(kind, k.rawB, b.slice(pos, pos + n));
    const touched = b
      ? kind === 'f32'
        ? k.k.rows2_f32(k.rawA, k.rawB, n, len, off, out)
        : k.k.rows2_f64(k.rawA, k.rawB, n, len, off, out)
      : kind === 'f32'
        ? k.k.rows_f32(k.rawA, n, len, off, out)
        : k.k.rows_f64(k.rawA, n, len, off, out);
    expect(touched).toBe(Math.floor((pos + n - 1) / len) - row + 1);
    for (let t = 0; t < touched; t++) rows[row + t] = new Float64Array(k.k.memory.buffer.slice(out + t * bytes, out + (t + 1) * bytes));
    k.bytes.copyWithin(out, out + (touched - 1) * bytes, out + touched * bytes);
    pos += n;
  }
  return rows;
}

const bitLength = (x: bigint): number => (x === 0n ? 0 : (x < 0n ? -x : x).toString(2).length);

/** num/den·2^exp2 in float64 from ~66-bit quotients (also when num is thousands of bits long). */
function ratio(num: bigint, den: bigint, exp2: number): number {
  const neg = num < 0n,
    n = neg ? -num : num;
  const k = 66 + bitLength(den) - bitLength(n);
  const q = k >= 0 ? (n << BigInt(k)) / den : n / (den << BigInt(-k));
  return (neg ? -1 : 1) * ldexp(Number(q), exp2 - k);
}

function sqrtRatio(num: bigint, den: bigint, exp2: number): number {
  const k = Math.ceil((140 + bitLength(den) - bitLength(num)) / 2);
  const root = isqrt(k >= 0 ? (num << BigInt(2 * k)) / den : num / (den << BigInt(-2 * k)));
  return ldexp(Number(root), exp2 - k);
}

/** Exact row reference: counts, min/max, mean, population std and L2 over finite values. */
function exactRow(values: number[]) {
  const finite = values.filter(Number.isFinite);
  const parts = finite.map(decompose);
  let emin = Infinity;
  for (const [m, e] of parts) if (m !== 0n && e < emin) emin = e;
  if (emin === Infinity) emin = 0;
  let s = 0n,
    q = 0n;
  for (const [m, e] of parts) {
    const x = m << BigInt(e - emin);
    s += x;
    q += x * x;
  }
  const n = BigInt(finite.length);
  return {
    count: finite.length,
    nan: values.filter(Number.isNaN).length,
    posinf: values.filter((x) => x === Infinity).length,
    neginf: values.filter((x) => x === -Infinity).length,
    zeros: finite.filter((x) => x === 0).length,
    min: Math.min(...finite),
    max: Math.max(...finite),
    mean: finite.length ? (s === 0n ? 0 : ratio(s, n, emin)) : 0,
    std: finite.length && n * q - s * s > 0n ? sqrtRatio(n * q - s * s, n * n, emin) : 0,
    l2: q > 0n ? sqrtRatio(q, 1n, emin) : 0,
  };
}

function bits(records: Float64Array[]): bigint[][] {
  return records.map((r) => Array.from(new BigUint64Array(r.buffer)));
}

/** Rows with an offset mean, planted specials in some rows, −0 and subnormals. */
function matrix(kind: Kind, m: number, len: number, rng: Rng, specials: boolean): number[] {
  const planted = [NaN, Infinity, -Infinity, -0, 0, kind === 'f32' ? 1e-40 : 5e-324, kind === 'f32' ? -1e-45 : -1e-310];
  const v: number[] = [];
  for (let r = 0; r < m; r++) {
    const mean = r % 3 === 0 ? 1000 : r % 3 === 1 ? 0 : -3;
    const sd = r % 3 === 0 ? 1e-3 : 1;
    for (let j = 0; j < len; j++) v.push(specials && r % 2 === 1 && rng.int(4) === 0 ? planted[rng.int(planted.length)]! : mean + sd * rng.normal());
  }
  return kind === 'f32' ? v.map(Math.fround) : v;
}

const SHAPES: [number, number][] = [
  [7, 1],
  [5, 3],
  [6, 4],
  [4, 5],
  [5, 17],
  [3, 64],
  [4, 100],
  [3, 1001],
];
const PIECES = [1, 2, 3, 5, 64, 333, 4096];

describe('rows kernels: one tensor', () => {
  it('record sizes are the documented ones', () => expect([STATS_SLOTS, PAIR_SLOTS]).toEqual([36, 16]));

  for (const kind of ['f32', 'f64'] as const) {
    it(`${kind}: each row matches the exact reference`, () => {
      const rng = new Rng(kind === 'f32' ? 31 : 32);
      for (const [m, len] of SHAPES) {
        const data = matrix(kind, m, len, rng, true);
        const recs = feed(kind, len, m * len, data);
        for (let r = 0; r < m; r++) {
          const row = data.slice(r * len, (r + 1) * len);
          const ref = exactRow(row);
          const g = recs[r]!;
          const l = `${kind} [${m}, ${len}] row ${r}`;
          expect([g[0], g[5], g[6], g[7], g[8], g[10]], `${l}: counts`).toEqual([ref.count, ref.nan, ref.posinf, ref.neginf, ref.zeros, len]);
          if (ref.count === 0) continue;
          // Numerically equal (a row holding both zeros may report either sign).
          expect(g[3] === ref.min && g[4] === ref.max, `${l}: min/max ${g[3]}, ${g[4]} vs ${ref.min}, ${ref.max}`).toBe(true);
          expectClose(g[1], ref.mean, 1e-14, 1e-300, `${l}: mean`);
          expectClose(Math.sqrt(g[2]! / g[0]!), ref.std, 1e-12, 1e-300, `${l}: std`);
          expectClose(Math.sqrt(g[9]!), ref.l2, 1e-14, 1e-300, `${l}: l2`);
        }
      }
    });

    it(`${kind}: records are bit-identical at any piece size (rows longer than pieces too)`, () => {
      const rng = new Rng(kind === 'f32' ? 41 : 42);
      for (const [m, len] of SHAPES) {
        const data = matrix(kind, m, len, rng, true);
        const whole = bits(feed(kind, len, m * len, data));
        for (const piece of PIECES) expect(bits(feed(kind, len, piece, data)), `${kind} [${m}, ${len}] piece=${piece}`).toEqual(whole);
      }
    });
  }

  it('a row of only NaN/Inf has count 0, ±Inf min/max and zero sums', () => {
    const g = feed('f64', 5, 5, [NaN, Infinity, NaN, -Infinity, NaN])[0]!;
    expect(Array.from(g.slice(0, 11))).toEqual([0, 0, 0, Infinity, -Infinity, 3, 1, 1, 0, 0, 5]);
  });
});

describe('rows kernels: two tensors', () => {
  for (const kind of ['f32', 'f64'] as const) {
    it(`${kind}: each row matches the exact reference (max|a−b|, ‖b−a‖/‖a‖, cosine, mismatches)`, () => {
      const rng = new Rng(kind === 'f32' ? 51 : 52);
      for (const [m, len] of SHAPES) {
        const a = matrix(kind, m, len, rng, true);
        // A fine-tune: small moves, a few untouched, specials on either side.
        const b0 = a.map((x) => (rng.int(5) === 0 ? x : x + 1e-4 * rng.normal()));
        for (let i = 0; i < b0.length; i += 13) b0[i] = [NaN, Infinity, a[i]!][rng.int(3)]!;
        const b = kind === 'f32' ? b0.map(Math.fround) : b0;
        const recs = feed(kind, len, m * len, a, b);
        for (let r = 0; r < m; r++) {
          const ra = a.slice(r * len, (r + 1) * len),
            rb = b.slice(r * len, (r + 1) * len);
          const ref = exactCompare(ra, rb);
          const g = recs[r]!;
          const l = `${kind} [${m}, ${len}] row ${r}`;
          const mismatched = ra.filter((x, i) => {
            const y = rb[i]!;
            return !(Number.isFinite(x) && Number.isFinite(y)) && !((Number.isNaN(x) && Number.isNaN(y)) || x === y);
          }).length;
          expect([g[0], g[6], g[7]], `${l}: pairs, mismatched, fed`).toEqual([ref.pairs, mismatched, len]);
          if (ref.pairs === 0) continue;
          expectClose(g[1], ref.maxAbs, 1e-15, 0, `${l}: max|a−b|`);
          expectClose(g[4]! > 0 ? Math.sqrt(g[2]! / g[4]!) : 0, ref.relL2, 1e-10, 1e-300, `${l}: relative change`);
          if (ref.cosine !== null) expectClose(g[3]! / Math.sqrt(g[4]! * g[5]!), ref.cosine, 1e-14, 0, `${l}: cosine`);
        }
      }
    });

    it(`${kind}: records are bit-identical at any piece size`, () => {
      const rng = new Rng(kind === 'f32' ? 61 : 62);
      for (const [m, len] of SHAPES) {
        const a = matrix(kind, m, len, rng, true);
        const b = a.map((x, i) => (i % 11 === 0 ? NaN : kind === 'f32' ? Math.fround(x * 1.001) : x * 1.001));
        const whole = bits(feed(kind, len, m * len, a, b));
        for (const piece of PIECES) expect(bits(feed(kind, len, piece, a, b)), `${kind} [${m}, ${len}] piece=${piece}`).toEqual(whole);
      }
    });
  }
});
