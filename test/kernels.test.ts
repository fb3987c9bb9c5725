/**
 * The WASM kernels through the engine (src/engine/engine.ts): statistics and comparisons of
 * every dtype on random and adversarial data, against exact float64 references computed in
 * the test (test/helpers/exact.ts), with chunk sizes 1, 3, 1000 and the default so that
 * SIMD tails and Chan merging are exercised. Tolerances: see test/helpers/assert.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { expectClose, expectComparison, expectStats } from './helpers/assert.js';
import {
  ALL_DTYPES,
  Rng,
  SIZE,
  bf16FromBits,
  decode,
  e4m3FromBits,
  e5m2FromBits,
  f16FromBits,
  f32Bytes,
  f64Bytes,
  integerExtremes,
  randomBytes,
  u16Bytes,
  type TestDType,
} from './helpers/dtypes.js';
import { CHUNKS, closeEngines, compareDescs, engineFor, statsOfBytes, statsOfDesc, writeTensors } from './helpers/engine.js';
import { exactCompare, exactStats, type Exact } from './helpers/exact.js';
import { tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-kernels-');
afterAll(async () => {
  await closeEngines();
  tmp.cleanup();
});

const LENGTHS = [...Array.from({ length: 18 }, (_, i) => i), 31, 33, 63, 65, 1001, 4099];

/** Checks stats of `bytes` against the exact reference with every chunk size. */
function checkAllChunks(bytes: Uint8Array, dtype: TestDType, label: string, values?: Exact[], chunks = CHUNKS): void {
  const ref = exactStats(values ?? decode(bytes, dtype));
  for (const chunk of chunks) {
    const got = statsOfBytes(engineFor(chunk), bytes, dtype);
    expect(got.count, `${label} chunk=${chunk}: finite count`).toBe(ref.count);
    expectStats(got, ref, `${label} chunk=${chunk}`);
  }
}

/** Results must not depend on how the data was cut: identical counts/min/max, sums within 1e-12. */
function checkChunkInvariance(bytes: Uint8Array, dtype: TestDType, label: string): void {
  const base = statsOfBytes(engineFor(undefined), bytes, dtype);
  const scale = exactStats(decode(bytes, dtype)).maxAbs;
  for (const chunk of [1, 3, 1000]) {
    const got = statsOfBytes(engineFor(chunk), bytes, dtype);
    const l = `${label} chunk=${chunk} vs default`;
    expect([got.count, got.nan_count, got.posinf_count, got.neginf_count, got.zero_count, got.min, got.max], l).toEqual([
      base.count,
      base.nan_count,
      base.posinf_count,
      base.neginf_count,
      base.zero_count,
      base.min,
      base.max,
    ]);
    expectClose(got.mean, base.mean, 1e-12, 1e-15 * scale, `${l}: mean`);
    expectClose(got.std, base.std, 1e-12, 1e-15 * scale, `${l}: std`);
    expectClose(got.l2_norm, base.l2_norm, 1e-12, 1e-15 * scale, `${l}: l2`);
  }
}

function normals(n: number, rng: Rng, mean: number, sd: number): number[] {
  return Array.from({ length: n }, () => mean + sd * rng.normal());
}

