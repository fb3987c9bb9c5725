/**
 * The per-row, histogram and matrix–vector ops through the Executor: against references
 * computed here from the raw stored values (exact BigInt sums, test/helpers/exact.ts), and
 * bit-identical (Object.is on every number) at 1 and 2 threads and chunk sizes that cut rows
 * anywhere (7, 64, 1000, default) — including f16/bf16 tensors, ranges split on row
 * boundaries, and a power iteration whose top singular value matches one computed in JS.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Executor, HIST_MAX_BINS, RANGE_BYTES, VEC_VALUES, splitRanges } from '../src/engine/executor.js';
import { Kernels } from '../src/engine/kernels.js';
import { describeModel } from '../src/formats/registry.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { expectClose } from './helpers/assert.js';
import { Rng, f32Bytes, f64Bytes, randomBytes } from './helpers/dtypes.js';
import { decompose, exactCompare, exactStats, ratio, sqrtRatio, type Exact } from './helpers/exact.js';
import { readSafetensorsValues, tempDir, type TensorSpec, writeSafetensors } from './helpers/files.js';

const tmp = tempDir('diffai-ops-');
afterAll(() => tmp.cleanup());

const CONFIGS = [1, 2].flatMap((threads) => [7, 64, 1000, undefined].map((chunkElements) => ({ threads, chunkElements })));

let file: string;
let tensors: Map<string, TensorDescriptor>;
let values: Map<string, number[]>;

const rng = new Rng(20261202);
const normals = (n: number, scale = 1, shift = 0) => Array.from({ length: n }, () => rng.normal() * scale + shift);

/** Orthonormal columns (Gram–Schmidt) for a matrix with a planted spectrum. */
function orthonormal(rows: number, count: number): number[][] {
  const out: number[][] = [];
  while (out.length < count) {
    const v = normals(rows);
    for (const u of out) {
      const d = v.reduce((s, x, i) => s + x * u[i]!, 0);
      for (let i = 0; i < rows; i++) v[i]! -= d * u[i]!;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    out.push(v.map((x) => x / norm));
  }
  return out;
}

/** W = Σ s_i u_i v_iᵀ, [m, n] row-major, top singular value 10 with a clear gap. */
function planted(m: number, n: number): number[] {
  const s = [10, 6, 3, 1, 0.5];
  const u = orthonormal(m, s.length),
    v = orthonormal(n, s.length);
  const w: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w.push(s.reduce((acc, si, t) => acc + si * u[t]![i]! * v[t]![j]!, 0));
  return w;
}

beforeAll(async () => {
  const a = normals(13 * 29, 2, 0.25);
  // Specials in a few rows, an all-zero row (with −0), and a row of only NaN.
  a[5] = NaN;
  a[31] = Infinity;
  a[60] = -Infinity;
  a[61] = 0;
  for (let j = 0; j < 29; j++) {
    a[4 * 29 + j] = j % 2 ? -0 : 0;
    a[7 * 29 + j] = NaN;
  }
  const b = a.map((x, i) => (i % 5 === 0 ? x + rng.normal() * 1e-3 : x));
  b[3 * 29 + 2] = NaN; // a mismatch
  const long = normals(5 * 300, 1, 3); // rows longer than small chunks
  const specs: TensorSpec[] = [
    { name: 'a', dtype: 'f32', shape: [13, 29], bytes: f32Bytes(a) },
    { name: 'b', dtype: 'f32', shape: [13, 29], bytes: f32Bytes(b) },
    { name: 'long', dtype: 'f64', shape: [5, 300], bytes: f64Bytes(long) },
    { name: 'long_b', dtype: 'f32', shape: [5, 300], bytes: f32Bytes(long.map((x, i) => x * (1 + (i % 3) * 1e-4))) },
    { name: 'cube', dtype: 'f32', shape: [6, 4, 5], bytes: f32Bytes(normals(120)) },
    { name: 'h', dtype: 'f16', shape: [9, 17], bytes: randomBytes('f16', 153, rng) },
    { name: 'bh', dtype: 'bf16', shape: [9, 17], bytes: randomBytes('bf16', 153, rng) },
    { name: 'w64', dtype: 'f64', shape: [24, 10], bytes: f64Bytes(planted(24, 10)) },
    { name: 'w32', dtype: 'f32', shape: [30, 3, 5], bytes: f32Bytes(planted(30, 15)) },
  ];
  file = writeSafetensors(tmp.path('ops.safetensors'), specs);
  tensors = new Map((await describeModel(file)).tensors.map((t) => [t.name, t]));
  values = new Map([...readSafetensorsValues(file)].map(([name, t]) => [name, t.values.map(Number)]));
});

/** Runs `task` under every configuration; every result must equal the first bit for bit. */
async function everywhere<T>(task: (e: Executor) => Promise<T>): Promise<T> {
  let first: T | undefined;
  for (const options of CONFIGS) {
    const executor = new Executor(options);
    try {
      const result = await task(executor);
      if (first === undefined) first = result;
      else expectSameBits(result, first, JSON.stringify(options));
    } finally {
      await executor.close();
    }
  }
  return first!;
}

function expectSameBits(got: unknown, want: unknown, label: string): void {
  const flat = (x: unknown): number[] =>
    typeof x === 'number'
      ? [x]
      : ArrayBuffer.isView(x)
        ? [...(x as Float64Array)]
        : Array.isArray(x)
          ? x.flatMap(flat)
          : x && typeof x === 'object'
            ? Object.keys(x)
                .sort()
                .flatMap((k) => flat((x as Record<string, unknown>)[k]))
            : [];
  const g = flat(got),
    w = flat(want);
  expect(g.length, label).toBe(w.length);
  g.forEach((v, i) => {
    if (!Object.is(v, w[i])) expect.fail(`${label}: value ${i} is ${v}, expected ${w[i]} bit for bit`);
  });
}

const rowsOf = (name: string, rows: number): number[][] => {
  const v = values.get(name)!;
  const len = v.length / rows;
  return Array.from({ length: rows }, (_, r) => v.slice(r * len, (r + 1) * len));
};
const t = (name: string) => tensors.get(name)!;

/** Σ x_i·y_i exactly, as [integer, exponent of 2]. */
function exactDot(x: number[], y: number[]): [bigint, number] {
  // Zeros decompose with exponent −1074: leaving them out keeps the scaled integers small.
  const terms = x
    .map((xi, i) => {
      const [ma, ea] = decompose(xi);
      const [mb, eb] = decompose(y[i]!);
      return [ma * mb, ea + eb] as [bigint, number];
    })
    .filter(([m]) => m !== 0n);
  const emin = Math.min(0, ...terms.map(([, e]) => e));
  return [terms.reduce((s, [m, e]) => s + (m << BigInt(e - emin)), 0n), emin];
}
const dotValue = (x: number[], y: number[]) => {
  const [m, e] = exactDot(x, y);
  return ratio(m, 1n, e);
};
const normValue = (x: number[], y = x) => {
  let [m, e] = exactDot(x, y);
  if (e % 2) {
    m <<= 1n;
    e -= 1;
  }
  return sqrtRatio(m, 1n, e / 2);
};
/** a − b exactly (an f64 holds the difference of two f32 values), then its norm. */
function diffNorm(a: number[], b: number[]): number {
  const d = a
    .map((x, i) => {
      const [ma, ea] = decompose(x);
      const [mb, eb] = decompose(b[i]!);
      const e = Math.min(ea, eb);
      return [(ma << BigInt(ea - e)) - (mb << BigInt(eb - e)), e] as [bigint, number];
    })
    .filter(([m]) => m !== 0n);
  const emin = Math.min(0, ...d.map(([, e]) => e));
  let s = d.reduce((acc, [m, e]) => acc + ((m * m) << BigInt(2 * (e - emin))), 0n);
  let e2 = 2 * emin;
  if (e2 % 2) {
    s <<= 1n;
    e2 -= 1;
  }
  return sqrtRatio(s, 1n, e2 / 2);
}

describe('rowStats', () => {
  for (const [name, rows] of [
    ['a', 13],
    ['long', 5],
    ['cube', 6],
    ['h', 9],
    ['bh', 9],
  ] as const) {
    it(`${name}: per-row statistics equal exact references, bit-identical at any chunk size and thread count`, async () => {
      const r = await everywhere((e) => e.rowStats(t(name)));
      expect(r.count.length).toBe(rows);
      rowsOf(name, rows).forEach((row, i) => {
        const ref = exactStats(row as Exact[]);
        const l = `${name} row ${i}`;
        expect([r.count[i], r.nan[i], r.posinf[i], r.neginf[i], r.zeros[i]], l).toEqual([ref.count, ref.nan, ref.posinf, ref.neginf, ref.zeros]);
        const nullable = (x: number) => (Number.isNaN(x) ? null : x);
        expect(nullable(r.min[i]!), l).toBe(ref.min);
        expect(nullable(r.max[i]!), l).toBe(ref.max);
        expectClose(nullable(r.mean[i]!), ref.mean, 1e-13, 1e-15 * ref.maxAbs, `${l} mean`);
        expectClose(nullable(r.std[i]!), ref.std, 1e-11, 1e-15 * ref.maxAbs, `${l} std`);
        expectClose(r.norm[i], ref.l2, 1e-13, 0, `${l} norm`);
      });
      if (name === 'a') {
        expect(r.zeros[4]).toBe(29);
        expect(r.nan[7]).toBe(29);
        expect(r.mean[7]).toBeNaN();
      }
    });
  }
});

describe('rowCompare', () => {
  for (const [na, nb, rows] of [
    ['a', 'b', 13],
    ['long', 'long_b', 5],
    ['h', 'bh', 9],
  ] as const) {
    it(`${na} vs ${nb}: per-row dot, norms, cosine, ‖a−b‖, relative change, max|a−b|`, async () => {
      const r = await everywhere((e) => e.rowCompare(t(na), t(nb)));
      const A = rowsOf(na, rows),
        B = rowsOf(nb, rows);
      for (let i = 0; i < rows; i++) {
        const both = A[i]!.map((x, j) => Number.isFinite(x) && Number.isFinite(B[i]![j]!));
        const a = A[i]!.filter((_, j) => both[j]),
          b = B[i]!.filter((_, j) => both[j]);
        const ref = exactCompare(A[i]! as Exact[], B[i]! as Exact[]);
        const l = `${na}/${nb} row ${i}`;
        expect(r.pairs[i], l).toBe(ref.pairs);
        expect(r.maxAbs[i], l).toBe(ref.maxAbs ?? 0);
        const scale = normValue(a) * normValue(b);
        expectClose(r.dot[i], dotValue(a, b), 1e-13, 1e-15 * scale, `${l} dot`);
        expectClose(r.normA[i], normValue(a), 1e-13, 0, `${l} ‖a‖`);
        expectClose(r.normB[i], normValue(b), 1e-13, 0, `${l} ‖b‖`);
        expectClose(r.diffNorm[i], diffNorm(a, b), 1e-12, 0, `${l} ‖a−b‖`);
        const nullable = (x: number) => (Number.isNaN(x) ? null : x);
        expectClose(nullable(r.cosine[i]!), ref.cosine, 1e-12, 1e-15, `${l} cosine`);
        expectClose(nullable(r.relChange[i]!), ref.pairs === 0 ? null : ref.relL2, 1e-12, 0, `${l} rel change`);
      }
      if (na === 'a') {
        expect(r.mismatched[3]).toBe(1);
        expect(r.normA[4]).toBe(0);
        expect(r.cosine[4]).toBeNaN();
        expect(r.relChange[4]).toBeNaN(); // ‖a‖ = 0 but b's row changed
        expect(r.diffNorm[4]).toBeGreaterThan(0);
        expect(r.pairs[7]).toBe(0);
      }
    });
  }

  it('refuses tensors with different rows, and complex tensors', async () => {
    const e = new Executor({ threads: 1 });
    try {
      await expect(e.rowCompare(t('a'), t('long'))).rejects.toThrow(/same rows/);
      await expect(e.rowStats({ ...t('a'), dtype: 'c64' })).rejects.toThrow(/complex/);
    } finally {
      await e.close();
    }
  });
});

describe('histogram', () => {
  /** The documented bin formula, evaluated here on the decoded values. */
  function reference(v: number[], lo: number, hi: number, bins: number) {
    const counts = new Array<number>(bins).fill(0);
    let underflow = 0,
      overflow = 0,
      nan = 0,
      posinf = 0,
      neginf = 0;
    for (const x of v) {
      if (Number.isNaN(x)) nan++;
      else if (x === Infinity) posinf++;
      else if (x === -Infinity) neginf++;
      else if (x < lo) underflow++;
      else if (x > hi) overflow++;
      else counts[Math.min(bins - 1, Math.floor((x - lo) * (bins / (hi - lo))))]!++;
    }
    return { counts, underflow, overflow, nan, posinf, neginf };
  }

  for (const [name, lo, hi, bins] of [
    ['a', -3, 3, 10],
    ['long', 0, 6, 1024],
    ['bh', -1, 1, 7],
    ['h', -100, 100, 1],
  ] as const) {
    it(`${name}: counts per bin over [${lo}, ${hi}] with ${bins} bins, under/overflow and non-finite counts`, async () => {
      const h = await everywhere((e) => e.histogram(t(name), { lo, hi, bins }));
      const ref = reference(values.get(name)!, lo, hi, bins);
      expect([...h.counts]).toEqual(ref.counts);
      expect([h.underflow, h.overflow, h.nan, h.posinf, h.neginf]).toEqual([ref.underflow, ref.overflow, ref.nan, ref.posinf, ref.neginf]);
      expect(h.counts.reduce((s, x) => s + x, 0) + h.underflow + h.overflow + h.nan + h.posinf + h.neginf).toBe(values.get(name)!.length);
    });
  }

  it('puts x = hi in the last bin and refuses bad parameters', async () => {
    const e = new Executor({ threads: 1 });
    try {
      const v = values.get('a')!.filter(Number.isFinite);
      const hi = Math.max(...v),
        lo = Math.min(...v);
      const h = await e.histogram(t('a'), { lo, hi, bins: 4 });
      expect(h.underflow + h.overflow).toBe(0);
      expect(h.counts.reduce((s, x) => s + x, 0)).toBe(v.length);
      await expect(e.histogram(t('a'), { lo: 1, hi: 1, bins: 4 })).rejects.toThrow(/lo < hi/);
      await expect(e.histogram(t('a'), { lo: 0, hi: 1, bins: 1025 })).rejects.toThrow(/bins/);
      await expect(e.histogram(t('a'), { lo: 0, hi: Infinity, bins: 4 })).rejects.toThrow(/finite/);
    } finally {
      await e.close();
    }
  });
});

describe('matvec and matvecT', () => {
  for (const [name, m, n, k] of [
    ['w64', 24, 10, 3],
    ['w32', 30, 15, 5],
    ['long', 5, 300, 1],
    ['h', 9, 17, 16],
    ['cube', 6, 20, 2],
  ] as const) {
    it(`${name} [${m}, ${n}] with k = ${k}: Y = W·X and Z = Wᵀ·Y equal exact sums`, async () => {
      const x = normals(n * k),
        y = normals(m * k);
      const Y = await everywhere((e) => e.matvec(t(name), x, k));
      const Z = await everywhere((e) => e.matvecT(t(name), y, k));
      const W = rowsOf(name, m);
      expect(Y.length).toBe(m * k);
      expect(Z.length).toBe(n * k);
      for (let i = 0; i < m; i++)
        for (let c = 0; c < k; c++) {
          const xs = Array.from({ length: n }, (_, j) => x[j * k + c]!);
          const scale = W[i]!.reduce((s, w, j) => s + Math.abs(w * xs[j]!), 0);
          expectClose(Y[i * k + c], dotValue(W[i]!, xs), 0, 1e-14 * scale, `Y[${i},${c}]`);
        }
      for (let j = 0; j < n; j++)
        for (let c = 0; c < k; c++) {
          const col = W.map((row) => row[j]!),
            ys = Array.from({ length: m }, (_, i) => y[i * k + c]!);
          const scale = col.reduce((s, w, i) => s + Math.abs(w * ys[i]!), 0);
          expectClose(Z[j * k + c], dotValue(col, ys), 0, 1e-14 * scale, `Z[${j},${c}]`);
        }
    });
  }

  it('power iteration with matvec/matvecT finds the top singular value computed in JS', async () => {
    for (const [name, m, n] of [
      ['w64', 24, 10],
      ['w32', 30, 15],
    ] as const) {
      const W = rowsOf(name, m);
      // Reference: power iteration on the stored values in plain JS float64.
      let v = Array.from({ length: n }, (_, j) => 1 + j / n);
      let sigmaRef = 0;
      for (let it = 0; it < 300; it++) {
        const u = W.map((row) => row.reduce((s, w, j) => s + w * v[j]!, 0));
        const z = Array.from({ length: n }, (_, j) => W.reduce((s, row, i) => s + row[j]! * u[i]!, 0));
        const norm = Math.sqrt(z.reduce((s, q) => s + q * q, 0));
        sigmaRef = Math.sqrt(norm / Math.sqrt(v.reduce((s, q) => s + q * q, 0)));
        v = z.map((q) => q / norm);
      }
      const sigma = await everywhere(async (e) => {
        let x = Float64Array.from({ length: n }, (_, j) => 1 + j / n);
        let s = 0;
        for (let it = 0; it < 300; it++) {
          const u = await e.matvec(t(name), x, 1);
          const z = await e.matvecT(t(name), u, 1);
          const norm = Math.hypot(...z);
          s = Math.sqrt(norm / Math.hypot(...x));
          x = z.map((q) => q / norm);
        }
        return s;
      });
      expectClose(sigma, sigmaRef, 1e-9, 0, `${name} σ₁`);
      // The planted spectrum's top value, up to the rounding of the stored matrix.
      expectClose(sigma, 10, name === 'w64' ? 1e-12 : 1e-5, 0, `${name} σ₁ vs 10`);
    }
  }, 120_000);

  it('a transposed view (read by gathering) multiplies in logical order', async () => {
    const w = t('w64'); // stored [24, 10]; the view is its transpose [10, 24]
    const view: TensorDescriptor = { ...w, shape: [10, 24], view: { offset: 0, strides: [1, 10] } };
    const W = rowsOf('w64', 24);
    const x = normals(24 * 2);
    const Y = await everywhere((e) => e.matvec(view, x, 2));
    const rows = await everywhere((e) => e.rowStats(view));
    for (let i = 0; i < 10; i++) {
      const col = W.map((row) => row[i]!);
      for (let c = 0; c < 2; c++) {
        const xs = Array.from({ length: 24 }, (_, j) => x[j * 2 + c]!);
        expectClose(Y[i * 2 + c], dotValue(col, xs), 0, 1e-14 * col.reduce((s, v, j) => s + Math.abs(v * xs[j]!), 0), `Yᵀ[${i},${c}]`);
      }
      expect(rows.max[i]).toBe(Math.max(...col));
      expectClose(rows.norm[i], normValue(col), 1e-13, 0, `column ${i} norm`);
    }
  });

  it('the host-side limits match the kernels', () => {
    const k = new Kernels();
    expect(HIST_MAX_BINS).toBe(k.k.histMaxBins());
    expect(VEC_VALUES).toBe(k.k.vecBytes() / 8);
  });

  it('refuses k outside 1..64, wrong block sizes, scalars and complex tensors', async () => {
    const e = new Executor({ threads: 1 });
    try {
      await expect(e.matvec(t('w64'), new Float64Array(10 * 65), 65)).rejects.toThrow(/k must be/);
      await expect(e.matvec(t('w64'), new Float64Array(9), 1)).rejects.toThrow(/n·k/);
      await expect(e.matvecT(t('w64'), new Float64Array(9), 1)).rejects.toThrow(/m·k/);
      await expect(e.matvec({ ...t('w64'), shape: [], numel: 1 }, [1], 1)).rejects.toThrow(/scalar/);
      await expect(e.matvec({ ...t('w64'), dtype: 'c128' }, new Float64Array(10), 1)).rejects.toThrow(/complex/);
      // A row too long for the vector block: refused before any reading.
      await expect(e.matvec({ ...t('w64'), shape: [1, 600_000], numel: 600_000 }, new Float64Array(600_000), 1)).rejects.toThrow(/exceeds/);
    } finally {
      await e.close();
    }
  });
});

describe('ranges on row boundaries', () => {
  it('splitRanges starts every range on a multiple of the alignment', () => {
    const ranges = splitRanges(10_000_007 * 3, 4, 3001);
    expect(ranges.length).toBeGreaterThan(1);
    for (const [first, end] of ranges.slice(0, -1)) {
      expect(first % 3001).toBe(0);
      expect(end % 3001).toBe(0);
    }
    expect(ranges[ranges.length - 1]![1]).toBe(10_000_007 * 3);
    // Rows longer than a range: one row per range.
    expect(splitRanges(4 * (RANGE_BYTES / 4 + 8), 4, RANGE_BYTES / 4 + 8)).toHaveLength(4);
  });

  it('a tensor of several ranges: rows, histogram, W·X and Wᵀ·Y identical at 1 and 2 threads', async () => {
    const rows = 1100,
      cols = 4001;
    const path = tmp.path('big.safetensors');
    // Values i·7 mod 13 − 6 (small integers: every sum is exact, so references are exact too).
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7) % 13) - 6;
    let header = JSON.stringify({ w: { dtype: 'F32', shape: [rows, cols], data_offsets: [0, data.byteLength] } });
    while (header.length % 8) header += ' ';
    const fd = openSync(path, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(header));
    writeSync(fd, new Uint8Array(data.buffer));
    closeSync(fd);
    expect(data.byteLength).toBeGreaterThan(RANGE_BYTES);
    const w = (await describeModel(path)).tensors[0]!;
    const x = Float64Array.from({ length: cols * 2 }, (_, i) => (i % 5) - 2);
    const yIn = Float64Array.from({ length: rows * 2 }, (_, i) => (i % 3) - 1);
    const results = [];
    for (const threads of [1, 2]) {
      const e = new Executor({ threads });
      try {
        results.push({
          stats: await e.rowStats(w),
          hist: await e.histogram(w, { lo: -6, hi: 6, bins: 12 }),
          y: await e.matvec(w, x, 2),
          z: await e.matvecT(w, yIn, 2),
        });
      } finally {
        await e.close();
      }
    }
    expectSameBits(results[1], results[0], 'threads 2 vs 1');
    const r = results[0]!;
    for (let i = 0; i < rows; i += 97) {
      const row = data.subarray(i * cols, (i + 1) * cols);
      expect(r.stats.count[i]).toBe(cols);
      // The sum is exact; the mean is taken around the row's first value (pivot + Σ(x − p)/n).
      expectClose(r.stats.mean[i], row.reduce((s, v) => s + v, 0) / cols, 1e-15, 1e-15, `mean row ${i}`);
      expect(r.stats.norm[i]).toBe(Math.sqrt(row.reduce((s, v) => s + v * v, 0)));
      expect(r.y[i * 2 + 1]).toBe(row.reduce((s, v, j) => s + v * x[j * 2 + 1]!, 0));
    }
    for (let j = 0; j < cols; j += 331)
      expect(r.z[j * 2]).toBe(Array.from({ length: rows }, (_, i) => data[i * cols + j]! * yIn[i * 2]!).reduce((s, v) => s + v, 0));
    expect(r.hist.counts.reduce((s, v) => s + v, 0)).toBe(rows * cols);
    expect(r.hist.counts[0]).toBe([...data].filter((v) => v === -6).length);
  }, 120_000);

  it('W·X with more rows than the vector block holds (rows moved out as it fills) equals exact sums, as does a row cut between chunks', async () => {
    // 9,000 rows × k = 64 is 576,000 values of Y, more than the 524,288 of the vector block.
    const rows = 9_000,
      cols = 6,
      k = 64;
    expect(rows * k).toBeGreaterThan(VEC_VALUES);
    const data = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 5) % 11) - 5);
    const path = writeSafetensors(tmp.path('tall.safetensors'), [{ name: 'w', dtype: 'f32', shape: [rows, cols], bytes: new Uint8Array(data.buffer) }]);
    const w = (await describeModel(path)).tensors[0]!;
    const x = Float64Array.from({ length: cols * k }, (_, i) => (i % 7) - 3);
    // Small integers: every sum is exact, so the reference is too. Chunks of 7 elements cut rows of 6.
    const y = await everywhere((e) => e.matvec(w, x, k));
    expect(y.length).toBe(rows * k);
    for (let i = 0; i < rows; i++)
      for (let c = 0; c < k; c++) {
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += data[i * cols + j]! * x[j * k + c]!;
        if (y[i * k + c] !== sum) expect(y[i * k + c], `Y[${i},${c}]`).toBe(sum);
      }
  }, 120_000);
});
