// Kernel micro-benchmarks with benchmark.js: GB/s of stored bytes through the WASM path
// (widening + one-pass statistics) for each dtype, against a plain JavaScript loop that
// computes the same statistics.
import Benchmark from 'benchmark';
import { Kernels } from '../dist/src/engine/kernels.js';
import { pipelineFor, prepare } from '../dist/src/engine/pipeline.js';

const CHUNK = 1 << 20;

function jsStatsF32(x) {
  // Same quantities as the kernel: pivot-shifted sums in f64, min, max, zero count.
  const p = x[0];
  let s = 0, q = 0, lo = Infinity, hi = -Infinity, zeros = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const d = v - p;
    s += d; q += d * d;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v === 0) zeros++;
  }
  return s + q + lo + hi + zeros;
}

function fill(k, dtype) {
  const bytes = k.view(k.rawA, CHUNK);
  let state = 7;
  for (let i = 0; i < CHUNK; i += 4) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    const f = new Float32Array([((state / 4294967296) - 0.5) * 0.07]);
    const b = new Uint8Array(f.buffer);
    if (dtype === 'f32') bytes.set(b, i);
    else if (dtype === 'f64') { const d = new Uint8Array(new Float64Array([f[0]]).buffer); bytes.set(d.subarray(0, 4), i); }
    else bytes.set([b[2], b[3], b[2] ^ 0x5a, b[3] & 0x3b], i); // bf16/f16/ints: plausible bit patterns
  }
}

export function runKernelBenchmarks({ quick = false } = {}) {
  const k = new Kernels();
  const results = [];
  const dtypes = ['f32', 'f64', 'bf16', 'f16', 'i8', 'u8', 'i32', 'i64'];
  const suite = new Benchmark.Suite();
  for (const dtype of dtypes) {
    suite.add(`wasm ${dtype}`, () => {
      const p = pipelineFor({ dtype, byteOrder: 'little' });
      const n = CHUNK / p.elementSize;
      const ptr = prepare(k, p, k.rawA, k.scratchA, n);
      if (p.kind === 'f64') k.k.stats_f64(ptr, n); else k.k.stats_f32(ptr, n);
    }, { onStart: () => fill(k, dtype), minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
  }
  const js = new Float32Array(CHUNK / 4).map((_, i) => Math.sin(i) * 0.03);
  suite.add('plain JS f32', () => jsStatsF32(js), { minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
  suite.add('wasm compare f32 (both sides)', () => k.k.compare_f32(k.rawA, k.rawB, CHUNK / 4, 0), { minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
  suite.on('cycle', (event) => {
    const b = event.target;
    const bytes = b.name.startsWith('wasm compare') ? 2 * CHUNK : CHUNK;
    results.push({ name: b.name, gbPerSec: (b.hz * bytes) / 1e9, rme: b.stats.rme });
  });
  suite.run();
  return results;
}