describe('stats kernels: random data, every dtype, every length 0..17 and odd lengths', () => {
  for (const dtype of ALL_DTYPES) {
    it(`${dtype}`, () => {
      const rng = new Rng(1234 + dtype.length * 7 + dtype.charCodeAt(1));
      for (const n of LENGTHS) checkAllChunks(randomBytes(dtype, n, rng), dtype, `${dtype}[${n}]`);
    });
  }

  for (const dtype of ['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2'] as const) {
    it(`${dtype} with NaN/±Inf anywhere (body, tail, first element)`, () => {
      const rng = new Rng(99 + dtype.length);
      for (const n of LENGTHS) {
        const bytes = randomBytes(dtype, n, rng, true);
        if (dtype === 'f32' || dtype === 'f64') {
          // Random normals have no specials: plant them at random positions, including 0 and n−1.
          const view = dtype === 'f32' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
          const specials = [NaN, Infinity, -Infinity, 0, -0];
          for (let k = 0; k < Math.ceil(n / 5); k++) view[k === 0 ? 0 : k === 1 ? n - 1 : rng.int(n)] = specials[rng.int(5)]!;
        }
        checkAllChunks(bytes, dtype, `${dtype}[${n}] with specials`);
      }
    });
  }

  for (const dtype of ['i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8'] as const) {
    it(`${dtype} extremes (min, max, −1/1, 0): exact integer reference`, () => {
      const extremes = integerExtremes(dtype);
      checkAllChunks(extremes, dtype, `${dtype} extremes`);
      // Extremes repeated and mixed with random values over several chunks.
      const rng = new Rng(5);
      const mixed = new Uint8Array(extremes.length * 50 + 1001 * SIZE[dtype]);
      for (let k = 0; k < 50; k++) mixed.set(extremes, k * extremes.length);
      mixed.set(randomBytes(dtype, 1001, rng), extremes.length * 50);
      checkAllChunks(mixed, dtype, `${dtype} extremes + random`);
    });
  }

  it('bool: true counts as 1, false as 0', () => {
    const bytes = new Uint8Array([1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1]);
    checkAllChunks(bytes, 'bool', 'bool');
    const got = statsOfBytes(engineFor(undefined), bytes, 'bool');
    expect([got.min, got.max, got.zero_count]).toEqual([0, 1, 6]);
    expectClose(got.mean, 7 / 13, 1e-12, 0, 'bool mean = 7/13');
  });
});

describe('stats kernels: every bit pattern of the 16- and 8-bit floats', () => {
  it('f16: all 65,536 patterns, decoded in the test by formula', () => {
    const bits = Array.from({ length: 65536 }, (_, i) => i);
    const bytes = u16Bytes(bits);
    const values = bits.map(f16FromBits);
    // 2 × 1023 NaN payloads, one +Inf, one −Inf, ±0.
    expect(values.filter(Number.isNaN).length).toBe(2046);
    checkAllChunks(bytes, 'f16', 'f16 all patterns', values);
    const got = statsOfBytes(engineFor(undefined), bytes, 'f16');
    expect([got.nan_count, got.posinf_count, got.neginf_count, got.zero_count, got.min, got.max]).toEqual([2046, 1, 1, 2, -65504, 65504]);
  });

  it('bf16: all 65,536 patterns, decoded in the test by formula', () => {
    const bits = Array.from({ length: 65536 }, (_, i) => i);
    const values = bits.map(bf16FromBits);
    expect(values.filter(Number.isNaN).length).toBe(254);
    checkAllChunks(u16Bytes(bits), 'bf16', 'bf16 all patterns', values);
  });

  it('bf16 from raw bits: 1, −2, NaN, ±Inf, ±0, ±3.004e38, subnormals, 0.1, 12352', () => {
    const bits = [0x3f80, 0xc000, 0x7fc0, 0x7f80, 0xff80, 0x0000, 0x8000, 0x7f62, 0xff62, 0x006d, 0x0001, 0x3dcd, 0x4641];
    const values = bits.map(bf16FromBits);
    expect(values[11]).toBeCloseTo(0.10009765625, 12);
    expect(values[12]).toBe(12352);
    checkAllChunks(u16Bytes(bits), 'bf16', 'bf16 specials', values);
  });

  it('f16 subnormals only (smallest 2^-24 up to the largest subnormal)', () => {
    const bits = [0x0001, 0x8001, 0x0003, 0x0200, 0x03ff, 0x83ff, 0x0155, 0x8002, 0x0011];
    checkAllChunks(u16Bytes(bits), 'f16', 'f16 subnormals');
    const got = statsOfBytes(engineFor(undefined), u16Bytes(bits), 'f16');
    expect(got.min).toBe(-1023 * 2 ** -24);
    expect(got.max).toBe(1023 * 2 ** -24);
  });

  for (const [dtype, fromBits] of [
    ['f8_e4m3', e4m3FromBits],
    ['f8_e5m2', e5m2FromBits],
  ] as const) {
    it(`${dtype}: all 256 codes, and the specials 00 80 7F/7C FF/FC …`, () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      checkAllChunks(all, dtype, `${dtype} all codes`, Array.from(all, fromBits));
      const got = statsOfBytes(engineFor(undefined), all, dtype);
      if (dtype === 'f8_e4m3') {
        // E4M3FN: no infinities, NaN only at S.1111.111; max 448.
        expect([got.nan_count, got.posinf_count, got.neginf_count, got.max, got.min]).toEqual([2, 0, 0, 448, -448]);
      } else {
        expect([got.nan_count, got.posinf_count, got.neginf_count, got.max, got.min]).toEqual([6, 1, 1, 57344, -57344]);
      }
    });
  }
});

