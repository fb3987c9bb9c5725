/**
 * The worker pool: results are identical (bit for bit) for any thread count and chunk size,
 * tensors larger than a range are split across workers, an AbortSignal stops the work, and
 * a process using the library exits on its own afterwards.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFiles, inspectFile } from '../src/index.js';
import { POOL_MIN_BYTES, RANGE_BYTES } from '../src/engine/executor.js';

let dir: string;
let fileA: string;
let fileB: string;
const ELEMENTS = Math.ceil((RANGE_BYTES * 2.5) / 4); // each tensor spans 3 ranges
const TENSORS = Math.ceil(POOL_MIN_BYTES / (ELEMENTS * 4)) + 1; // enough data for the pool

/** A safetensors file of TENSORS f32 tensors with values 1000 + small noise (|mean| ≫ std), some NaN/Inf. */
function writeModel(path: string, seed: number, perturbEvery: number): { sums: number[] } {
  const header: Record<string, unknown> = {};
  for (let t = 0; t < TENSORS; t++) header[`t${t}`] = { dtype: 'F32', shape: [ELEMENTS], data_offsets: [t * ELEMENTS * 4, (t + 1) * ELEMENTS * 4] };
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const fd = openSync(path, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  const chunk = new Float32Array(1 << 20);
  let state = 12345;
  const sums: number[] = [];
  for (let t = 0; t < TENSORS; t++) {
    let sum = 0;
    for (let done = 0; done < ELEMENTS; ) {
      const n = Math.min(chunk.length, ELEMENTS - done);
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        chunk[i] = 1000 + (state / 2 ** 32 - 0.5) * 1e-3 + (perturbEvery && (done + i) % perturbEvery === 0 ? seed : 0);
      }
      if (t === 1 && done === 0) {
        chunk[5] = NaN;
        chunk[6] = Infinity;
      }
      for (let i = 0; i < n; i++) if (Number.isFinite(chunk[i]!)) sum += chunk[i]!;
      writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 4));
      done += n;
    }
    sums.push(sum);
  }
  closeSync(fd);
  return { sums };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'diffai-threads-'));
  fileA = join(dir, 'a.safetensors');
  fileB = join(dir, 'b.safetensors');
  writeModel(fileA, 0, 0);
  writeModel(fileB, 1e-3, 997);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('worker pool', () => {
  it('inspect: identical statistics at 1, 2 and 3 threads; other chunk sizes agree to 1e-12', async () => {
    const one = await inspectFile(fileA, { threads: 1 });
    for (const options of [{ threads: 2 }, { threads: 3 }]) {
      const other = await inspectFile(fileA, options);
      expect(other.tensors, JSON.stringify(options)).toEqual(one.tensors);
    }
    // Different chunk sizes merge in a different association: equal up to rounding.
    const chunked = await inspectFile(fileA, { threads: 2, chunkElements: 100_003 });
    chunked.tensors.forEach((t, i) => {
      const base = one.tensors[i]!;
      expect([t.nan_count, t.posinf_count, t.min, t.max]).toEqual([base.nan_count, base.posinf_count, base.min, base.max]);
      for (const key of ['mean', 'std', 'l2_norm'] as const) expect(Math.abs(t[key]! - base[key]!)).toBeLessThanOrEqual(1e-12 * Math.abs(base[key]!));
    });
    // And the numbers are right: mean 1000 to ~1e-7, NaN/Inf counted where they were put.
    expect(one.tensors[1]!.nan_count).toBe(1);
    expect(one.tensors[1]!.posinf_count).toBe(1);
    for (const t of one.tensors) {
      expect(Math.abs(t.mean! - 1000)).toBeLessThan(1e-4);
      expect(t.std!).toBeGreaterThan(2.8e-4);
      expect(t.std!).toBeLessThan(2.9e-4); // uniform(−5e-4, 5e-4): 1e-3/√12 ≈ 2.887e-4, f32 rounding of 1000 + x adds ~3e-5
    }
  });

  it('diff: identical results at 1 and 2 threads, with tensors split into ranges', async () => {
    const one = await diffFiles(fileA, fileB, { threads: 1 });
    const two = await diffFiles(fileA, fileB, { threads: 2 });
    expect(two.results).toEqual(one.results);
    expect(one.results.length).toBe(TENSORS);
    for (const r of one.results) {
      if (r.kind !== 'TensorStatsChanged') throw new Error(r.kind);
      // Every 997th element moved by 1e-3 (some by less after f32 rounding near 1000).
      expect(r.comparison.changed_elements).toBeGreaterThan(ELEMENTS / 997 - 2);
      expect(r.comparison.changed_elements).toBeLessThanOrEqual(Math.ceil(ELEMENTS / 997));
    }
  });

  it('an aborted signal rejects and leaves nothing running', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(inspectFile(fileA, { threads: 2, signal: controller.signal })).rejects.toThrow();
  });

  it('a process that used the pool exits on its own', () => {
    const script = `import { inspectFile } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'index.js'))};
      const r = await inspectFile(${JSON.stringify(fileA)}, { threads: 2 });
      console.log(r.tensors.length);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe(String(TENSORS));
  });
});
