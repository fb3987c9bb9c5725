/**
 * Column jobs (src/engine/columns.ts): many small plain tensors handed to the engine as typed
 * arrays, results as fixed-width records. They must give, item for item and bit for bit,
 * what the one-tensor-at-a-time path gives, at any chunk size and thread count, whatever the
 * order of the items and of the two files; the numbers are checked against exact references.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  COMPARE_FIELDS,
  ColumnJobBuilder,
  STATS_FIELDS,
  dtypeCode,
  packCompare,
  packCompareRecord,
  packStats,
  packStatsRecord,
  unpackCompared,
} from '../src/engine/columns.js';
import { compareFromRecord, emptyCompare, emptyStats, mergeCompare, mergeStats, statsFromRecord } from '../src/engine/partials.js';
import { Executor } from '../src/engine/executor.js';
import { inspectFile } from '../src/library.js';
import { describeModel } from '../src/formats/registry.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { diffModels, planDiff, type TensorSource } from '../src/diff/differ.js';
import { TensorTable } from '../src/formats/table.js';
import { comparison, tensorStats } from '../src/diff/stats.js';
import { expectComparison, expectStats } from './helpers/assert.js';
import { type TestDType, Rng, SIZE, decode, randomBytes } from './helpers/dtypes.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { type TensorSpec, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });
const tmp = tempDir('diffai-columns-');
afterAll(() => tmp.cleanup());

// Not i64: its elements are computed as f64, which cannot tell apart random 64-bit integers a few units apart.
const DTYPES: TestDType[] = ['f32', 'bf16', 'f16', 'f64', 'i8', 'u8', 'i32'];

/** 3,000 small tensors (1–300 elements, mixed dtypes, some with NaN/±Inf), in file order. */
function tensorsA(rng: Rng): TensorSpec[] {
  return Array.from({ length: 3000 }, (_, i) => {
    const dtype = DTYPES[i % DTYPES.length]!;
    const n = 1 + rng.int(300);
    return { name: `layers.${i}.w`, dtype, shape: [n], bytes: randomBytes(dtype, n, rng, i % 13 === 0) };
  });
}

/** B: the same names in reverse file order, every 3rd tensor changed in one element, every 7th retyped f32 → f64 where A is f32. */
function tensorsB(a: TensorSpec[], rng: Rng): TensorSpec[] {
  return a
    .map((t, i) => {
      const dtype = t.dtype as TestDType;
      if (i % 7 === 0 && dtype === 'f32') {
        const values = decode(t.bytes, 'f32') as number[];
        return { ...t, dtype: 'f64', bytes: new Uint8Array(Float64Array.from(values).buffer) };
      }
      const bytes = Uint8Array.from(t.bytes);
      if (i % 3 === 0) bytes[rng.int(bytes.length / SIZE[dtype]) * SIZE[dtype]]! ^= 0x11;
      return { ...t, bytes };
    })
    .reverse();
}

