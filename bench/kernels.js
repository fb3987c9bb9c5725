// Kernel micro-benchmarks with benchmark.js: GB/s of stored bytes through the WASM path
// (widening + one-pass statistics) for each dtype, against a plain JavaScript loop that
// computes the same statistics.
import Benchmark from 'benchmark';
import { Kernels } from '../dist/src/engine/kernels.js';
import { pipelineFor, prepare } from '../dist/src/engine/pipeline.js';

const CHUNK = 1 << 20;

/** @typedef {'f32' | 'f64' | 'bf16' | 'f16' | 'i8' | 'u8' | 'i32' | 'i64'} BenchDtype */
/** @typedef {{ name: string, gbPerSec: number, rme: number }} KernelResult */

/** @param {Float32Array} x */
function jsStatsF32(x) {
  // Same quantities as the kernel: pivot-shifted sums in f64, min, max, zero count.
  const p = x[0];
  let s = 0,
    q = 0,
    lo = Infinity,
    hi = -Infinity,
    zeros = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const d = v - p;
    s += d;
    q += d * d;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v === 0) zeros++;
  }
  return s + q + lo + hi + zeros;
}

/**
 * Realistic weights (uniform ±0.035) in the dtype's own encoding; integers span their range.
 * @param {Kernels} k
 * @param {BenchDtype} dtype
 */
function fill(k, dtype) {
  const bytes = k.view(k.rawA, CHUNK);
  const view = new DataView(bytes.buffer, bytes.byteOffset, CHUNK);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let state = 7;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296 - 0.5;
  };
  const size = { f32: 4, f64: 8, bf16: 2, f16: 2, i8: 1, u8: 1, i32: 4, i64: 8 }[dtype];
  for (let o = 0; o < CHUNK; o += size) {
    const x = next();
    switch (dtype) {
      case 'f32':
        view.setFloat32(o, x * 0.07, true);
        break;
      case 'f64':
        view.setFloat64(o, x * 0.07, true);
        break;
      case 'bf16':
        f32[0] = x * 0.07;
        view.setUint16(o, u32[0] >>> 16, true);
        break;
      case 'f16':
        view.setUint16(o, (x < 0 ? 0x8000 : 0) | (0x2000 + Math.floor(Math.abs(x) * 0x1000)), true);
        break; // |v| in [2^-7, 2^-6)
      case 'i8':
        view.setInt8(o, Math.round(x * 254));
        break;
      case 'u8':
        view.setUint8(o, Math.round((x + 0.5) * 255));
        break;
      case 'i32':
        view.setInt32(o, Math.round(x * 2 ** 31), true);
        break;
      case 'i64':
        view.setBigInt64(o, BigInt(Math.round(x * 2 ** 52)), true);
        break;
    }
  }
}

/**
 * The stats path of one 1 MiB chunk of `dtype` at rawA, as the engine takes it: the dtype's own
 * stats kernel, or widening and the f32/f64 kernel.
 * @param {Kernels} k
 * @param {BenchDtype} dtype
 */
