/**
 * Column-job batches (src/engine/column-batch.ts, assembly/batch.ts): small tensors read
 * together (one positional read per side for a run of neighbours) and computed many per
 * kernel call must give, record for record and bit for bit, what each tensor gives alone
 * through the streaming path: for every dtype a batch handles, mixed pairs (an f64 side,
 * integer statistics on one side), empty tensors, zeros of both signs, NaN/±Inf, runs longer
 * than one batch, and runs where batched and per-item tensors alternate (small chunk sizes).
 * Every number is also checked against exact float64 sums computed here.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ColumnBatch } from '../src/engine/column-batch.js';
import { ColumnJobBuilder, STATS_FIELDS, dtypeCode, packCompare, packStats, recordWidth, unpackCompared, unpackStats } from '../src/engine/columns.js';
import { Executor } from '../src/engine/executor.js';
import { describeModel } from '../src/formats/registry.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { comparison, tensorStats } from '../src/diff/stats.js';
import { expectComparison, expectStats } from './helpers/assert.js';
import { ALL_DTYPES, type TestDType, Rng, SIZE, decode, randomBytes } from './helpers/dtypes.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { type TensorSpec, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });
const tmp = tempDir('diffai-column-batch-');
afterAll(() => tmp.cleanup());

/** Pairs of dtypes (A, B): every dtype against itself, and mixed pairs of each kind of batch. */
const PAIRS: Array<[TestDType, TestDType]> = [
  ...ALL_DTYPES.map((d) => [d, d] as [TestDType, TestDType]),
  ['f32', 'bf16'], // fused kernel, bf16 read as stored
  ['f16', 'f32'],
  ['f32', 'f64'], // f64 kind: f32 widened to f64
  ['u8', 'i32'], // f64 kind, u8's own integer statistics
  ['i16', 'u16'], // f32 kind, both sides' own statistics
  ['bf16', 'i8'],
  ['bool', 'f8_e4m3'],
];

/** Elements of tensor i: mostly 1–80, sometimes 0 (empty), sometimes more than a small chunk. */
function elements(i: number, rng: Rng): number {
  if (i % 53 === 0) return 0;
  return i % 31 === 0 ? 200 + rng.int(100) : 1 + rng.int(80);
}

/** Zeros of both signs (sums that may come out as −0), for a float dtype. */
function signedZeros(dtype: TestDType, n: number, negative: boolean): Uint8Array {
  const bytes = new Uint8Array(n * SIZE[dtype]);
  if (!negative) return bytes;
  // The sign bit is the top bit of the last (little-endian) byte of each element.
  for (let e = 0; e < n; e++) bytes[(e + 1) * SIZE[dtype] - 1] = 0x80;
  return bytes;
}

const FLOAT = new Set<TestDType>(['f64', 'f32', 'f16', 'bf16']);

/**
 * A pair of files: a run of 1,100 f32 pairs first (longer than one batch), then the pairs of
 * PAIRS in turn, so neighbours change dtypes; B holds the same names in the same order with
 * every other tensor changed.
 */
function makePair(rng: Rng): { a: TensorSpec[]; b: TensorSpec[] } {
  const a: TensorSpec[] = [];
  const b: TensorSpec[] = [];
  const push = (i: number, da: TestDType, db: TestDType) => {
    const n = elements(i, rng);
    const name = `t.${i}`;
    let bytesA = randomBytes(da, n, rng, i % 11 === 0);
    let bytesB = da === db && i % 2 === 0 ? Uint8Array.from(bytesA) : randomBytes(db, n, rng, i % 13 === 0);
    if (i % 17 === 0 && FLOAT.has(da) && FLOAT.has(db)) {
      bytesA = signedZeros(da, n, true);
      bytesB = signedZeros(db, n, i % 34 === 0);
    }
    a.push({ name, dtype: da, shape: [n], bytes: bytesA });
    b.push({ name, dtype: db, shape: [n], bytes: bytesB });
  };
  let i = 0;
  for (; i < 1100; i++) push(i, 'f32', 'f32');
  for (let round = 0; round < 12; round++) for (const [da, db] of PAIRS) push(i++, da, db);
  return { a, b };
}

