/**
 * The public library API (src/index.ts): tensorStats on typed arrays and Buffers, through the
 * same kernels as files, against exact float64 references computed in the test; diffFiles
 * and inspectFile as exported.
 */
import { describe, expect, it } from 'vitest';
import { DiffaiError, diffFiles, inspectFile, tensorStats } from '../src/index.js';
import { expectStats } from './helpers/assert.js';
import { Rng, bf16FromBits, decode, e4m3FromBits, f16FromBits, randomBytes } from './helpers/dtypes.js';
import { exactStats } from './helpers/exact.js';
import { REFERENCE, core } from './helpers/files.js';

function normals(n: number, rng: Rng, mean: number, sd: number): number[] {
  return Array.from({ length: n }, () => mean + sd * rng.normal());
}

describe('tensorStats', () => {
  it('Float32Array (dtype inferred): random, |mean| ≫ std, more than one chunk', () => {
    const rng = new Rng(1);
    for (const [n, mean, sd] of [
      [1, 0, 1],
      [17, 0.5, 2],
      [1001, 1000, 1e-3],
      [300_001, -3, 0.25],
    ] as const) {
      const a = new Float32Array(normals(n, rng, mean, sd));
      const got = tensorStats(a);
      expect([got.dtype, got.shape, got.total_params]).toEqual(['f32', [n], n]);
      expectStats(got, exactStats(Array.from(a)), `Float32Array[${n}] mean=${mean} sd=${sd}`);
    }
  });

  it('Float64Array with NaN, ±Inf, ±0', () => {
    const rng = new Rng(2);
    const v = normals(333, rng, 1e6, 1);
    for (const [i, x] of [
      [0, NaN],
      [5, Infinity],
      [6, -Infinity],
      [7, 0],
      [8, -0],
      [332, NaN],
    ] as const)
      v[i] = x;
    const got = tensorStats(new Float64Array(v));
    expect([got.dtype, got.total_params, got.nan_count, got.posinf_count, got.neginf_count, got.zero_count]).toEqual(['f64', 333, 2, 1, 1, 2]);
    expectStats(got, exactStats(v), 'Float64Array');
  });

  it('integer typed arrays: Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array', () => {
    const rng = new Rng(3);
    const cases = [
      ['i8', Int8Array],
      ['u8', Uint8Array],
      ['i16', Int16Array],
      ['u16', Uint16Array],
      ['i32', Int32Array],
      ['u32', Uint32Array],
      ['i64', BigInt64Array],
      ['u64', BigUint64Array],
    ] as const;
    for (const [dtype, Ctor] of cases) {
      const bytes = randomBytes(dtype, 1001, rng);
      const arr = new Ctor(bytes.buffer as ArrayBuffer);
      const got = tensorStats(arr);
      expect([got.dtype, got.total_params], dtype).toEqual([dtype, 1001]);
      expectStats(got, exactStats(decode(bytes, dtype)), `${Ctor.name}`);
    }
    const extremes = tensorStats(new Int8Array([-128, 127, -1, 0, 0]));
    expect([extremes.min, extremes.max, extremes.zero_count]).toEqual([-128, 127, 2]);
    expectStats(extremes, exactStats([-128, 127, -1, 0, 0]), 'Int8Array extremes');
  });

  it('Buffer with a dtype: f16 and bf16 bit patterns decoded in the test, f8, bool', () => {
    const rng = new Rng(4);
    const bits = Array.from({ length: 777 }, () => rng.int(65536));
    const buf = Buffer.alloc(bits.length * 2);
    bits.forEach((b, i) => {
      buf.writeUInt16LE(b, i * 2);
    });
    expectStats(tensorStats(buf, 'f16'), exactStats(bits.map(f16FromBits)), 'Buffer f16');
    expectStats(tensorStats(buf, 'bf16'), exactStats(bits.map(bf16FromBits)), 'Buffer bf16');
    // The same bits held in a Uint16Array need the dtype too; without it they are u16.
    const u16 = new Uint16Array(bits);
    expectStats(tensorStats(u16, 'bf16'), exactStats(bits.map(bf16FromBits)), 'Uint16Array as bf16');
    expectStats(tensorStats(u16), exactStats(bits), 'Uint16Array as u16');
    const codes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expectStats(tensorStats(codes, 'f8_e4m3'), exactStats(Array.from(codes, e4m3FromBits)), 'Buffer f8_e4m3');
    const bools = Buffer.from([1, 0, 1, 1, 0, 0, 0, 1, 1]);
    const b = tensorStats(bools, 'bool');
    expectStats(b, exactStats([1, 0, 1, 1, 0, 0, 0, 1, 1]), 'Buffer bool');
    expect(b.dtype).toBe('bool');
  });

  it('honours byteOffset/length of views (pooled Buffers, subarrays)', () => {
    const whole = new Float32Array([100, 1, 2, 3, 4, 5, -100]);
    const view = whole.subarray(1, 6);
    const got = tensorStats(view);
    expect([got.total_params, got.min, got.max]).toEqual([5, 1, 5]);
    expectStats(got, exactStats([1, 2, 3, 4, 5]), 'subarray');
    // Small Buffers come from a shared pool at a non-zero (possibly unaligned) offset.
    const pooled = Buffer.from(new Uint8Array(new Float32Array([1.5, -2.5, 4]).buffer));
    expectStats(tensorStats(pooled, 'f32'), exactStats([1.5, -2.5, 4]), 'pooled Buffer');
    const odd = Buffer.alloc(13);
    odd.writeDoubleLE(6.25, 1);
    expectStats(tensorStats(odd.subarray(1, 9), 'f64'), exactStats([6.25]), 'unaligned f64 view');
  });

  it('empty arrays: null statistics, zero counts', () => {
    const got = tensorStats(new Float32Array(0));
    expect([got.mean, got.std, got.min, got.max, got.total_params, got.nan_count, got.l2_norm]).toEqual([null, null, null, null, 0, 0, 0]);
  });

  it('a Buffer or DataView without a dtype is refused with a DiffaiError', () => {
    expect(() => tensorStats(Buffer.from([1, 2, 3, 4]))).toThrow(DiffaiError);
    expect(() => tensorStats(new DataView(new ArrayBuffer(8)))).toThrow(/dtype/);
  });
});

