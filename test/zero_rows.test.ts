/**
 * Executor.zeroRows: all-zero rows found in one streaming pass, including rows longer than
 * a chunk, rows split across chunks, −0, NaN rows (not zero), and dtypes widened first.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Executor } from '../src/engine/executor.js';
import type { TensorDescriptor } from '../src/formats/types.js';

const dir = mkdtempSync(join(tmpdir(), 'diffai-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tensor(name: string, values: Float32Array | Uint16Array, dtype: 'f32' | 'bf16', shape: number[]): TensorDescriptor {
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, new Uint8Array(values.buffer));
  return {
    name,
    dtype,
    shape,
    numel: shape.reduce((a, b) => a * b, 1),
    byteOrder: 'little',
    source: { kind: 'file', path, offset: 0, length: values.byteLength },
  };
}

/** Rows listed in `zero` are all zero (alternating +0/−0); the others have one non-zero element (or NaN). */
function matrix(rows: number, cols: number, zero: number[], nanRow?: number): Float32Array {
  const m = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) m[r * cols + c] = c % 2 ? -0 : 0;
    if (!zero.includes(r)) m[r * cols + ((r * 7) % cols)] = r === nanRow ? NaN : 0.5 + r;
  }
  return m;
}

describe('zeroRows', () => {
  const zero = [0, 3, 4, 9];
  for (const [label, chunk] of [
    ['default chunks', undefined],
    ['rows split across chunks', 7],
    ['rows longer than a chunk', 3],
  ] as const) {
    it(`finds exactly the all-zero rows (${label})`, async () => {
      const executor = new Executor({ threads: 1, chunkElements: chunk });
      try {
        const t = tensor(`m${chunk}`, matrix(10, 13, zero, 5), 'f32', [10, 13]);
        expect(await executor.zeroRows(t)).toEqual(zero);
        const cube = tensor(`c${chunk}`, matrix(10, 13, zero), 'f32', [10, 1, 13]);
        expect(await executor.zeroRows(cube)).toEqual(zero);
      } finally {
        await executor.close();
      }
    });
  }

  it('works on widened dtypes (bf16)', async () => {
    const f = matrix(6, 5, [1, 2]);
    const bits = new Uint16Array(f.length);
    const u32 = new Uint32Array(f.buffer);
    for (let i = 0; i < f.length; i++) bits[i] = u32[i]! >>> 16;
    const executor = new Executor({ threads: 1 });
    try {
      expect(await executor.zeroRows(tensor('b', bits, 'bf16', [6, 5]))).toEqual([1, 2]);
    } finally {
      await executor.close();
    }
  });
});