describe('column-job batches', () => {
  const rng = new Rng(2026);
  const { a, b } = makePair(rng);
  const pathA = writeSafetensors(tmp.path('batch_a.safetensors'), a);
  const pathB = writeSafetensors(tmp.path('batch_b.safetensors'), b);
  const values = (t: TensorSpec) => decode(t.bytes, t.dtype as TestDType);

  async function descriptors(): Promise<Array<[TensorDescriptor, TensorDescriptor]>> {
    const [da, db] = [await describeModel(pathA), await describeModel(pathB)];
    return da.tensors.map((t, i) => [t, db.tensors[i]!] as [TensorDescriptor, TensorDescriptor]);
  }

  it('compare records equal the per-tensor path bit for bit (ε 0 and 0.25; default and small chunks) and the batches did the work', async () => {
    const list = await descriptors();
    const added = vi.spyOn(ColumnBatch.prototype, 'add');
    try {
      for (const epsilon of [0, 0.25]) {
        for (const chunkElements of [undefined, 48]) {
          const executor = new Executor({ threads: 1, chunkElements });
          try {
            const builder = new ColumnJobBuilder('compare', [pathA, pathB], list.length, epsilon);
            for (const [ta, tb] of list) builder.push(ta.numel, dtypeCode(ta.dtype), ta.source.offset, dtypeCode(tb.dtype), tb.source.offset);
            added.mockClear();
            const records = await executor.runColumns(builder.take());
            // Every non-empty tensor within one chunk went through a batch.
            const batched = list.filter(([t]) => t.numel > 0 && t.numel <= (chunkElements ?? Number.POSITIVE_INFINITY)).length;
            expect(added).toHaveBeenCalledTimes(batched);
            const width = recordWidth('compare');
            for (let i = 0; i < list.length; i++) {
              const [ta, tb] = list[i]!;
              const alone = await executor.compare(ta, tb, epsilon);
              const expected = new Float64Array(width);
              packStats(alone.a.stats, expected, 0);
              packStats(alone.b.stats, expected, STATS_FIELDS);
              packCompare(alone.comparison, expected, 2 * STATS_FIELDS);
              expect(
                Array.from(records.subarray(i * width, (i + 1) * width)),
                `${ta.name} ${ta.dtype}/${tb.dtype} ε=${epsilon} chunk=${chunkElements}`,
              ).toStrictEqual(Array.from(expected));
            }
            if (chunkElements !== undefined) continue;
            // Exact references, decoded here independently of src/.
            for (let i = 0; i < list.length; i++) {
              const [ta, tb] = list[i]!;
              const [va, vb] = [values(a[i]!), values(b[i]!)];
              const r = unpackCompared(records, i);
              const label = `${ta.name} ${ta.dtype}/${tb.dtype}`;
              expectStats(tensorStats(ta, { stats: r.a }), exactStats(va), `${label} a`);
              expectStats(tensorStats(tb, { stats: r.b }), exactStats(vb), `${label} b`);
              expectComparison(comparison(r.comparison), exactCompare(va, vb, epsilon), label);
            }
          } finally {
            await executor.close();
          }
        }
      }
    } finally {
      added.mockRestore();
    }
  });

  it('stats records equal the per-tensor statistics bit for bit and their exact references', async () => {
    const model = await describeModel(pathB);
    const executor = new Executor({ threads: 1 });
    const added = vi.spyOn(ColumnBatch.prototype, 'add');
    try {
      const builder = new ColumnJobBuilder('stats', [pathB], model.tensors.length);
      for (const t of model.tensors) builder.push(t.numel, dtypeCode(t.dtype), t.source.offset);
      const records = await executor.runColumns(builder.take());
      expect(added).toHaveBeenCalledTimes(model.tensors.filter((t) => t.numel > 0).length);
      model.tensors.forEach((t, i) => {
        const got = records.subarray(i * STATS_FIELDS, (i + 1) * STATS_FIELDS);
        expectStats(tensorStats(t, { stats: unpackStats(got, 0) }), exactStats(values(b[i]!)), `${t.name} ${t.dtype}`);
      });
      for (let i = 0; i < model.tensors.length; i++) {
        const t = model.tensors[i]!;
        const expected = new Float64Array(STATS_FIELDS);
        packStats((await executor.stats(t)).stats, expected, 0);
        expect(Array.from(records.subarray(i * STATS_FIELDS, (i + 1) * STATS_FIELDS)), `${t.name} ${t.dtype}`).toStrictEqual(Array.from(expected));
      }
    } finally {
      added.mockRestore();
      await executor.close();
    }
  });
});