describe('stats kernels: adversarial data', () => {
  it('f32 1000 + N(0, 1e-3): std right to 1e-6 relative (|mean| ≫ std), one chunk and many', () => {
    const rng = new Rng(7);
    for (const n of [1001, 100_003, 300_001]) {
      const bytes = f32Bytes(normals(n, rng, 1000, 1e-3));
      const ref = exactStats(decode(bytes, 'f32'));
      expect(ref.mean! / ref.std!).toBeGreaterThan(1e5);
      // 300,001 f32 span two default chunks (1 MiB); tiny chunks are covered by the smaller n.
      checkAllChunks(bytes, 'f32', `f32 1000+N(0,1e-3) n=${n}`, undefined, n > 200_000 ? [1000, undefined] : CHUNKS);
    }
  });

  it('f64 1e6 + N(0, 1) and 1e9 + N(0, 1e-3)', () => {
    const rng = new Rng(8);
    checkAllChunks(f64Bytes(normals(1001, rng, 1e6, 1)), 'f64', 'f64 1e6+N(0,1)');
    checkAllChunks(f64Bytes(normals(5001, rng, 1e9, 1e-3)), 'f64', 'f64 1e9+N(0,1e-3)');
  });

  it('bf16 and f16 with |mean| ≫ std (values 256 + a few ulps)', () => {
    // f16 around 256 has ulp 0.25; bf16 around 256 has ulp 2.
    const rng = new Rng(9);
    const f16 = Array.from({ length: 1001 }, () => 0x5c00 + rng.int(3));
    const bf16 = Array.from({ length: 1001 }, () => 0x4380 + rng.int(3));
    checkAllChunks(u16Bytes(f16), 'f16', 'f16 near 256');
    checkAllChunks(u16Bytes(bf16), 'bf16', 'bf16 near 256');
  });

  it('an outlier first element (the natural pivot) then N(0, 1)', () => {
    const rng = new Rng(10);
    for (const n of [2, 5, 17, 1001, 70_000]) {
      const v = normals(n, rng, 0, 1);
      v[0] = 1e6;
      checkAllChunks(f32Bytes(v), 'f32', `f32 outlier first n=${n}`);
      checkAllChunks(f64Bytes(v), 'f64', `f64 outlier first n=${n}`);
      const w = [NaN, ...v];
      checkAllChunks(f32Bytes(w), 'f32', `f32 NaN then outlier n=${n}`);
      const u = [...normals(n, rng, 0, 1), 1e7];
      checkAllChunks(f32Bytes(u), 'f32', `f32 outlier last n=${n}`);
    }
  });

  it('drifting level across chunks: 1000 + ramp + N(0, 1e-2), with NaN/±Inf late', () => {
    const rng = new Rng(11);
    const n = 100_003;
    const v = Array.from({ length: n }, (_, i) => 1000 + i / (n - 1) + 1e-2 * rng.normal());
    v[70_001] = NaN;
    v[90_001] = Infinity;
    v[n - 1] = -Infinity;
    checkAllChunks(f32Bytes(v), 'f32', 'f32 drift');
  });

  it('NaN, ±Inf, +0 and −0 counted separately; statistics over finite elements only', () => {
    const v = [NaN, Infinity, -Infinity, 0, -0, 0, 1.5, -2.5, 4, NaN, -0, 3, 2, Infinity, 7, -Infinity, 0.25];
    for (let n = 1; n <= v.length; n++) {
      checkAllChunks(f32Bytes(v.slice(0, n)), 'f32', `f32 specials prefix ${n}`);
      checkAllChunks(f64Bytes(v.slice(0, n)), 'f64', `f64 specials prefix ${n}`);
      // Specials at the end (in the SIMD tail) after finite elements.
      checkAllChunks(f32Bytes([...v.slice(n)].reverse()), 'f32', `f32 specials suffix ${n}`);
    }
    const got = statsOfBytes(engineFor(undefined), f32Bytes(v), 'f32');
    expect([got.nan_count, got.posinf_count, got.neginf_count, got.zero_count]).toEqual([2, 2, 2, 4]);
  });

  it('no finite element (all NaN/±Inf): mean/std/min/max null, l2 0', () => {
    for (const v of [[NaN], [NaN, Infinity, -Infinity, NaN, Infinity], Array(37).fill(NaN)]) {
      for (const dtype of ['f32', 'f64'] as const) {
        const bytes = dtype === 'f32' ? f32Bytes(v) : f64Bytes(v);
        checkAllChunks(bytes, dtype, `${dtype} all non-finite [${v.length}]`);
        const got = statsOfBytes(engineFor(3), bytes, dtype);
        expect([got.mean, got.std, got.min, got.max, got.l2_norm]).toEqual([null, null, null, null, 0]);
      }
    }
  });

  it('all zeros (+0 and −0) and a constant: std exactly 0', () => {
    const zeros = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? -0 : 0));
    checkAllChunks(f32Bytes(zeros), 'f32', 'f32 zeros');
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: any constant not exact in f32 will do
    const constant = Array(777).fill(3.14159);
    checkAllChunks(f32Bytes(constant), 'f32', 'f32 constant');
    for (const chunk of CHUNKS) {
      const got = statsOfBytes(engineFor(chunk), f32Bytes(constant), 'f32');
      expect(got.std, `constant std chunk=${chunk}`).toBe(0);
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: the same constant as above
      expect(got.mean).toBe(Math.fround(3.14159));
      const z = statsOfBytes(engineFor(chunk), f32Bytes(zeros), 'f32');
      expect([z.mean, z.std, z.l2_norm, z.zero_count]).toEqual([0, 0, 0, 1000]);
    }
  });

  it('f32 subnormals (all of them subnormal, random signs) and f32 tiny N(0,1)·1e-30', () => {
    const rng = new Rng(12);
    const sub = Array.from({ length: 1001 }, (_, i) => (rng.next() < 0.5 ? -1 : 1) * (i < 500 ? 1e-40 * (1 + rng.next()) : 1e-44 * (1 + 8 * rng.next())));
    const bytes = f32Bytes(sub);
    // Really subnormal once stored as f32.
    expect(decode(bytes, 'f32').every((x) => Math.abs(x as number) < 2 ** -126 && x !== 0)).toBe(true);
    checkAllChunks(bytes, 'f32', 'f32 subnormal');
    checkAllChunks(f32Bytes(normals(1001, rng, 0, 1e-30)), 'f32', 'f32 tiny');
    checkAllChunks(f32Bytes(normals(1001, rng, 0, 1e-38)), 'f32', 'f32 around the normal limit');
  });

  it('f64 subnormals and tiny f64 N(0,1)·1e-200 (squares underflow float64)', () => {
    const rng = new Rng(13);
    checkAllChunks(f64Bytes(normals(1001, rng, 0, 1e-200)), 'f64', 'f64 tiny 1e-200');
    checkAllChunks(f64Bytes(normals(1001, rng, 0, 1e-310)), 'f64', 'f64 subnormal');
  });

  it('huge f64 N(0,1)·1e200 (squares overflow float64) and f32 near its max', () => {
    const rng = new Rng(14);
    checkAllChunks(f32Bytes(normals(1001, rng, 0, 1e38)), 'f32', 'f32 ±3e38');
    checkAllChunks(f64Bytes(normals(1001, rng, 0, 1e200)), 'f64', 'f64 huge 1e200');
  });

  it('empty input: count 0, null statistics, zero counts, l2 0', () => {
    for (const dtype of ALL_DTYPES) {
      for (const chunk of CHUNKS) {
        const got = statsOfBytes(engineFor(chunk), new Uint8Array(0), dtype);
        expect([got.count, got.mean, got.std, got.min, got.max, got.nan_count, got.zero_count, got.l2_norm], `${dtype} chunk=${chunk}`).toEqual([
          0,
          null,
          null,
          null,
          null,
          0,
          0,
          0,
        ]);
      }
    }
  });
});

