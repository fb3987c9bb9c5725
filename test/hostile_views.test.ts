/**
 * Broadcast and overlapping views (issue 15, item 3): torch-written views that repeat a few
 * stored elements up to 10¹⁰ times (fixtures/generate_hostile.py, reference statistics from
 * the stored elements and their multiplicities, checked there against torch), and views
 * built here over 2⁴⁰ elements. Statistics must be exact; views too irregular to count are
 * refused with one line, never walked element by element.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffFiles, inspectFile } from '../src/library.js';
import { DiffaiError } from '../src/errors.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';
import { stateDictOf, torchZip, viewTensor } from './helpers/hostile_pickle.js';

requireBuild();
const fixture = (...parts: string[]) => join(ROOT, 'fixtures', ...parts);
const TMP = mkdtempSync(join(tmpdir(), 'diffai-hostile-views-'));
const write = (name: string, data: Buffer): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};

interface Ref {
  shape: number[];
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  zero_count: number;
  nan_count: number;
  l2_norm: number;
}
const REFERENCE = JSON.parse(readFileSync(fixture('hostile', 'reference.json'), 'utf8')) as Record<string, Record<string, Ref>>;

const close = (got: number | null, want: number, rel = 1e-12) => {
  expect(got).not.toBeNull();
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));
};

describe('torch-written broadcast and overlapping views', () => {
  for (const [file, tensors] of Object.entries(REFERENCE)) {
    it(`${file}: statistics equal the float64 reference over stored elements × multiplicities`, async () => {
      const report = await inspectFile(fixture('hostile', file), { threads: 1 });
      for (const [name, ref] of Object.entries(tensors)) {
        const t = report.tensors.find((x) => x.name === name)!;
        expect(t, name).toBeDefined();
        expect(t.shape).toEqual(ref.shape);
        expect(t.total_params).toBe(ref.count);
        close(t.mean, ref.mean);
        close(t.std, ref.std, 1e-9);
        close(t.l2_norm, ref.l2_norm, 1e-9);
        expect([t.min, t.max, t.zero_count, t.nan_count]).toEqual([ref.min, ref.max, ref.zero_count, ref.nan_count]);
      }
    });
  }

  it('the CLI inspects 10¹⁰ broadcast zeros (a 771-byte file) with exit 0', async () => {
    const r = await cli(['inspect', fixture('hostile', 'broadcast_zeros.pt'), '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout).tensors[0];
    expect([t.total_params, t.zero_count, t.mean, t.std]).toEqual([1e10, 1e10, 0, 0]);
  });

  it('two views broadcast the same way compare exactly, each stored pair counted 10⁹ times', async () => {
    const { results } = await diffFiles(fixture('hostile', 'broadcast_a.pt'), fixture('hostile', 'broadcast_b.pt'), { threads: 1 });
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r.kind).toBe('TensorStatsChanged');
    if (r.kind !== 'TensorStatsChanged') return;
    // Stored rows: a = [0.5, 1, -3], b = [0.5, 1.25, -3], each repeated 10⁹ times.
    const a = [0.5, 1, -3];
    const b = [0.5, 1.25, -3];
    const n = 1e9;
    const dot = a.reduce((s, x, i) => s + x * b[i]!, 0) * n;
    const na = Math.sqrt(a.reduce((s, x) => s + x * x, 0) * n);
    const nb = Math.sqrt(b.reduce((s, x) => s + x * x, 0) * n);
    expect(r.comparison.changed_elements).toBe(n);
    expect(r.comparison.max_abs_diff).toBe(0.25);
    close(r.comparison.mean_abs_diff, (0.25 * n) / (3 * n));
    close(r.comparison.cosine_similarity, dot / (na * nb));
    close(r.comparison.rel_l2_change, Math.sqrt(0.0625 * n) / na);
  });
});

describe('views built at test time', () => {
  /** A .pt of one view over a FloatStorage holding `values`. */
  const viewFile = (name: string, values: Float32Array, offset: number | bigint, shape: Array<number | bigint>, strides: Array<number | bigint>) =>
    write(name, torchZip(stateDictOf([['v', viewTensor('0', values.length, offset, shape, strides)]]), { '0': Buffer.from(values.buffer) }));

  it('2⁴⁰ overlapping windows over 2²¹ stored elements: exact, from the multiplicities', async () => {
    const N = 1 << 20;
    const values = new Float32Array(2 * N - 1);
    for (let i = 0; i < values.length; i++) values[i] = ((i * 37) % 101) - 50.5;
    const path = viewFile('windows.pt', values, 0, [N, N], [1, 1]);
    // Element i of the storage is named by min(i + 1, N, 2N − 1 − i) windows.
    let count = 0;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < values.length; i++) {
      const w = Math.min(i + 1, N, 2 * N - 1 - i);
      count += w;
      sum += w * values[i]!;
    }
    const mean = sum / count;
    for (let i = 0; i < values.length; i++) {
      const w = Math.min(i + 1, N, 2 * N - 1 - i);
      sq += w * (values[i]! - mean) ** 2;
    }
    const r = await inspectFile(path, { threads: 1 });
    const t = r.tensors[0]!;
    expect(t.total_params).toBe(2 ** 40);
    close(t.mean, mean, 1e-9);
    close(t.std, Math.sqrt(sq / count), 1e-9);
    expect([t.min, t.max]).toEqual([values.reduce((m, x) => Math.min(m, x)), values.reduce((m, x) => Math.max(m, x))]);
  });

  it('an overlapping view too wide to count but near the data in size is walked, exactly', async () => {
    const n = (1 << 22) + 1000; // span past the 4 Mi elements counted per element
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (i % 13) - 6.25;
    const path = viewFile('pairs.pt', values, 0, [n - 1, 2], [1, 1]);
    // Pairs (x[i], x[i+1]): the first and last stored elements once, every other one twice.
    let count = 0;
    let sum = 0;
    const w = (i: number) => (i === 0 || i === n - 1 ? 1 : 2);
    for (let i = 0; i < n; i++) {
      count += w(i);
      sum += w(i) * values[i]!;
    }
    const mean = sum / count;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += w(i) * (values[i]! - mean) ** 2;
    const t = (await inspectFile(path, { threads: 1 })).tensors[0]!;
    expect(t.total_params).toBe(count);
    close(t.mean, mean, 1e-12);
    close(t.std, Math.sqrt(sq / count), 1e-12);
  }, 60_000);

  it('an overlapping view over more storage than can be counted is refused with one line', async () => {
    const side = 1 << 17;
    const values = new Float32Array((side - 1) * 49 + 1);
    const path = viewFile('irregular.pt', values, 0, [side, side, side], [1, 16, 32]);
    expectTrouble(await cli(['inspect', path]), path, /tensor v: overlapping view .* names \d+ elements over \d+ stored ones/);
  });

  it('a broadcast compared with a differently broadcast view is refused, not walked 10¹⁰ times', async () => {
    const values = new Float32Array(100_000).fill(1);
    const a = viewFile('rows.pt', values, 0, [100_000, 100_000], [1, 0]);
    const b = viewFile('cols.pt', values, 0, [100_000, 100_000], [0, 1]);
    expectTrouble(await cli([a, b]), a, /tensor v: comparing it would walk its 10000000000 elements one by one/);
  });

  it('negative, overflowing and out-of-storage offsets and strides are refused with one line each', async () => {
    const values = new Float32Array(16);
    const cases: Array<[string, number | bigint, Array<number | bigint>, Array<number | bigint>]> = [
      ['negative-offset', -1, [4], [1]],
      ['offset-past-end', 16, [1], [1]],
      ['huge-offset', 2n ** 62n, [1], [1]],
      ['negative-stride', 15, [4], [-1]],
      ['overflowing-stride', 0, [2, 2], [2n ** 62n, 1]],
      ['reach-past-end', 0, [4, 4], [5, 1]],
      ['huge-shape', 0, [2n ** 40n, 2n ** 40n], [0, 0]],
      ['negative-dim', 0, [-4], [1]],
    ];
    const runs = await Promise.all(cases.map(([n, off, shape, strides]) => cli(['inspect', viewFile(`${n}.pt`, values, off, shape, strides)])));
    runs.forEach((r, i) => {
      expectTrouble(r, join(TMP, `${cases[i]![0]}.pt`));
    });
  });

  it('the library rejects them with DiffaiError too', async () => {
    const values = new Float32Array(4);
    const path = viewFile('lib-bad.pt', values, 0, [4, 4], [5, 1]);
    await expect(inspectFile(path)).rejects.toBeInstanceOf(DiffaiError);
  });
});
