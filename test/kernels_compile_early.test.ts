/**
 * compileKernels (src/engine/kernels.ts): the CLI starts compiling the WASM kernels in the
 * background before it reads headers; Kernels and engines made afterwards take that module
 * instead of compiling again, and compute the same statistics.
 */
import { describe, expect, it, vi } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { compileKernels, Kernels } from '../src/engine/kernels.js';
import { f32Bytes } from './helpers/dtypes.js';

describe('kernels compiled ahead', () => {
  it('Kernels and an engine made after compileKernels() do not compile again', async () => {
    const compileSync = vi.spyOn(WebAssembly, 'Module');
    const compileAsync = vi.spyOn(WebAssembly, 'compile');
    try {
      await Promise.all([compileKernels(), compileKernels()]);
      expect(compileAsync).toHaveBeenCalledTimes(1);
      const k = new Kernels();
      k.bytes.set(f32Bytes([1, 2, 4, 8]), k.rawA);
      k.k.stats_f32(k.rawA, 4);
      // [count, mean, M2, min, max, …]: mean 3.75, M2 = Σ(x − 3.75)² = 7.5625 + 3.0625 + 0.0625 + 18.0625 = 28.75
      expect(Array.from(k.statsOut.subarray(0, 5))).toEqual([4, 3.75, 28.75, 1, 8]);
      const engine = new Engine();
      const partial = engine.statsOfBytes(f32Bytes([0.5, -0.5, 3]), 'f32');
      engine.close();
      expect([partial.count, partial.min, partial.max]).toEqual([3, -0.5, 3]);
      expect(compileSync).not.toHaveBeenCalled();
    } finally {
      compileSync.mockRestore();
      compileAsync.mockRestore();
    }
  });
});
