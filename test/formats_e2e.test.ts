/**
 * End to end through the engine: `inspectFile` on every PyTorch, NumPy, MATLAB and sharded
 * fixture must reproduce the float64 statistics the generators recorded with torch/numpy
 * (fixtures/<format>/reference.json) to 1e-6 relative, and every file the generators mark
 * as broken must be refused with a DiffaiError naming the problem. Twins that hold the same
 * logical values in different layouts must diff as identical.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffaiError, diffFiles, inspectFile } from '../src/index.js';
import type { InspectedTensor, PartStats } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..', 'fixtures');

interface RefStats {
  count?: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  l2_norm?: number;
  nan_count?: number;
  posinf_count?: number;
  neginf_count?: number;
  zero_count?: number;
}
interface RefTensor {
  dtype: string;
  shape: number[];
  stats?: RefStats & { real?: RefStats; imag?: RefStats };
}
interface RefFile {
  tensors?: Record<string, RefTensor>;
  error?: string;
}

function load(format: string): Record<string, RefFile> {
  return JSON.parse(readFileSync(join(ROOT, format, 'reference.json'), 'utf8'));
}

/** |got − want| ≤ 1e-6·|want|, with an absolute floor of 1e-12 of the tensor's scale (for means near 0). */
function close(got: number | null | undefined, want: number | null | undefined, scale: number, what: string): void {
  if (want === null || want === undefined) {
    expect(got ?? null, what).toBeNull();
    return;
  }
  expect(got, what).not.toBeNull();
  const tol = Math.max(1e-6 * Math.abs(want), 1e-12 * scale, Number.MIN_VALUE);
  expect(Math.abs((got as number) - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tol);
}

function checkPart(got: PartStats, want: RefStats, what: string): void {
  const scale = Math.max(Math.abs(want.min ?? 0), Math.abs(want.max ?? 0), want.std ?? 0);
  for (const key of ['mean', 'std', 'min', 'max'] as const) close(got[key], want[key], scale, `${what} ${key}`);
}

function checkTensor(got: InspectedTensor | undefined, want: RefTensor, what: string): void {
  expect(got, `${what} is listed`).toBeDefined();
  expect(got!.dtype, `${what} dtype`).toBe(want.dtype);
  expect(got!.shape, `${what} shape`).toEqual(want.shape);
  const s = want.stats;
  if (!s) return;
  if (s.real && s.imag) {
    checkPart(got!.real!, s.real, `${what} real`);
    checkPart(got!.imag!, s.imag, `${what} imag`);
  } else {
    checkPart(got!, s, what);
    for (const key of ['nan_count', 'posinf_count', 'neginf_count', 'zero_count'] as const) {
      if (s[key] !== undefined) expect(got![key], `${what} ${key}`).toBe(s[key]);
    }
  }
  if (s.l2_norm !== undefined) close(got!.l2_norm, s.l2_norm, s.l2_norm, `${what} l2_norm`);
}

for (const format of ['pytorch', 'numpy', 'matlab', 'sharded']) {
  describe(`${format} fixtures through the engine`, () => {
    const reference = load(format);
    for (const [file, ref] of Object.entries(reference)) {
      if (ref.error !== undefined) {
        it(`${file} is refused: ${ref.error}`, async () => {
          const failure = await inspectFile(join(ROOT, format, file)).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(failure).toBeInstanceOf(DiffaiError);
          expect((failure as DiffaiError).message.toLowerCase()).toContain(ref.error!.toLowerCase());
          expect((failure as DiffaiError).message).not.toContain('\n');
        });
      } else if (ref.tensors) {
        it(`${file}: inspect matches the recorded float64 statistics`, async () => {
          const report = await inspectFile(join(ROOT, format, file), { chunkElements: 7 });
          const byName = new Map(report.tensors.map((t) => [t.name, t]));
          for (const [name, want] of Object.entries(ref.tensors!)) checkTensor(byName.get(name), want, `${file} ${name}`);
        });
      }
    }
  });
}

describe('twins holding the same logical values diff as identical', () => {
  const twins: Array<[string, string]> = [
    ['numpy/order_c.npy', 'numpy/order_f.npy'],
    ['numpy/model_stored.npz', 'numpy/model_compressed.npz'],
    ['numpy/dtype_le_f8.npy', 'numpy/dtype_be_f8.npy'],
    ['numpy/dtype_le_c8.npy', 'numpy/dtype_be_c8.npy'],
    ['matlab/vars.mat', 'matlab/vars_compressed.mat'],
    ['matlab/handmade_le.mat', 'matlab/handmade_be.mat'],
    ['pytorch/dtypes_zip.pt', 'pytorch/dtypes_legacy.pt'],
    ['pytorch/dtypes_zip.pt', 'pytorch/dtypes_bigendian.pt'],
  ];
  for (const [a, b] of twins) {
    it(`${a} = ${b}`, async () => {
      const { results } = await diffFiles(join(ROOT, a), join(ROOT, b));
      expect(results).toEqual([]);
    });
  }

  it('a sharded pair with different shard boundaries pairs tensors by name', async () => {
    const { results } = await diffFiles(join(ROOT, 'sharded', 'a'), join(ROOT, 'sharded', 'b'));
    const ref = load('sharded');
    const changed = Object.keys(ref.a!.tensors!).filter((n) => JSON.stringify(ref.a!.tensors![n]) !== JSON.stringify(ref.b!.tensors![n]));
    expect(results.map((r) => r.name).sort()).toEqual(changed.sort());
    expect(results.every((r) => r.kind === 'TensorStatsChanged')).toBe(true);
  });
});