function statsOf(k, dtype) {
  const p = pipelineFor({ dtype, byteOrder: 'little' });
  const n = CHUNK / p.blockBytes;
  return () => {
    if (p.fusedStats) k.k[p.fusedStats](k.rawA, n, k.scratchA);
    else {
      const ptr = prepare(k, p, k.rawA, k.scratchA, n);
      if (p.kind === 'f64') k.k.stats_f64(ptr, n);
      else k.k.stats_f32(ptr, n);
    }
  };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {KernelResult[]}
 */
export function runKernelBenchmarks({ quick = false } = {}) {
  const k = new Kernels();
  /** @type {KernelResult[]} */
  const results = [];
  /** @type {BenchDtype[]} */
  const dtypes = ['f32', 'f64', 'bf16', 'f16', 'i8', 'u8', 'i32', 'i64'];
  const suite = new Benchmark.Suite();
  for (const dtype of dtypes) {
    suite.add(`wasm ${dtype}`, statsOf(k, dtype), { onStart: () => fill(k, dtype), minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
  }
  // |mean| ≫ std, where sums around 0 would cancel: u8 data around a zero point of 128 (exact
  // integer sums) and f32 norm weights around 1 (the pivot guess keeps it one pass).
  for (const [dtype, center] of /** @type {const} */ ([
    ['u8', 128],
    ['f32', 1],
  ])) {
    suite.add(`wasm ${dtype} around ${center}`, statsOf(k, dtype), {
      onStart: () => {
        fill(k, dtype);
        if (dtype === 'u8') {
          const b = k.view(k.rawA, CHUNK);
          for (let i = 0; i < CHUNK; i++) b[i] = center - 3 + ((b[i] ?? 0) % 7);
        } else {
          const x = new Float32Array(k.k.memory.buffer, k.rawA, CHUNK / 4);
          for (let i = 0; i < x.length; i++) x[i] = (x[i] ?? 0) + center;
        }
      },
      minSamples: quick ? 5 : 20,
      maxTime: quick ? 0.5 : 2,
    });
  }
  // DESIGN §4: the SIMD bit trick and the 65,536-entry table each won a measurement; measure both.
  suite.add('f16 → f32 widen, SIMD', () => k.k.f16_to_f32(k.rawA, k.scratchA, CHUNK / 2), {
    onStart: () => fill(k, 'f16'),
    minSamples: quick ? 5 : 20,
    maxTime: quick ? 0.5 : 2,
  });
  suite.add('f16 → f32 widen, table', () => k.k.f16_to_f32_table(k.rawA, k.scratchA, CHUNK / 2), {
    onStart: () => fill(k, 'f16'),
    minSamples: quick ? 5 : 20,
    maxTime: quick ? 0.5 : 2,
  });
  const js = new Float32Array(CHUNK / 4).map((_, i) => Math.sin(i) * 0.03);
  suite.add('plain JS f32', () => jsStatsF32(js), { minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
  suite.add('wasm compare f32 (both sides)', () => k.k.compare_f32(k.rawA, k.rawB, CHUNK / 4, 0), {
    // B is A with every 7th element nudged: a realistic fine-tune.
    onStart: () => {
      fill(k, 'f32');
      const a = new Float32Array(k.k.memory.buffer, k.rawA, CHUNK / 4);
      const b = new Float32Array(k.k.memory.buffer, k.rawB, CHUNK / 4);
      b.set(a);
      for (let i = 0; i < b.length; i += 7) b[i] += 1e-3;
    },
    minSamples: quick ? 5 : 20,
    maxTime: quick ? 0.5 : 2,
  });
  // The diff's fused kernel (stats of A, stats of B, comparison in one pass), f32, bf16 and f16 pairs.
  for (const dtype of /** @type {const} */ (['f32', 'bf16', 'f16'])) {
    const size = dtype === 'f32' ? 4 : 2;
    const src = { f32: 0, bf16: 1, f16: 2 }[dtype]; // assembly/stats.ts SRC_*
    suite.add(`wasm fused diff ${dtype} (both sides)`, () => k.k.compare_stats(k.rawA, src, k.rawB, src, CHUNK / size, 0, k.scratchA, k.scratchB), {
      onStart: () => {
        fill(k, dtype);
        const a = new Uint8Array(k.k.memory.buffer, k.rawA, CHUNK);
        const b = new Uint8Array(k.k.memory.buffer, k.rawB, CHUNK);
        b.set(a);
        for (let i = 0; i < CHUNK; i += 7 * size) b[i] ^= 1; // nudge every 7th element in its lowest mantissa bit
      },
      minSamples: quick ? 5 : 20,
      maxTime: quick ? 0.5 : 2,
    });
  }
  suite.on(
    'cycle',
    /** @param {{ target: Benchmark & { name: string } }} event */ (event) => {
      const b = event.target;
      const bytes = b.name.includes('(both sides)') ? 2 * CHUNK : CHUNK;
      results.push({ name: b.name, gbPerSec: (b.hz * bytes) / 1e9, rme: b.stats.rme });
    },
  );
  suite.run();
  return results;
}
