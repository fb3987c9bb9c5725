/**
 * The integer statistics kernels (assembly/int-stats.ts: stats_i8, stats_u8, stats_i16,
 * stats_u16) against references computed here with BigInt: Σx and Σx² exact, so the mean
 * must be Σx / n correctly rounded and M2 = (n·Σx² − (Σx)²) / n within two roundings, with
 * no cancellation whatever |mean| / std is. Data: random over the whole range, the range's
 * extremes repeated (the lanes' overflow limits at the largest chunk the engine makes),
 * |mean| ≫ std, every tail length, zeros. Then through the engine: chunk sizes and threads
 * give the same records, and a diff's per-side statistics equal inspect's bit for bit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Kernels } from '../src/engine/kernels.js';
import { Executor } from '../src/engine/executor.js';
import type { StatsPartial } from '../src/engine/partials.js';
import { Rng } from './helpers/dtypes.js';
import { writeTensors } from './helpers/engine.js';
import { tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-int-stats-');
afterAll(() => tmp.cleanup());

const k = new Kernels();

const TYPES = {
  i8: { array: Int8Array, lo: -128, hi: 127 },
  u8: { array: Uint8Array, lo: 0, hi: 255 },
  i16: { array: Int16Array, lo: -32768, hi: 32767 },
  u16: { array: Uint16Array, lo: 0, hi: 65535 },
} as const;
type IntType = keyof typeof TYPES;
const NAMES = Object.keys(TYPES) as IntType[];

interface Reference {
  mean: number;
  m2: number;
  min: number;
  max: number;
  zeros: number;
}

/** Exact sums in BigInt; mean and M2 each rounded once from exact integers (M2 twice: T, then / n). */
function reference(values: ArrayLike<number>): Reference {
  let s = 0n;
  let q = 0n;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    s += BigInt(x);
    q += BigInt(x) * BigInt(x);
    min = Math.min(min, x);
    max = Math.max(max, x);
    if (x === 0) zeros++;
  }
  const n = BigInt(values.length);
  return { mean: Number(s) / values.length, m2: Number(n * q - s * s) / values.length, min, max, zeros };
}

/** Runs the kernel on `values` (written into WASM memory) and checks its record against the reference. */
function check(dtype: IntType, values: number[], label: string): void {
  const { array } = TYPES[dtype];
  const n = values.length;
  new array(k.k.memory.buffer, k.rawA, n).set(values);
  k.k[`stats_${dtype}`](k.rawA, n);
  const r = k.statsOut;
  const ref = reference(values);
  const l = `${dtype} ${label} (n=${n})`;
  expect([r[0], r[3], r[4], r[5], r[6], r[7], r[8], r[9]], `${l}: count, min, max, nan, +inf, −inf, zeros, exp`).toEqual([
    n,
    ref.min,
    ref.max,
    0,
    0,
    0,
    ref.zeros,
    0,
  ]);
  expect(r[1], `${l}: mean is Σx / n correctly rounded`).toBe(ref.mean);
  // The kernel rounds n·Σ(x−c)² − (Σ(x−c))² once and divides once; the reference rounds the same exact integer once.
  expect(Math.abs(r[2]! - ref.m2), `${l}: M2 ${r[2]} vs exact ${ref.m2}`).toBeLessThanOrEqual(2 * Number.EPSILON * ref.m2);
}

function randomValues(dtype: IntType, n: number, rng: Rng): number[] {
  const { lo, hi } = TYPES[dtype];
  return Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));
}

describe('integer stats kernels: exact sums', () => {
  for (const dtype of NAMES) {
    const { lo, hi } = TYPES[dtype];

    it(`${dtype}: random over the whole range, every tail length 0–40 and odd block ends`, () => {
      const rng = new Rng(dtype.length * 7 + lo);
      for (let n = 1; n <= 40; n++) check(dtype, randomValues(dtype, n, rng), 'random');
      for (const n of [4096 * 8 - 1, 4096 * 16 + 17, 100_003]) check(dtype, randomValues(dtype, n, rng), 'random, block ends');
    });

    it(`${dtype}: extremes repeated at the largest chunk (every lane at its bound)`, () => {
      // The engine's chunks hold at most 2^19 elements (its scratch / 8); the kernel allows 2^20.
      for (const n of [1 << 19, 1 << 20]) {
        check(dtype, new Array<number>(n).fill(hi), 'all max');
        check(dtype, new Array<number>(n).fill(lo), 'all min');
        check(
          dtype,
          Array.from({ length: n }, (_, i) => (i % 2 ? lo : hi)),
          'min and max alternating',
        );
      }
    });

    it(`${dtype}: |mean| ≫ std keeps every digit of M2 (no cancellation, one pass)`, () => {
      for (const n of [3, 17, 1001, 1 << 19]) {
        check(
          dtype,
          Array.from({ length: n }, (_, i) => (i % 3 === 0 ? hi - 1 : hi)),
          'max and max − 1',
        );
        check(
          dtype,
          Array.from({ length: n }, (_, i) => (i === n - 1 ? lo + 1 : lo)),
          'one value off the minimum',
        );
      }
      // A constant away from zero has M2 exactly 0.
      check(dtype, new Array<number>(999).fill(hi - 3), 'constant');
    });

    it(`${dtype}: zeros counted among negatives and positives, in the SIMD part and the tail`, () => {
      const values = Array.from({ length: 77 }, (_, i) => (i % 4 === 0 ? 0 : i % 4 === 1 ? hi : i % 4 === 2 ? lo : 1));
      check(dtype, values, 'zeros mixed');
      check(dtype, new Array<number>(35).fill(0), 'all zero');
    });
  }
});

