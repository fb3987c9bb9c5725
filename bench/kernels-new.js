// Micro-benchmarks of the histogram, per-row and matrix–vector kernels with benchmark.js:
// GB/s of input bytes (both sides for two-tensor kernels) on ~1 MiB chunks already in WASM
// memory. Run after `npm run build`: node bench/kernels-new.js [--quick] [--only=NAME]
import Benchmark from 'benchmark';
import { Kernels } from '../dist/src/engine/kernels.js';

const CHUNK = 1 << 20;
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const k = new Kernels();
const mem = () => k.k.memory.buffer;

let state = 7;
const next = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296 - 0.5;
};

/** @typedef {'f32' | 'f64'} Kind */

/**
 * Realistic weights (uniform ±0.035) in f32 or f64 at ptr; B = A nudged at every 7th element.
 * @param {number} ptr
 * @param {Kind} kind
 * @param {number} [bytes]
 */
function fill(ptr, kind, bytes = CHUNK) {
  const v = kind === 'f32' ? new Float32Array(mem(), ptr, bytes / 4) : new Float64Array(mem(), ptr, bytes / 8);
  for (let i = 0; i < v.length; i++) v[i] = next() * 0.07;
  return v;
}
/** @param {Kind} kind */
function fillPair(kind) {
  const a = fill(k.rawA, kind);
  const b = kind === 'f32' ? new Float32Array(mem(), k.rawB, a.length) : new Float64Array(mem(), k.rawB, a.length);
  b.set(a);
  for (let i = 0; i < b.length; i += 7) b[i] += 1e-3;
}

/** @type {Array<{ name: string, bytes: number, setup: () => void, fn: () => void }>} */
const cases = [];
/** @param {string} name @param {number} bytes @param {() => void} setup @param {() => void} fn */
const add = (name, bytes, setup, fn) => cases.push({ name, bytes, setup, fn });
const hist = k.k.ptrHistOut(),
  rows = k.k.ptrRowsOut(),
  X = k.k.ptrVecX(),
  Y = k.k.ptrVecY();

for (const kind of /** @type {Kind[]} */ (['f32', 'f64'])) {
  const n = CHUNK / (kind === 'f32' ? 4 : 8);
  add(
    `histogram_${kind} 256 bins`,
    CHUNK,
    () => fill(k.rawA, kind),
    () => k.k[`histogram_${kind}`](k.rawA, n, -0.05, 0.05, 256, hist),
  );
  add(
    `histogram_${kind} 1024 bins`,
    CHUNK,
    () => fill(k.rawA, kind),
    () => k.k[`histogram_${kind}`](k.rawA, n, -0.05, 0.05, 1024, hist),
  );
  // Rows of 1024 and of 64 elements (records: ROWS_OUT_BYTES / 288 = 3640 fit, so 64-element
  // f32 rows are fed in calls of ≤ 3640 rows).
  add(
    `rows_${kind} rowLen 1024`,
    CHUNK,
    () => fill(k.rawA, kind),
    () => k.k[`rows_${kind}`](k.rawA, n, 1024, 0, rows),
  );
  add(
    `rows_${kind} rowLen 64`,
    CHUNK,
    () => fill(k.rawA, kind),
    () => {
      for (let s = 0; s < n; s += 64 * 2048) k.k[`rows_${kind}`](k.rawA + s * (kind === 'f32' ? 4 : 8), Math.min(64 * 2048, n - s), 64, 0, rows);
    },
  );
  add(
    `rows2_${kind} rowLen 1024 (both sides)`,
    2 * CHUNK,
    () => fillPair(kind),
    () => k.k[`rows2_${kind}`](k.rawA, k.rawB, n, 1024, 0, rows),
  );
  for (const kk of [1, 4, 16]) {
    const cols = 1024,
      m = n / cols;
    add(
      `matvec_${kind} k=${kk} [${m}, ${cols}]`,
      CHUNK,
      () => {
        fill(k.rawA, kind);
        fill(X, 'f64', cols * kk * 8);
      },
      () => k.k[`matvec_${kind}`](k.rawA, m, cols, cols, X, kk, Y, 0),
    );
    add(
      `matvec_t_${kind} k=${kk} [${m}, ${cols}]`,
      CHUNK,
      () => {
        fill(k.rawA, kind);
        fill(Y, 'f64', m * kk * 8);
        fill(X, 'f64', cols * kk * 8);
      },
      () => k.k[`matvec_t_${kind}`](k.rawA, m, cols, cols, Y, kk, X),
    );
  }
}
add(
  'compare_f32 (both sides, for scale)',
  2 * CHUNK,
  () => fillPair('f32'),
  () => k.k.compare_f32(k.rawA, k.rawB, CHUNK / 4, 0),
);
add(
  'stats_f32 (for scale)',
  CHUNK,
  () => fill(k.rawA, 'f32'),
  () => k.k.stats_f32(k.rawA, CHUNK / 4),
);

const suite = new Benchmark.Suite();
for (const c of cases.filter((x) => !only || x.name.includes(only)))
  suite.add(c.name, c.fn, { onStart: c.setup, minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2 });
suite.on(
  'cycle',
  /** @param {{ target: Benchmark & { name: string } }} event */ (event) => {
    const b = event.target;
    // Every suite entry was added from `cases`, so the find always succeeds.
    const c = /** @type {(typeof cases)[number]} */ (cases.find((x) => x.name === b.name));
    console.log(`${b.name.padEnd(40)} ${((b.hz * c.bytes) / 1e9).toFixed(2).padStart(6)} GB/s  ±${b.stats.rme.toFixed(1)}%`);
  },
);
suite.run();
