/**
 * Non-contiguous views that are permutations of a dense block (transposes, Fortran order)
 * are read in place as that block — no gathering, so no gather limit — while views that are
 * not (strided slices) still gather. Comparisons pair elements in logical order either way.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Executor, asStorageBlock } from '../src/engine/executor.js';
import { GATHER_SPAN_BYTES, MAX_GATHER_BYTES } from '../src/engine/sources.js';
import type { TensorDescriptor } from '../src/formats/types.js';

const desc = (shape: number[], strides: number[] | undefined, path = '/nowhere', offset = 0): TensorDescriptor => ({
  name: 't',
  dtype: 'f32',
  shape,
  numel: shape.reduce((a, b) => a * b, 1),
  byteOrder: 'little',
  source: { kind: 'file', path, offset: 0, length: 1 << 40 },
  ...(strides ? { view: { offset, strides } } : {}),
});

describe('asStorageBlock', () => {
  it('recognises permutations of a dense block and nothing else', () => {
    expect(asStorageBlock(desc([3, 4], [1, 3]))?.shape).toEqual([12]); // transpose
    expect(asStorageBlock(desc([2, 3, 4], [1, 2, 6]))?.shape).toEqual([24]); // Fortran order
    expect(asStorageBlock(desc([2, 3, 4], [1, 2, 6], '/x', 5))?.view).toEqual({ offset: 5, strides: [1] });
    expect(asStorageBlock(desc([4, 1, 3], [1, 99, 4]))?.shape).toEqual([12]); // size-1 dims ignored
    expect(asStorageBlock(desc([3, 4], [4, 1]))).toBeUndefined(); // already dense
    expect(asStorageBlock(desc([3, 4], undefined))).toBeUndefined();
    expect(asStorageBlock(desc([2, 2], [8, 2]))).toBeUndefined(); // strided slice
    expect(asStorageBlock(desc([3, 4], [1, 4]))).toBeUndefined(); // gaps between columns
    expect(asStorageBlock(desc([3, 4], [0, 1]))).toBeUndefined(); // broadcast
  });
});

describe('a transposed view larger than the gather limit', () => {
  let dir: string;
  let path: string;
  const ROWS = 4096;
  const COLS = Math.ceil((MAX_GATHER_BYTES / 4 + 1) / ROWS); // storage just over the limit
  // storage[k] = (k % 1000) − 499.5, so row sums are known exactly.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'diffai-views-'));
    path = join(dir, 'storage.bin');
    const fd = openSync(path, 'w');
    const chunk = new Float32Array(1 << 20);
    for (let done = 0; done < ROWS * COLS; done += chunk.length) {
      const n = Math.min(chunk.length, ROWS * COLS - done);
      for (let i = 0; i < n; i++) chunk[i] = ((done + i) % 1000) - 499.5;
      writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 4));
    }
    closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const transposed = (): TensorDescriptor => ({
    name: 'w.T',
    dtype: 'f32',
    shape: [COLS, ROWS],
    numel: ROWS * COLS,
    byteOrder: 'little',
    source: { kind: 'file', path, offset: 0, length: ROWS * COLS * 4 },
    view: { offset: 0, strides: [1, COLS] },
  });

  it('statistics come from the block in place, exactly as the float64 reference', async () => {
    const executor = new Executor({ threads: 1 });
    try {
      const { stats } = await executor.stats(transposed());
      // Reference in float64 over k = 0..N−1 of (k mod 1000) − 499.5.
      const n = ROWS * COLS;
      let sum = 0,
        sq = 0,
        lo = Infinity,
        hi = -Infinity;
      for (let k = 0; k < n; k++) {
        const x = (k % 1000) - 499.5;
        sum += x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const mean = sum / n;
      for (let k = 0; k < n; k++) {
        const d = (k % 1000) - 499.5 - mean;
        sq += d * d;
      }
      expect(stats.count).toBe(n);
      expect([stats.min, stats.max]).toEqual([lo, hi]);
      expect(Math.abs(stats.mean - mean)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(Math.sqrt(stats.m2 / n) - Math.sqrt(sq / n))).toBeLessThanOrEqual(1e-9 * Math.sqrt(sq / n));
    } finally {
      await executor.close();
    }
  });

  it('two tensors with the same permutation compare in place; against a dense tensor they gather in bounded blocks', async () => {
    const executor = new Executor({ threads: 1 });
    try {
      const same = await executor.compare(transposed(), transposed(), 0);
      expect(same.comparison.changed).toBe(0);
      expect(same.comparison.pairs).toBe(ROWS * COLS);
      // The same storage read densely as [COLS, ROWS]: logical element (i, j) is storage
      // i·ROWS + j there and j·COLS + i in the transpose; count the positions that differ.
      const dense: TensorDescriptor = { ...transposed(), view: undefined };
      const value = (k: number) => (k % 1000) - 499.5;
      let changed = 0;
      let sumAbs = 0;
      for (let i = 0; i < COLS; i++) {
        for (let j = 0; j < ROWS; j++) {
          const d = Math.abs(value(j * COLS + i) - value(i * ROWS + j));
          if (d > 0) changed++;
          sumAbs += d;
        }
      }
      const cross = await executor.compare(transposed(), dense, 0);
      expect(cross.comparison.pairs).toBe(ROWS * COLS);
      expect(cross.comparison.changed).toBe(changed);
      expect(cross.comparison.sumAbs).toBe(sumAbs);
    } finally {
      await executor.close();
    }
  });

  it('a row permutation over more storage than the gather limit is gathered window by window', async () => {
    // llama.cpp's Q/K un-permutation as a view: rows [heads, 2, half] walked as stored [heads, half, 2].
    const heads = 64;
    const half = ROWS / heads / 2;
    const dense: TensorDescriptor = { ...transposed(), shape: [ROWS, COLS], view: undefined };
    const permuted: TensorDescriptor = {
      ...dense,
      view: { offset: 0, dims: [heads, 2, half, COLS], strides: [2 * half * COLS, COLS, 2 * COLS, 1] },
    };
    const executor = new Executor({ threads: 1 });
    try {
      const { comparison } = await executor.compare(permuted, dense, 0);
      // Logical row r = (h, j, i) reads stored row (h·half + i)·2 + j; reference in float64.
      let sumSq = 0;
      let changed = 0;
      for (let r = 0; r < ROWS; r++) {
        const h = Math.floor(r / (2 * half));
        const j = Math.floor(r / half) % 2;
        const i = r % half;
        const stored = (h * half + i) * 2 + j;
        for (let c = 0; c < COLS; c++) {
          const d = ((stored * COLS + c) % 1000) - ((r * COLS + c) % 1000);
          sumSq += d * d;
          if (d !== 0) changed++;
        }
      }
      expect(comparison.pairs).toBe(ROWS * COLS);
      expect(comparison.changed).toBe(changed);
      expect(Math.abs(comparison.sumSqDiff - sumSq)).toBeLessThanOrEqual(1e-6 * sumSq);
    } finally {
      await executor.close();
    }
  });
});

describe('strided views over more storage than one gather read', () => {
  // Storage of [R, C] f32, larger than GATHER_SPAN_BYTES, so blocks are read as runs.
  const R = 2048;
  const C = Math.ceil((GATHER_SPAN_BYTES / 4 + 12345) / R);
  let dir: string;
  let path: string;
  const storage = new Float32Array(R * C);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'diffai-views-'));
    path = join(dir, 'storage.bin');
    for (let k = 0; k < storage.length; k++) storage[k] = ((k * 7919) % 10007) - 5003.25;
    const fd = openSync(path, 'w');
    writeSync(fd, new Uint8Array(storage.buffer));
    closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, number[], number[], number]> = [
    ['rows ::3, columns 1::2', [Math.ceil(R / 3), Math.floor(C / 2)], [3 * C, 2], 1],
    ['transpose of rows ::2', [C, R / 2], [1, 2 * C], 0],
    ['3-d permutation with an offset', [Math.floor(C / 2) - 1, 2, R / 4], [2, 1, 4 * C], 3],
    ['column 5, every row', [R], [C], 5],
  ];
  for (const [label, shape, strides, offset] of cases) {
    it(`${label}: compares equal, element for element, to its logical elements written densely`, async () => {
      // Reference: the logical elements, walked here in C order, written to a second file.
      const numel = shape.reduce((a, b) => a * b, 1);
      const logical = new Float32Array(numel);
      const idx = shape.map(() => 0);
      for (let e = 0; e < numel; e++) {
        logical[e] = storage[offset + idx.reduce((s, i, d) => s + i * strides[d]!, 0)]!;
        for (let d = shape.length - 1; d >= 0; d--) {
          if (++idx[d]! < shape[d]!) break;
          idx[d] = 0;
        }
      }
      const refPath = join(dir, `ref-${offset}.bin`);
      const fd = openSync(refPath, 'w');
      writeSync(fd, new Uint8Array(logical.buffer));
      closeSync(fd);
      const view: TensorDescriptor = {
        name: 'v',
        dtype: 'f32',
        shape,
        numel,
        byteOrder: 'little',
        source: { kind: 'file', path, offset: 0, length: storage.byteLength },
        view: { offset, strides },
      };
      const dense: TensorDescriptor = { ...view, source: { kind: 'file', path: refPath, offset: 0, length: logical.byteLength }, view: undefined };
      const executor = new Executor({ threads: 1 });
      try {
        const r = await executor.compare(view, dense, 0);
        expect(r.comparison.pairs).toBe(numel);
        expect(r.comparison.changed).toBe(0);
        expect(r.a.stats.count).toBe(numel);
        expect(r.a.stats.min).toBe(logical.reduce((m, x) => Math.min(m, x), Infinity));
      } finally {
        await executor.close();
      }
    }, 60_000);
  }
});