describe('stats kernels: merging across chunk sizes gives the same result', () => {
  it('random, specials, drift and outliers: identical counts/min/max, mean/std/l2 within 1e-12', () => {
    const rng = new Rng(15);
    for (const dtype of ALL_DTYPES) checkChunkInvariance(randomBytes(dtype, 4099, rng, true), dtype, `${dtype} random`);
    const drift = Array.from({ length: 20_001 }, (_, i) => 10 + i / 20_000 + 1e-2 * rng.normal());
    checkChunkInvariance(f32Bytes(drift), 'f32', 'f32 drift');
    const outlier = normals(5003, rng, 0, 1);
    outlier[0] = 1e6;
    checkChunkInvariance(f64Bytes(outlier), 'f64', 'f64 outlier');
  });

  it('|mean| ≫ std: 1000 + N(0, 1e-3) std agrees across chunk sizes to 1e-9', () => {
    // Merging 1-element chunks is Welford's update; its M2 carries rounding of the running
    // mean (≈ 1e-13 absolute against a std of 1e-3), so 1e-9 relative is the honest bound here.
    const rng = new Rng(16);
    const bytes = f32Bytes(normals(4099, rng, 1000, 1e-3));
    const base = statsOfBytes(engineFor(undefined), bytes, 'f32');
    for (const chunk of [1, 3, 1000]) {
      const got = statsOfBytes(engineFor(chunk), bytes, 'f32');
      expectClose(got.std, base.std, 1e-9, 0, `chunk=${chunk} std`);
      expectClose(got.mean, base.mean, 1e-12, 0, `chunk=${chunk} mean`);
    }
  });
});

