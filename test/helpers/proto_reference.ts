/**
 * Reference checks for formats whose generator records float64 statistics per tensor
 * (ONNX, TensorFlow): `{file: {tensor: {numel, shape, mean, std, min, max, nan_count,
 * zero_count} | {numel, real, imag}}}`, compared with what inspectFile reports.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { inspectFile } from '../../src/index.js';

export interface RefTensor {
  numel: number;
  shape: number[];
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  nan_count: number;
  posinf_count: number;
  neginf_count: number;
  zero_count: number;
  real?: RefTensor;
  imag?: RefTensor;
}

function close(actual: number | null | undefined, expected: number | undefined, what: string): void {
  if (expected === undefined) {
    expect(actual ?? null, what).toBeNull();
    return;
  }
  const tol = 1e-6 * Math.max(1, Math.abs(expected));
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

/** One test per file: the same tensor names, shapes, counts and statistics (1e-6 relative). */
export function itMatchesStatsReference(dir: string, ref: Record<string, Record<string, RefTensor>>, format: string): void {
  for (const [file, tensors] of Object.entries(ref)) {
    it(file, async () => {
      const report = await inspectFile(join(dir, file), { threads: 1 });
      expect(report.format).toBe(format);
      const byName = new Map(report.tensors.map((t) => [t.name, t]));
      expect([...byName.keys()].sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, r] of Object.entries(tensors)) {
        const t = byName.get(name)!;
        expect(t.shape, name).toEqual(r.shape);
        expect(t.total_params, name).toBe(r.numel);
        const parts: Array<[string, RefTensor, { mean: number | null; std: number | null; min: number | null; max: number | null }]> = r.real
          ? [
              ['.real', r.real, t.real!],
              ['.imag', r.imag!, t.imag!],
            ]
          : [['', r, t]];
        for (const [part, p, s] of parts) {
          close(s.mean, p.mean, `${name}${part} mean`);
          close(s.std, p.std, `${name}${part} std`);
          close(s.min, p.min, `${name}${part} min`);
          close(s.max, p.max, `${name}${part} max`);
        }
        if (!r.real) {
          expect(t.nan_count, name).toBe(r.nan_count);
          expect([t.posinf_count, t.neginf_count], name).toEqual([r.posinf_count, r.neginf_count]);
          expect(t.zero_count, name).toBe(r.zero_count);
        }
      }
    });
  }
}
