/**
 * The pieces under --clustering-change and --embedding-analysis, each on its own: ARI and
 * NMI against scikit-learn's values on recorded labelings (fixtures/embedding/expected.json,
 * independent of k-means), k-means on separated blobs, seeded sampling, the eigendecomposition and
 * Procrustes against constructions with known answers, and the rowGather engine op against
 * the stored values at chunk sizes that cut rows anywhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustedRandIndex, kMeans, normalizedMutualInformation } from '../src/analysis/clusters.js';
import { mat, symmetricEigen } from '../src/analysis/linalg.js';
import { procrustes } from '../src/analysis/orthogonal.js';
import { sampleIndices } from '../src/analysis/sampling.js';
import { Executor } from '../src/engine/executor.js';
import { describeModel } from '../src/formats/registry.js';
import { expectClose } from './helpers/assert.js';
import { Rng, f32Bytes, f64Bytes } from './helpers/dtypes.js';
import { ROOT, readSafetensorsValues, tempDir, writeSafetensors } from './helpers/files.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const LABELS: Record<string, any> = JSON.parse(readFileSync(join(ROOT, 'fixtures/embedding/expected.json'), 'utf8')).clustering.labels;

describe('adjusted Rand index and NMI against scikit-learn', () => {
  for (const [name, rec] of Object.entries(LABELS)) {
    it(name, () => {
      expectClose(adjustedRandIndex(rec.a, rec.b), rec.ari, 0, 1e-12, `${name} ARI`);
      expectClose(normalizedMutualInformation(rec.a, rec.b), rec.nmi, 0, 1e-12, `${name} NMI`);
      // Both are symmetric in their arguments.
      expectClose(adjustedRandIndex(rec.b, rec.a), rec.ari, 0, 1e-12, `${name} ARI swapped`);
    });
  }
});

function blobs(rng: Rng, perBlob: number, d: number, centres: number): { x: Float64Array; truth: number[] } {
  const n = perBlob * centres;
  const x = new Float64Array(n * d);
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % centres;
    truth.push(c);
    for (let j = 0; j < d; j++) x[i * d + j] = (j === c % d ? 20 * (1 + Math.floor(c / d)) : 0) + rng.normal();
  }
  return { x, truth };
}

describe('k-means', () => {
  it('finds separated blobs exactly, the same way on every run', () => {
    const { x, truth } = blobs(new Rng(3), 40, 6, 5);
    const r = kMeans(x, truth.length, 6, 5, 12);
    expect(r.converged).toBe(true);
    expect(adjustedRandIndex(r.labels, truth)).toBe(1);
    expect([...kMeans(x, truth.length, 6, 5, 12).labels]).toEqual([...r.labels]);
    // Inertia: every point's squared distance to its blob's mean, computed here.
    let inertia = 0;
    for (let c = 0; c < 5; c++) {
      const members = truth.flatMap((t, i) => (t === c ? [i] : []));
      for (let j = 0; j < 6; j++) {
        const mean = members.reduce((s, i) => s + x[i * 6 + j]!, 0) / members.length;
        inertia += members.reduce((s, i) => s + (x[i * 6 + j]! - mean) ** 2, 0);
      }
    }
    expectClose(r.inertia, inertia, 1e-9, 0, 'inertia');
  });

  it('k equal to the number of distinct points puts each in its own cluster', () => {
    const x = Float64Array.from([0, 0, 0, 0, 5, 5, 5, 5, 9, 9]);
    const r = kMeans(x, 5, 2, 3, 1);
    expect(r.inertia).toBe(0);
    expect(new Set(r.labels).size).toBe(3);
    expect(r.labels[0]).toBe(r.labels[1]);
    expect(r.labels[2]).toBe(r.labels[3]);
  });
});

describe('seeded sampling', () => {
  it('distinct ascending indexes in range, the same for the same seed, all when the sample is as large', () => {
    const s = sampleIndices(1000, 100, 12);
    expect(s).toHaveLength(100);
    expect(new Set(s).size).toBe(100);
    expect(s.every((v, i) => v >= 0 && v < 1000 && (i === 0 || v > s[i - 1]!))).toBe(true);
    expect(sampleIndices(1000, 100, 12)).toEqual(s);
    expect(sampleIndices(1000, 100, 13)).not.toEqual(s);
    expect(sampleIndices(5, 10, 12)).toEqual([0, 1, 2, 3, 4]);
    // Uniform: every index is drawn about equally often over many seeds.
    const counts = new Array<number>(20).fill(0);
    for (let seed = 0; seed < 4000; seed++) for (const i of sampleIndices(20, 5, seed)) counts[i]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});

function randomOrthogonal(rng: Rng, d: number): Float64Array {
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const v = Array.from({ length: d }, () => rng.normal());
    for (let k = 0; k < i; k++) {
      const dot = v.reduce((s, x, j) => s + x * q[k * d + j]!, 0);
      for (let j = 0; j < d; j++) v[j]! -= dot * q[k * d + j]!;
    }
    const n = Math.hypot(...v);
    for (let j = 0; j < d; j++) q[i * d + j] = v[j]! / n;
  }
  return q;
}

function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) for (let j = 0; j < m; j++) out[i * m + j] += a[i * k + t]! * b[t * m + j]!;
  return out;
}

describe('symmetric eigendecomposition and orthogonal Procrustes', () => {
  it('S = Σ λⱼ vⱼvⱼᵀ with orthonormal vⱼ, also for a rank-deficient S', () => {
    const rng = new Rng(9);
    const d = 12;
    const g = Float64Array.from({ length: d * d }, () => rng.normal());
    const low = Float64Array.from({ length: d * 3 }, () => rng.normal());
    const transpose = (x: Float64Array, n: number, m: number) => {
      const t = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = x[i * m + j]!;
      return t;
    };
    for (const sym of [matmul(transpose(g, d, d), g, d, d, d), matmul(low, transpose(low, d, 3), d, 3, d)]) {
      const { values, vectors: v } = symmetricEigen(mat(d, d, sym));
      const vectors = v.data;
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++) {
          let x = 0,
            vv = 0;
          for (let k = 0; k < d; k++) {
            x += vectors[k * d + i]! * values[k]! * vectors[k * d + j]!;
            vv += vectors[i * d + k]! * vectors[j * d + k]!;
          }
          expectClose(x, sym[i * d + j]!, 0, 1e-11, `S[${i}][${j}]`);
          expectClose(vv, i === j ? 1 : 0, 0, 1e-12, `VVᵀ[${i}][${j}]`);
        }
    }
  });

  it('a rank-deficient M = U·diag(s)·Vᵀ: R is orthogonal and optimal (tr RᵀM = Σs)', () => {
    const rng = new Rng(5);
    const d = 10;
    const u = randomOrthogonal(rng, d);
    const v = randomOrthogonal(rng, d);
    const s = [5, 3, 2, 1, 0.5, 0, 0, 0, 0, 0];
    const m = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) m[i * d + j] += u[k * d + i]! * s[k]! * v[k * d + j]!;
    const { r, nuclear } = procrustes(m, d);
    expectClose(nuclear, 11.5, 1e-9, 0, 'nuclear norm');
    let trace = 0;
    for (let i = 0; i < d * d; i++) trace += r[i]! * m[i]!;
    expectClose(trace, 11.5, 1e-9, 0, 'tr(RᵀM)');
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let x = 0;
        for (let k = 0; k < d; k++) x += r[i * d + k]! * r[j * d + k]!;
        expectClose(x, i === j ? 1 : 0, 0, 1e-12, `RRᵀ[${i}][${j}]`);
      }
  });

  it('B = A·Q for an orthogonal Q: R = Q and the nuclear norm is ‖A‖²', () => {
    const rng = new Rng(4);
    const [n, d] = [50, 8];
    const a = Float64Array.from({ length: n * d }, () => rng.normal());
    const q = randomOrthogonal(rng, d);
    const b = matmul(a, q, n, d, d);
    const aT = new Float64Array(d * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) aT[j * n + i] = a[i * d + j]!;
    const { r, nuclear } = procrustes(matmul(aT, b, d, n, d), d);
    for (let i = 0; i < d * d; i++) expectClose(r[i], q[i]!, 0, 1e-12, `R[${i}]`);
    expectClose(
      nuclear,
      a.reduce((s, x) => s + x * x, 0),
      1e-12,
      0,
      'nuclear norm',
    );
  });
});

describe('rowGather engine op', () => {
  const tmp = tempDir('diffai-gather-');
  afterAll(() => tmp.cleanup());

  it('returns exactly the stored values of the chosen rows at any chunk size and thread count', async () => {
    const rng = new Rng(21);
    const w = Array.from({ length: 17 * 11 }, () => rng.normal());
    w[3 * 11 + 4] = Number.NaN;
    const file = writeSafetensors(tmp.path('g.safetensors'), [
      { name: 'w', dtype: 'f32', shape: [17, 11], bytes: f32Bytes(w) },
      { name: 'v', dtype: 'f64', shape: [6, 2, 3], bytes: f64Bytes(Array.from({ length: 36 }, (_, i) => i / 7)) },
    ]);
    const desc = new Map((await describeModel(file)).tensors.map((t) => [t.name, t]));
    const stored = readSafetensorsValues(file);
    for (const [name, rows, rowLength] of [
      ['w', [0, 3, 4, 12, 16], 11],
      ['v', [1, 5], 6],
    ] as const) {
      const want = rows.flatMap((r) =>
        stored
          .get(name)!
          .values.slice(r * rowLength, (r + 1) * rowLength)
          .map(Number),
      );
      for (const threads of [1, 2])
        for (const chunkElements of [5, 7, 64, undefined]) {
          const e = new Executor({ threads, chunkElements });
          try {
            const got = await e.run('rowGather', [desc.get(name)!], { rows: [...rows], rowLength });
            expect([...got], `${name} threads=${threads} chunk=${chunkElements}`).toEqual(want);
          } finally {
            await e.close();
          }
        }
    }
  });
});