describe('engine.stats(descriptor): file ranges, byte order, views', () => {
  it('reads tensors at unaligned file offsets, chunked, matching the reference', async () => {
    const rng = new Rng(17);
    const parts = ALL_DTYPES.map((dtype) => ({ dtype, bytes: randomBytes(dtype, 1001, rng, true) }));
    const descs = writeTensors(tmp.path('all-dtypes.bin'), parts, 5);
    for (const chunk of CHUNKS) {
      for (let i = 0; i < parts.length; i++) {
        const got = await statsOfDesc(engineFor(chunk), descs[i]!);
        expectStats(got, exactStats(decode(parts[i]!.bytes, parts[i]!.dtype)), `${parts[i]!.dtype} from file chunk=${chunk}`);
        expect(got.total_params).toBe(1001);
      }
    }
  });

  it('big-endian storage gives the same statistics as little-endian', async () => {
    const rng = new Rng(18);
    for (const dtype of ['f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'i16', 'u64', 'u32', 'u16'] as const) {
      const le = randomBytes(dtype, 333, rng, true);
      const be = le.slice();
      const size = SIZE[dtype];
      for (let i = 0; i < be.length; i += size) be.subarray(i, i + size).reverse();
      const [desc] = writeTensors(tmp.path(`be-${dtype}.bin`), [{ dtype, bytes: be }]);
      for (const chunk of CHUNKS) {
        const got = await statsOfDesc(engineFor(chunk), { ...desc!, byteOrder: 'big' });
        expectStats(got, exactStats(decode(le, dtype)), `${dtype} big-endian chunk=${chunk}`);
      }
    }
  });

  it('a transposed (strided) view compares equal to the explicitly transposed data', async () => {
    const rng = new Rng(19);
    const rows = 7,
      cols = 13;
    const m = normals(rows * cols, rng, 0, 1);
    const t = Array.from({ length: rows * cols }, (_, k) => m[(k % rows) * cols + Math.floor(k / rows)]!);
    const [dm, dt] = writeTensors(tmp.path('transpose.bin'), [
      { dtype: 'f32', bytes: f32Bytes(m) },
      { dtype: 'f32', bytes: f32Bytes(t) },
    ]);
    const view = { ...dm!, shape: [cols, rows], view: { offset: 0, strides: [1, cols] } };
    const plain = { ...dt!, shape: [cols, rows] };
    const asStored = { ...dm!, shape: [cols, rows] };
    for (const chunk of CHUNKS) {
      const same = await compareDescs(engineFor(chunk), view, plain, 0);
      expect(same.c.changed_elements, `transposed view vs transposed data, chunk=${chunk}`).toBe(0);
      const differ = await compareDescs(engineFor(chunk), asStored, plain, 0);
      expect(differ.c.changed_elements).toBe(exactCompare(m, t).changed);
    }
  });

  it('c64: real and imaginary parts get their own statistics', async () => {
    const rng = new Rng(20);
    const re = normals(101, rng, 2, 0.5),
      im = normals(101, rng, -1, 3);
    const inter = re.flatMap((x, i) => [x, im[i]!]);
    const [d] = writeTensors(tmp.path('c64.bin'), [{ dtype: 'f32', bytes: f32Bytes(inter) }]);
    const desc = { ...d!, dtype: 'c64' as const, shape: [101], numel: 101 };
    for (const chunk of CHUNKS) {
      const got = await statsOfDesc(engineFor(chunk), desc);
      const refRe = exactStats(re.map(Math.fround)),
        refIm = exactStats(im.map(Math.fround));
      expectClose(got.real!.mean, refRe.mean, 1e-6, 0, 'real mean');
      expectClose(got.real!.std, refRe.std, 1e-6, 0, 'real std');
      expectClose(got.imag!.mean, refIm.mean, 1e-6, 0, 'imag mean');
      expectClose(got.imag!.std, refIm.std, 1e-6, 0, 'imag std');
      expect([got.real!.min, got.real!.max, got.imag!.min, got.imag!.max]).toEqual([refRe.min, refRe.max, refIm.min, refIm.max]);
    }
  });
});

describe('compare kernel', () => {
  async function checkCompare(a: Uint8Array, da: TestDType, b: Uint8Array, db: TestDType, eps: number, label: string): Promise<void> {
    const va = decode(a, da),
      vb = decode(b, db);
    const ref = exactCompare(va, vb, eps);
    const [descA, descB] = writeTensors(tmp.path(`cmp-${da}-${db}.bin`), [
      { dtype: da, bytes: a },
      { dtype: db, bytes: b },
    ]);
    for (const chunk of CHUNKS) {
      const got = await compareDescs(engineFor(chunk), descA!, descB!, eps);
      expectComparison(got.c, ref, `${label} chunk=${chunk}`);
      expectStats(got.a, exactStats(va), `${label} chunk=${chunk} stats A`);
      expectStats(got.b, exactStats(vb), `${label} chunk=${chunk} stats B`);
    }
  }

  it('random f32 pairs with some elements changed, eps 0 and eps > 0, every length', async () => {
    const rng = new Rng(21);
    for (const n of LENGTHS) {
      const a = normals(n, rng, 0.1, 1);
      const b = a.map((x) => (rng.next() < 0.4 ? x + 1e-3 * rng.normal() : x));
      await checkCompare(f32Bytes(a), 'f32', f32Bytes(b), 'f32', 0, `f32[${n}] eps=0`);
      await checkCompare(f32Bytes(a), 'f32', f32Bytes(b), 'f32', 5e-4, `f32[${n}] eps=5e-4`);
      await checkCompare(f64Bytes(a), 'f64', f64Bytes(b), 'f64', 0, `f64[${n}] eps=0`);
      await checkCompare(f64Bytes(a), 'f64', f64Bytes(b), 'f64', 5e-4, `f64[${n}] eps=5e-4`);
    }
  });

  it('every dtype against itself with changes (random bytes, specials included)', async () => {
    const rng = new Rng(22);
    for (const dtype of ALL_DTYPES) {
      for (const n of [1, 7, 17, 1001]) {
        const a = randomBytes(dtype, n, rng, true);
        const b = a.slice();
        const fresh = randomBytes(dtype, n, rng, true);
        const size = SIZE[dtype];
        for (let i = 0; i < n; i++) if (rng.next() < 0.3) b.set(fresh.subarray(i * size, (i + 1) * size), i * size);
        await checkCompare(a, dtype, b, dtype, 0, `${dtype}[${n}]`);
      }
    }
  });

  it('eps is a strict threshold: |a−b| = eps is unchanged, > eps is changed', async () => {
    const a = [1, 2, 3, 4, 5];
    const b = [1.5, 2.25, 3, 3.5, 5.75];
    for (const [eps, changed] of [
      [0, 4],
      [0.25, 3],
      [0.5, 1],
      [0.75, 0],
      [10, 0],
    ] as const) {
      const [da, db] = writeTensors(tmp.path('eps.bin'), [
        { dtype: 'f32', bytes: f32Bytes(a) },
        { dtype: 'f32', bytes: f32Bytes(b) },
      ]);
      const got = await compareDescs(engineFor(undefined), da!, db!, eps);
      expect(got.c.changed_elements, `eps=${eps}`).toBe(changed);
      expect(got.c.max_abs_diff).toBe(0.75);
    }
    await checkCompare(f32Bytes(a), 'f32', f32Bytes(b), 'f32', 0.5, 'eps boundary');
  });

  it('non-finite values: NaN=NaN and Inf=Inf are equal; NaN vs number, +Inf vs −Inf, Inf vs number changed; 0 = −0', async () => {
    const a = [NaN, NaN, Infinity, Infinity, -Infinity, Infinity, 0, 1, 2, 3, NaN, 5, -0, Infinity, 8, 9, NaN];
    const b = [NaN, 1.0, Infinity, -Infinity, -Infinity, 7, -0, 1, 2.5, 3, NaN, NaN, 0, Infinity, 8, 9.5, 4];
    // changed: [1] NaN vs 1, [3] +Inf vs −Inf, [5] Inf vs 7, [8] 2 vs 2.5, [11] 5 vs NaN, [15] 9 vs 9.5, [16] NaN vs 4.
    for (const dtype of ['f32', 'f64'] as const) {
      const enc = dtype === 'f32' ? f32Bytes : f64Bytes;
      const [da, db] = writeTensors(tmp.path(`nonfinite-${dtype}.bin`), [
        { dtype, bytes: enc(a) },
        { dtype, bytes: enc(b) },
      ]);
      for (const chunk of CHUNKS) {
        const got = await compareDescs(engineFor(chunk), da!, db!, 0);
        expect(got.c.changed_elements, `${dtype} chunk=${chunk}`).toBe(7);
        expect(got.c.max_abs_diff).toBe(0.5);
        expectClose(got.c.mean_abs_diff, 1 / 7, 1e-15, 0, 'mean |a−b| over the 7 finite pairs');
      }
      await checkCompare(enc(a), dtype, enc(b), dtype, 0, `${dtype} non-finite`);
      await checkCompare(enc(a), dtype, enc(a), dtype, 0, `${dtype} non-finite vs itself`);
      const self = await compareDescs(engineFor(1), da!, da!, 0);
      expect(self.c.changed_elements).toBe(0);
    }
  });

  it('identical tensors: changed 0, max 0, rel L2 0, cosine 1', async () => {
    const rng = new Rng(23);
    const a = f32Bytes(normals(1001, rng, 0, 1));
    await checkCompare(a, 'f32', a, 'f32', 0, 'identical');
    const [da] = writeTensors(tmp.path('ident.bin'), [{ dtype: 'f32', bytes: a }]);
    const got = await compareDescs(engineFor(undefined), da!, da!, 0);
    expect([got.c.changed_elements, got.c.max_abs_diff, got.c.mean_abs_diff, got.c.rel_l2_change]).toEqual([0, 0, 0, 0]);
    expectClose(got.c.cosine_similarity, 1, 0, 1e-12, 'cosine');
  });

  it('zero norms: both zero → rel L2 0 and cosine null; A zero, B not → both null; empty → nulls', async () => {
    const zeros = f32Bytes([0, -0, 0, 0, 0]);
    const some = f32Bytes([0, 1, 0, -2, 0]);
    const [dz, ds, de] = writeTensors(tmp.path('zeros.bin'), [
      { dtype: 'f32', bytes: zeros },
      { dtype: 'f32', bytes: some },
      { dtype: 'f32', bytes: new Uint8Array(0) },
    ]);
    const zz = await compareDescs(engineFor(undefined), dz!, dz!, 0);
    expect([zz.c.rel_l2_change, zz.c.cosine_similarity, zz.c.changed_elements]).toEqual([0, null, 0]);
    const zs = await compareDescs(engineFor(undefined), dz!, ds!, 0);
    expect([zs.c.rel_l2_change, zs.c.cosine_similarity, zs.c.changed_elements, zs.c.max_abs_diff]).toEqual([null, null, 2, 2]);
    const sz = await compareDescs(engineFor(undefined), ds!, dz!, 0);
    expect([sz.c.rel_l2_change, sz.c.cosine_similarity]).toEqual([1, null]);
    const ee = await compareDescs(engineFor(undefined), de!, de!, 0);
    expect([ee.c.max_abs_diff, ee.c.mean_abs_diff, ee.c.cosine_similarity, ee.c.changed_elements]).toEqual([null, null, null, 0]);
    await checkCompare(zeros, 'f32', some, 'f32', 0, 'zero vs some');
    await checkCompare(some, 'f32', zeros, 'f32', 0, 'some vs zero');
  });

  it('opposite and scaled tensors: cosine −1 and 1, rel L2 2 and |k−1|', async () => {
    const rng = new Rng(24);
    const a = normals(513, rng, 0, 1).map(Math.fround);
    await checkCompare(f32Bytes(a), 'f32', f32Bytes(a.map((x) => -x)), 'f32', 0, 'negated');
    await checkCompare(f32Bytes(a), 'f32', f32Bytes(a.map((x) => x * 4)), 'f32', 0, 'scaled by 4');
  });

  it('cross-dtype: f32 against f16 (rounded copy), f32 against f64, f32 against i32', async () => {
    const rng = new Rng(25);
    const n = 1001;
    // b: f16 bit patterns; a: the same values as f32, except every 7th nudged by a few f32 ulps.
    const h = Array.from({ length: n }, () => {
      let x: number;
      do x = rng.int(65536);
      while (!Number.isFinite(f16FromBits(x)));
      return x;
    });
    const exactA = h.map((bits, i) => {
      const v = f16FromBits(bits);
      return i % 7 === 0 ? Math.fround(v * (1 + 2 ** -20)) : v;
    });
    await checkCompare(f32Bytes(exactA), 'f32', u16Bytes(h), 'f16', 0, 'f32 vs f16');
    const ref = exactCompare(exactA, h.map(f16FromBits));
    expect(ref.changed).toBe(exactA.filter((v, i) => v !== f16FromBits(h[i]!)).length);
    expect(ref.changed).toBeGreaterThan(100);

    const a = normals(n, rng, 0, 1).map(Math.fround);
    const b = a.map((x, i) => (i % 5 === 0 ? x + 1e-9 : x));
    await checkCompare(f32Bytes(a), 'f32', f64Bytes(b), 'f64', 0, 'f32 vs f64');
    const ints = Array.from({ length: n }, () => rng.int(2000) - 1000);
    const ib = new Uint8Array(new Int32Array(ints.map((x, i) => (i % 9 === 0 ? x + 1 : x))).buffer);
    await checkCompare(f32Bytes(ints), 'f32', ib, 'i32', 0, 'f32 vs i32');
  });

  it('bf16 against f32: the values bf16 cannot hold are changed', async () => {
    const rng = new Rng(26);
    const bits = Array.from({ length: 777 }, () => 0x3c00 + rng.int(0x0800));
    const f32 = bits.map((b, i) => (i % 3 === 0 ? bf16FromBits(b) + bf16FromBits(b) * 2 ** -12 : bf16FromBits(b)));
    await checkCompare(f32Bytes(f32), 'f32', u16Bytes(bits), 'bf16', 0, 'f32 vs bf16');
  });
});