describe('integer stats through the engine', () => {
  const rng = new Rng(42);
  const bytesOf = (dtype: IntType, values: number[]) => {
    const a = TYPES[dtype].array.from(values);
    return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  };
  const fields = (p: StatsPartial) => [p.count, p.mean, p.m2, p.exp, p.min, p.max, p.nan, p.posinf, p.neginf, p.zeros];

  it('i16/u16 stored big-endian: the kernels read the bytes swapped in place, the same statistics', async () => {
    for (const dtype of ['i16', 'u16'] as const) {
      const values = randomValues(dtype, 10_007, rng);
      const little = bytesOf(dtype, values);
      const big = new Uint8Array(little.length);
      for (let i = 0; i < little.length; i += 2) {
        big[i] = little[i + 1]!;
        big[i + 1] = little[i]!;
      }
      const [dl, db] = writeTensors(tmp.path('endian'), [
        { dtype, bytes: little },
        { dtype, bytes: big },
      ]);
      const exec = new Executor({ threads: 1, chunkElements: 1000 });
      try {
        const a = await exec.stats(dl!);
        const b = await exec.stats({ ...db!, byteOrder: 'big' });
        expect(fields(b.stats), `${dtype} big-endian`).toEqual(fields(a.stats));
        const ref = reference(values);
        expect([a.stats.min, a.stats.max, a.stats.zeros]).toEqual([ref.min, ref.max, ref.zeros]);
        expect(a.stats.mean).toBeCloseTo(ref.mean, 9);
      } finally {
        await exec.close();
      }
    }
  });

  for (const dtype of NAMES) {
    it(`${dtype}: a diff's per-side statistics equal inspect's bit for bit; any thread count gives the same`, async () => {
      const { hi } = TYPES[dtype];
      // |mean| ≫ std on side A (would cancel in f64 sums around 0), random on side B; 300k elements: ranges and chunks.
      const n = 300_001;
      const a = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? hi - 2 : hi));
      const b = randomValues(dtype, n, rng);
      const [da, db] = writeTensors(tmp.path('pair'), [
        { dtype, bytes: bytesOf(dtype, a) },
        { dtype, bytes: bytesOf(dtype, b) },
      ]);
      const results: StatsPartial[][] = [];
      for (const threads of [1, 2]) {
        const exec = new Executor({ threads, chunkElements: 4099 }, Number.POSITIVE_INFINITY);
        try {
          const [sa, sb] = await Promise.all([exec.stats(da!), exec.stats(db!)]);
          const diff = await exec.compare(da!, db!, 0);
          expect(fields(diff.a.stats), `${dtype}: diff side A = inspect`).toEqual(fields(sa.stats));
          expect(fields(diff.b.stats), `${dtype}: diff side B = inspect`).toEqual(fields(sb.stats));
          results.push([sa.stats, sb.stats]);
        } finally {
          await exec.close();
        }
      }
      expect(results[1]!.map(fields), `${dtype}: 2 threads = 1 thread`).toEqual(results[0]!.map(fields));
      // Merged over chunks and ranges, still close to the exact values.
      const ra = reference(a);
      const sa = results[0]![0]!;
      expect(sa.mean, `${dtype} A mean`).toBeCloseTo(ra.mean, 9);
      expect(Math.abs(sa.m2 - ra.m2), `${dtype} A M2 ${sa.m2} vs ${ra.m2}`).toBeLessThanOrEqual(1e-12 * ra.m2);
      expect([sa.min, sa.max, sa.zeros]).toEqual([ra.min, ra.max, ra.zeros]);
    });
  }
});