describe('diffFiles and inspectFile from the package entry point', () => {
  it('diffFiles: the finetuned pair differs in every tensor and the epoch; a file equals itself', async () => {
    const pair = REFERENCE.pairs['digits_mlp.safetensors|digits_mlp_finetuned.safetensors']!;
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'));
    expect(report.results.map((r) => (r.kind === 'TensorStatsChanged' ? [r.name, r.comparison.changed_elements] : [r.name, r.kind]))).toEqual([
      ['__metadata__.epoch', 'Modified'],
      ...Object.keys(pair)
        .sort()
        .map((n) => [n, pair[n]!.changed_elements]),
    ]);
    expect([report.a.format, report.b.format]).toEqual(['safetensors', 'safetensors']);
    expect((await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp.safetensors'))).results).toEqual([]);
  });

  it('inspectFile: statistics of every tensor; a missing file rejects with a DiffaiError naming it', async () => {
    const ref = REFERENCE.files['digits_mlp_scaled.safetensors']!;
    const report = await inspectFile(core('digits_mlp_scaled.safetensors'));
    for (const t of report.tensors) {
      const r = ref.tensors[t.name]!;
      expectStats(
        t,
        {
          count: r.total_params,
          mean: r.mean,
          std: r.std,
          min: r.min,
          max: r.max,
          nan: 0,
          posinf: 0,
          neginf: 0,
          zeros: r.zero_count,
          l2: r.l2_norm,
          maxAbs: Math.max(Math.abs(r.min!), Math.abs(r.max!)),
        },
        `scaled ${t.name}`,
      );
    }
    await expect(inspectFile(core('does-not-exist.safetensors'))).rejects.toThrow(DiffaiError);
    await expect(inspectFile(core('does-not-exist.safetensors'))).rejects.toMatchObject({ file: core('does-not-exist.safetensors') });
  });
});