describe('column jobs of many small tensors', () => {
  const rng = new Rng(31);
  const a = tensorsA(rng);
  const b = tensorsB(a, rng);
  const pathA = writeSafetensors(tmp.path('cols_a.safetensors'), a);
  const pathB = writeSafetensors(tmp.path('cols_b.safetensors'), b);
  const specB = new Map(b.map((t) => [t.name, t]));
  const values = (t: TensorSpec) => decode(t.bytes, t.dtype as TestDType);

  /** Every common pair as descriptors, in a shuffled order (the executor sorts items by file offset). */
  async function pairs(): Promise<Array<[TensorDescriptor, TensorDescriptor]>> {
    const [da, db] = [await describeModel(pathA), await describeModel(pathB)];
    const partner = new Map(db.tensors.map((t) => [t.name, t]));
    const out = da.tensors.map((t) => [t, partner.get(t.name)!] as [TensorDescriptor, TensorDescriptor]);
    const shuffle = new Rng(5);
    for (let i = out.length - 1; i > 0; i--) {
      const j = shuffle.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  function job(list: Array<[TensorDescriptor, TensorDescriptor]>, epsilon: number) {
    const builder = new ColumnJobBuilder('compare', [pathA, pathB], list.length, epsilon);
    for (const [ta, tb] of list) builder.push(ta.numel, dtypeCode(ta.dtype), ta.source.offset, dtypeCode(tb.dtype), tb.source.offset);
    return builder.take();
  }

  it('records equal the per-tensor compare bit for bit at chunk sizes 7, 64 and default, on 1 and 2 threads; exact references hold', async () => {
    const list = await pairs();
    for (const epsilon of [0, 0.5]) {
      // Reference run: one tensor at a time, default chunks, this thread.
      const single = new Executor({ threads: 1 });
      const expected = await Promise.all(list.map(([ta, tb]) => single.compare(ta, tb, epsilon)));
      await single.close();
      for (const [threads, chunkElements] of [
        [1, 7],
        [1, 64],
        [1, undefined],
        [2, 7],
        [2, undefined],
      ] as const) {
        const executor = new Executor({ threads, chunkElements }, Number.POSITIVE_INFINITY);
        try {
          const records = await executor.runColumns(job(list, epsilon));
          list.forEach(([ta], i) => {
            const r = unpackCompared(records, i);
            const e = expected[i]!;
            // The reference ran at the default chunk size; other sizes merge other partial sums, so
            // whole records are compared there only (the next test compares both paths at size 7).
            if (chunkElements === undefined) expect({ a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison }, ta.name).toStrictEqual(e);
            else expect(r.comparison.changed, ta.name).toBe(e.comparison.changed);
          });
        } finally {
          await executor.close();
        }
      }
      // Exact references for every pair (values decoded independently of the code under test).
      const executor = new Executor({ threads: 1 });
      const records = await executor.runColumns(job(list, epsilon));
      await executor.close();
      const specA = new Map(a.map((t) => [t.name, t]));
      list.forEach(([ta, tb], i) => {
        const [va, vb] = [values(specA.get(ta.name)!), values(specB.get(ta.name)!)];
        const r = unpackCompared(records, i);
        expectStats(tensorStats(ta, { stats: r.a }), exactStats(va), `${ta.name} a`);
        expectStats(tensorStats(tb, { stats: r.b }), exactStats(vb), `${ta.name} b`);
        expectComparison(comparison(r.comparison), exactCompare(va, vb, epsilon), ta.name);
      });
    }
  });

  it('runs chunk for chunk as the per-tensor path at any chunk size (same records at chunk size 7 from both paths)', async () => {
    const list = (await pairs()).slice(0, 400);
    const executor = new Executor({ threads: 1, chunkElements: 7 });
    try {
      const records = await executor.runColumns(job(list, 0));
      for (let i = 0; i < list.length; i++) {
        const r = unpackCompared(records, i);
        const e = await executor.compare(list[i]![0], list[i]![1], 0);
        expect({ a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison }, list[i]![0].name).toStrictEqual(e);
      }
    } finally {
      await executor.close();
    }
  });

  it('a diff through column jobs equals the diff through per-tensor jobs, and every reported number its exact reference', async () => {
    const [da, db] = [await describeModel(pathA), await describeModel(pathB)];
    const executor = new Executor({ threads: 1 });
    try {
      // A source without runColumns takes the per-tensor path (as partitioned runs do).
      const perTensor: TensorSource = {
        stats: (d) => executor.stats(d),
        compare: (x, y, e) => executor.compare(x, y, e),
        statsMany: (ds) => executor.statsMany(ds),
        compareMany: (ps, e) => executor.compareMany(ps, e),
      };
      const spy = vi.spyOn(executor, 'runColumns');
      const viaColumns = await diffModels(da, db, executor);
      expect(spy).toHaveBeenCalled();
      const viaTensors = await diffModels(da, db, perTensor);
      expect(viaColumns).toStrictEqual(viaTensors);
      const changed = viaColumns.filter((r) => r.kind === 'TensorStatsChanged');
      const retyped = viaColumns.filter((r) => r.kind === 'TensorDtypeChanged');
      const expectedChanged = a.filter((t) => exactCompare(values(t), values(specB.get(t.name)!)).changed > 0).map((t) => t.name);
      expect(changed.map((r) => r.name).sort()).toEqual(expectedChanged.sort());
      expect(retyped.map((r) => r.name).sort()).toEqual(
        a
          .filter((t, i) => i % 7 === 0 && t.dtype === 'f32')
          .map((t) => t.name)
          .sort(),
      );
      for (const r of changed) {
        if (r.kind !== 'TensorStatsChanged') continue;
        const [va, vb] = [values(a.find((t) => t.name === r.name)!), values(specB.get(r.name)!)];
        expectStats(r.a, exactStats(va), `${r.name} a`);
        expectStats(r.b, exactStats(vb), `${r.name} b`);
        expectComparison(r.comparison, exactCompare(va, vb), r.name);
      }
    } finally {
      await executor.close();
    }
  });
});

describe('inspect of many small tensors through column jobs', () => {
  const rng = new Rng(47);
  const specs = tensorsA(rng);
  const path = writeSafetensors(tmp.path('cols_inspect.safetensors'), specs);

  it('stats records (one-chunk tensors written straight from the kernel) equal the per-tensor statistics bit for bit, at chunk size 7 and the default', async () => {
    const model = await describeModel(path);
    for (const chunkElements of [7, undefined]) {
      const executor = new Executor({ threads: 1, chunkElements });
      try {
        const builder = new ColumnJobBuilder('stats', [path], model.tensors.length);
        for (const t of model.tensors) builder.push(t.numel, dtypeCode(t.dtype), t.source.offset);
        const records = await executor.runColumns(builder.take());
        for (let i = 0; i < model.tensors.length; i++) {
          const t = model.tensors[i]!;
          const expected = new Float64Array(STATS_FIELDS);
          packStats((await executor.stats(t)).stats, expected, 0);
          expect(Array.from(records.subarray(i * STATS_FIELDS, (i + 1) * STATS_FIELDS)), `${t.name} (${t.dtype}) chunk=${chunkElements}`).toStrictEqual(
            Array.from(expected),
          );
        }
      } finally {
        await executor.close();
      }
    }
  });

  it("each tensor's statistics equal its exact reference, at 1 and 2 threads, and column jobs did the reading", async () => {
    const spy = vi.spyOn(Executor.prototype, 'runColumns');
    try {
      for (const threads of [1, 2]) {
        spy.mockClear();
        const report = await inspectFile(path, { threads });
        expect(spy, `threads ${threads}`).toHaveBeenCalled();
        expect(report.tensors.length).toBe(specs.length);
        const byName = new Map(report.tensors.map((t) => [t.name, t]));
        for (const t of specs) expectStats(byName.get(t.name)!, exactStats(decode(t.bytes, t.dtype as TestDType)), `${t.name} (${threads} threads)`);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe('column-wise descriptors keep no column they can derive', () => {
  it('a TensorTable derives byte lengths from dtype and count, and keeps one that differs', () => {
    const t = new TensorTable('/x.safetensors');
    t.add('a', 'f32', [3], 3, 100, 12);
    t.add('b', 'bf16', [5], 5, 112, 10);
    t.add('odd', 'f32', [2], 2, 122, 9); // not numel × 4: kept as given
    expect([0, 1, 2].map((i) => [t.length(i), t.readBytes(i), t.descriptor(i).source])).toEqual([
      [12, 12, { kind: 'file', path: '/x.safetensors', offset: 100, length: 12 }],
      [10, 10, { kind: 'file', path: '/x.safetensors', offset: 112, length: 10 }],
      [9, 9, { kind: 'file', path: '/x.safetensors', offset: 122, length: 9 }],
    ]);
  });

  it('a plan with more steps than either side has tensors (all removed and added) holds every step', async () => {
    const mk = (prefix: string, n: number) =>
      writeSafetensors(
        tmp.path(`${prefix}.safetensors`),
        Array.from({ length: n }, (_, i) => ({ name: `${prefix}.${i}`, dtype: 'f32', shape: [1], bytes: new Uint8Array(4) })),
      );
    const [da, db] = [await describeModel(mk('left', 40)), await describeModel(mk('right', 30))];
    const plan = planDiff(da, db);
    expect(plan.length).toBe(70);
    const steps = plan.steps();
    expect(steps.filter((s) => s.kind === 'removed').map((s) => (s.kind === 'removed' ? s.a.name : ''))).toHaveLength(40);
    expect(new Set(steps.map((s) => (s.kind === 'added' ? s.b.name : s.kind === 'removed' ? s.a.name : '')))).toEqual(
      new Set([...Array.from({ length: 40 }, (_, i) => `left.${i}`), ...Array.from({ length: 30 }, (_, i) => `right.${i}`)]),
    );
  });
});

describe('one-chunk items write their records without accumulator objects', () => {
  it('packStatsRecord and packCompareRecord write what packing the merge into an empty accumulator writes (−0 sums, empty and non-finite records)', () => {
    const rng = new Rng(29);
    const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
    const values = [0, -0, 1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3];
    const counts = [0, 0, 1, 7];
    const same = (x: Float64Array, y: Float64Array) => x.every((v, i) => Object.is(v, y[i]));
    let negativeZeroSums = 0;
    for (let t = 0; t < 2000; t++) {
      // Kernel records (partials.ts order): stats count, mean, m2, min, max, nan, posinf, neginf, zeros, exp; compare pairs, maxAbs, sums ….
      const stats = Float64Array.from({ length: STATS_FIELDS }, (_, k) => ([0, 5, 6, 7, 8].includes(k) ? pick(counts) : pick(values)));
      const compare = Float64Array.from({ length: COMPARE_FIELDS }, (_, k) => ([0, 3, 8].includes(k) ? pick(counts) : pick(values)));
      if ([1, 2, 4, 5, 6, 7].some((k) => Object.is(compare[k], -0))) negativeZeroSums++;
      const [want, got] = [new Float64Array(2 * STATS_FIELDS + COMPARE_FIELDS), new Float64Array(2 * STATS_FIELDS + COMPARE_FIELDS)];
      packStats(mergeStats(emptyStats(), statsFromRecord(stats)), want, 3);
      packCompare(mergeCompare(emptyCompare(), compareFromRecord(compare)), want, 3 + STATS_FIELDS);
      packStatsRecord(stats, got, 3);
      packCompareRecord(compare, got, 3 + STATS_FIELDS);
      expect(same(got, want), JSON.stringify([[...stats], [...compare]].map((r) => r.map((v) => (Object.is(v, -0) ? '-0' : String(v)))))).toBe(true);
    }
    expect(negativeZeroSums).toBeGreaterThan(100);
  });
});
