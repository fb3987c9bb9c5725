#!/usr/bin/env node
// The benchmark harness: generates its inputs, then reports kernel GB/s (WASM vs plain JS),
// end-to-end `inspect`/`diff` GB/s with peak RSS, start-up against `node -e 0`, and peers on
// the same files in the same run — a NumPy memmap script, torch.load + torch statistics, and
// a C reading-and-statistics loop (bench/ceiling.c) as the ceiling — as ratios. Results go
// to bench/results/latest.json (bench/report.js prints the README tables).
//
//   node bench/run.js [--quick | --size-mb M] [--baseline DIR]
//
// --baseline DIR: a built checkout (e.g. a worktree of main) whose bench/child.js runs every
// end-to-end case back to back with ours, alternating, so a loaded machine slows both alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeGguf, makeOnnxExternal, makeSafetensors, readSafetensorsHeader } from './generate.js';
import { makeZip, npyF32 } from './generate-zip.js';
import { runKernelBenchmarks } from './kernels.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const data = join(here, 'data');
const quick = process.argv.includes('--quick');
const baselineArg = process.argv.indexOf('--baseline');
const baseline = baselineArg > 0 ? resolve(/** @type {string} */ (process.argv[baselineArg + 1])) : undefined;
const GiB = 1 << 30;
const sizeArg = process.argv.indexOf('--size-mb');
// --size-mb M: inputs of M MiB, quick kernels and without the fixed-size many-tensor and scale
// rows (a check that the harness, its peers and ratios run; not numbers to publish).
const harnessCheck = sizeArg > 0;
const size = harnessCheck ? Number(process.argv[sizeArg + 1]) << 20 : quick ? 256 << 20 : GiB;
const REPEATS = 3;

/** A python3 with numpy (and maybe torch): Debian's /usr/bin/python3 first. */
function findPython() {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(exe, ['-c', 'import importlib.util as u; print(bool(u.find_spec("numpy")), bool(u.find_spec("torch")))'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [numpy, torch] = probe.stdout
      .trim()
      .split(' ')
      .map((x) => x === 'True');
    if (numpy) return { exe, numpy, torch };
  }
  return { exe: 'python3', numpy: false, torch: false };
}

/** @param {string} path */
function warm(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let pos = 0;
  while (readSync(fd, buf, 0, buf.length, pos) > 0) pos += buf.length;
  closeSync(fd);
}

/** @typedef {{ code: number, ms: number, maxRssKB: number, wall: number }} CliRun */

/**
 * One run of bench/child.js of the checkout at `dir` (in-process time, peak RSS, wall time).
 * @param {string} dir @param {string[]} args @param {number} [expectCode] exit code the case must end with (2: a refusal)
 * @returns {CliRun}
 */
function runChild(dir, args, expectCode) {
  const t = performance.now();
  const child = spawnSync(process.execPath, [join(dir, 'bench', 'child.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = performance.now() - t;
  const last = child.stderr.trim().split('\n').pop();
  // split() never returns an empty array, so pop() always yields a string.
  const r = JSON.parse(/** @type {string} */ (last));
  if (expectCode !== undefined ? r.code !== expectCode : r.code > 1) throw new Error(`diffai ${args.join(' ')} ended with ${r.code} (${dir}): ${child.stderr}`);
  return { ...r, wall };
}

/**
 * Best of `repeats` (by in-process time) for ours and, alternating with it, the baseline.
 * @param {string[]} args @param {number} repeats @param {number} [expectCode]
 */
function runCli(args, repeats, expectCode) {
  /** @type {CliRun | undefined} */ let best;
  /** @type {CliRun | undefined} */ let base;
  for (let i = 0; i < repeats; i++) {
    const run = runChild(root, args, expectCode);
    if (!best || run.ms < best.ms) best = run;
    if (baseline) {
      const b = runChild(baseline, args, expectCode);
      if (!base || b.ms < base.ms) base = b;
    }
  }
  return { best: /** @type {CliRun} */ (best), base };
}

/** Wall times (ms) of a command, `n` runs. @param {string[]} argv @param {number} n */
function wallTimes(argv, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = spawnSync(/** @type {string} */ (argv[0]), argv.slice(1), { stdio: 'ignore' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    out.push(performance.now() - t);
  }
  return out;
}
/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

console.log(
  `diffai bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ${(totalmem() / GiB).toFixed(0)} GiB RAM, node ${process.version}, load average ${loadavg()[0]?.toFixed(1)}${quick ? ' (quick)' : ''}${baseline ? `, baseline ${baseline}` : ''}`,
);

console.log('\nKernels (1 MiB chunks, hot cache), GB/s of stored bytes:');
const kernels = runKernelBenchmarks({ quick: quick || harnessCheck });
for (const k of kernels) console.log(`  ${k.name.padEnd(40)} ${k.gbPerSec.toFixed(2).padStart(6)} GB/s  ±${k.rme.toFixed(1)}%`);

console.log(`\nEnd to end (page cache warm; best of ${REPEATS}; GB/s of input bytes over the in-process time, wall includes node start-up):`);
const inputs = {
  f32: makeSafetensors(join(data, 'f32_a.safetensors'), { dtype: 'f32', bytes: size, seed: 1 }),
  f32b: makeSafetensors(join(data, 'f32_b.safetensors'), { dtype: 'f32', bytes: size, seed: 1, perturb: 1e-3 }),
  bf16: makeSafetensors(join(data, 'bf16.safetensors'), { dtype: 'bf16', bytes: size / 2, seed: 2 }),
  f16: makeSafetensors(join(data, 'f16.safetensors'), { dtype: 'f16', bytes: size / 2, seed: 3 }),
  // ~1 GiB GGUF files (issue 16: inspect at ≥ 80 % of the safetensors f16 speed, GB/s of file bytes).
  q8_0: makeGguf(join(data, 'q8_0.gguf'), { type: 'Q8_0', bytes: size, seed: 4 }),
  q4_k: makeGguf(join(data, 'q4_k.gguf'), { type: 'Q4_K', bytes: size, seed: 5 }),
  // A GPT-like checkpoint pair: F32 and BF16 tensors alternating, ~0.5 GiB per file (~1 GB per pair).
  mixedA: makeSafetensors(join(data, 'mixed_a.safetensors'), { dtype: 'f32', bytes: size / 2, tensors: 16, seed: 7, mixed: true }),
  mixedB: makeSafetensors(join(data, 'mixed_b.safetensors'), { dtype: 'f32', bytes: size / 2, tensors: 16, seed: 7, mixed: true, perturb: 1e-3 }),
};
// The f16 tensors again as an ONNX model with external data (issue 16: ≥ 80 % of the safetensors f16 speed).
const onnxF16 = makeOnnxExternal(join(data, 'f16_external.onnx'), inputs.f16);
const N = cpus().length;
/** @type {Array<[name: string, args: string[], files: string[]]>} */
const cases = [];
for (const [label, file] of [
  ['f32', inputs.f32],
  ['bf16', inputs.bf16],
  ['f16', inputs.f16],
  ['gguf q8_0', inputs.q8_0],
  ['gguf q4_k', inputs.q4_k],
]) {
  cases.push([`inspect ${label} 1 thread`, ['inspect', file, '-o', 'json', '--threads', '1'], [file]]);
  cases.push([`inspect ${label} ${N} threads`, ['inspect', file, '-o', 'json', '--threads', String(N)], [file]]);
}
// Its bytes are the safetensors file's data section, so that file is what is warmed and counted.
cases.push(['inspect onnx f16 external 1 thread', ['inspect', onnxF16, '-o', 'json', '--threads', '1'], [inputs.f16]]);
const mixed = [inputs.mixedA, inputs.mixedB];
cases.push(['diff mixed F32/BF16 pair 1 thread', [...mixed, '-o', 'json', '--threads', '1'], mixed]);
cases.push([`diff mixed F32/BF16 pair ${N} threads`, [...mixed, '-o', 'json', '--threads', String(N)], mixed]);
cases.push(['diff f32 pair 1 thread', [inputs.f32, inputs.f32b, '-o', 'json', '--threads', '1'], [inputs.f32, inputs.f32b]]);
cases.push([`diff f32 pair ${N} threads`, [inputs.f32, inputs.f32b, '-o', 'json', '--threads', String(N)], [inputs.f32, inputs.f32b]]);
cases.push(['diff --shape-only f32 pair', [inputs.f32, inputs.f32b, '--shape-only'], [inputs.f32, inputs.f32b]]);
// Issue 12: --low-rank-delta, top-32 singular values of ΔW for a 4096×4096 f32 pair (target ≤ 5 s, peak RSS ≤ 200 MB).
const matrix = {
  a: makeSafetensors(join(data, 'matrix_a.safetensors'), { dtype: 'f32', tensors: 1, shape: [4096, 4096], seed: 11 }),
  b: makeSafetensors(join(data, 'matrix_b.safetensors'), { dtype: 'f32', tensors: 1, shape: [4096, 4096], seed: 11, perturb: 1e-3 }),
};
cases.push(['low-rank-delta 4096² top-32 1 thread', [matrix.a, matrix.b, '--low-rank-delta', '-o', 'json', '--threads', '1'], [matrix.a, matrix.b]]);
cases.push([`low-rank-delta 4096² top-32 ${N} threads`, [matrix.a, matrix.b, '--low-rank-delta', '-o', 'json', '--threads', String(N)], [matrix.a, matrix.b]]);
// Many small tensors (issue 9 item 5): 100,000 tensors of 64 f32 each, every 10th changed in B.
if (!harnessCheck) {
  const many = {
    a: makeSafetensors(join(data, 'many_a.safetensors'), { dtype: 'f32', bytes: 100_000 * 64 * 4, tensors: 100_000, seed: 5 }),
    b: makeSafetensors(join(data, 'many_b.safetensors'), { dtype: 'f32', bytes: 100_000 * 64 * 4, tensors: 100_000, seed: 5, perturb: 1e-3, changeEvery: 10 }),
  };
  cases.push(['diff 100k small tensors', [many.a, many.b, '-o', 'json'], [many.a, many.b]]);
  cases.push(['diff 100k small tensors (text)', [many.a, many.b], [many.a, many.b]]);
  cases.push(['inspect 100k small tensors', ['inspect', many.a, '-o', 'json'], [many.a]]);
  cases.push(['inspect 100k small tensors (text)', ['inspect', many.a], [many.a]]);
}
/** @returns {Array<[name: string, args: string[], files: string[], repeats: number, expectCode?: number]>} */
function makeScaleCases() {
  // Scale (issue 15 items 4–5, issue 17): a 1,000,000-tensor header (16 f32 each), a
  // 100,000-entry .npz, and archives refused by budget: a 1.2-million-entry torch-style zip and
  // 64 names for one deflated record.
  const million = makeSafetensors(join(data, 'million.safetensors'), { dtype: 'f32', bytes: 1_000_000 * 16 * 4, tensors: 1_000_000, seed: 7 });
  // A second 1,000,000-tensor file (every 1000th tensor changed): a pair of distinct files, not one file read once for both sides.
  const millionB = makeSafetensors(join(data, 'million_b.safetensors'), {
    dtype: 'f32',
    bytes: 1_000_000 * 16 * 4,
    tensors: 1_000_000,
    seed: 7,
    perturb: 1e-3,
    changeEvery: 1000,
  });
  const manyNpz = join(data, 'many_entries.npz');
  if (!existsSync(manyNpz)) {
    makeZip(
      manyNpz,
      (function* () {
        for (let i = 0; i < 100_000; i++) yield { name: `a${i}.npy`, data: npyF32(Float32Array.from({ length: 16 }, (_, j) => Math.sin(i * 16 + j))) };
      })(),
    );
  }
  const manyPt = join(data, 'many_entries.pt');
  if (!existsSync(manyPt)) {
    makeZip(
      manyPt,
      (function* () {
        yield { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) }; // {} (protocol 2)
        for (let i = 0; i < 1_200_000; i++) yield { name: `archive/data/${i}`, data: new Uint8Array(4) };
      })(),
    );
  }
  const overlapping = join(data, 'overlapping.npz');
  if (!existsSync(overlapping)) {
    const values = new Float32Array(64 << 20); // 256 MiB of zeros: ~256 KB deflated
    makeZip(overlapping, [{ name: 'a.npy', data: npyF32(values), deflate: true }], {
      aliases: Array.from({ length: 63 }, (_, i) => ({ name: `b${i}.npy`, of: 0 })),
    });
  }
  return [
    ['diff --shape-only 1M tensors', [million, million, '--shape-only'], [million], 1],
    ['diff 1M tensors with itself', [million, million, '-o', 'json'], [million], 1],
    ['diff --shape-only 1M-tensor pair', [million, millionB, '--shape-only'], [million, millionB], 1],
    ['diff 1M-tensor pair', [million, millionB, '-o', 'json'], [million, millionB], 1],
    // Inspect of the 1,000,000-tensor file (issue 15 item 5: ≤ 10 s, ≤ 300 MB), both outputs streamed.
    ['inspect 1M tensors (text)', ['inspect', million], [million], 1],
    ['inspect 1M tensors -o json', ['inspect', million, '-o', 'json'], [million], 1],
    ['inspect 100k-entry .npz', ['inspect', manyNpz, '-o', 'json'], [manyNpz], 1],
    ['1.2M-entry .pt refused', ['inspect', manyPt], [manyPt], 1, 2],
    ['64 overlapping zip entries refused', ['inspect', overlapping], [overlapping], 1, 2],
  ];
}
const scaleCases = harnessCheck ? [] : makeScaleCases();
/**
 * @typedef {{ name: string, bytes: number, ms: number, wallMs: number, gbPerSec: number | null, wallGbPerSec: number | null,
 *   peakRssMB: number | null, baseline?: { ms: number, wallMs: number, gbPerSec: number, peakRssMB: number } }} E2eRow
 */
/** @type {E2eRow[]} */
const e2e = [];
/** @param {number} x */
const fmt = (x) => x.toFixed(2).padStart(6);
for (const [name, args, files, repeats, expectCode] of [...cases.map((c) => /** @type {const} */ ([...c, REPEATS, undefined])), ...scaleCases]) {
  files.forEach(warm);
  const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
  const { best: r, base } = runCli(args, repeats, expectCode);
  /** @type {E2eRow} */
  const row = { name, bytes, ms: r.ms, wallMs: r.wall, gbPerSec: bytes / r.ms / 1e6, wallGbPerSec: bytes / r.wall / 1e6, peakRssMB: r.maxRssKB / 1024 };
  if (base) row.baseline = { ms: base.ms, wallMs: base.wall, gbPerSec: bytes / base.ms / 1e6, peakRssMB: base.maxRssKB / 1024 };
  e2e.push(row);
  console.log(
    `  ${name.padEnd(34)} ${(bytes / 1e9).toFixed(2)} GB ${fmt(/** @type {number} */ (row.gbPerSec))} GB/s ${r.ms.toFixed(0).padStart(5)} ms (wall ${r.wall.toFixed(0)} ms, ${fmt(/** @type {number} */ (row.wallGbPerSec))} GB/s)  peak RSS ${/** @type {number} */ (row.peakRssMB).toFixed(0)} MB${base ? `  | baseline ${fmt(bytes / base.ms / 1e6)} GB/s ${base.ms.toFixed(0)} ms (wall ${base.wall.toFixed(0)} ms)` : ''}`,
  );
}

// Start-up: a diff of two small files against `node -e 0`, alternating, wall time of each command.
/** @type {{ nodeMs: number, oursMs: number, ratio: number, baselineMs?: number, baselineRatio?: number }} */
let startup;
{
  const small = [join(root, 'fixtures', 'core', 'digits_mlp.safetensors'), join(root, 'fixtures', 'core', 'digits_mlp_finetuned.safetensors')];
  const rounds = quick ? 5 : 15;
  const node = [];
  const ours = [];
  const base = [];
  for (let i = 0; i < rounds; i++) {
    node.push(...wallTimes([process.execPath, '-e', '0'], 1));
    ours.push(...wallTimes([process.execPath, join(root, 'bin', 'diffai.js'), ...small], 1));
    if (baseline) base.push(...wallTimes([process.execPath, join(baseline, 'bin', 'diffai.js'), ...small], 1));
  }
  startup = { nodeMs: median(node), oursMs: median(ours), ratio: median(ours) / median(node) };
  if (baseline) Object.assign(startup, { baselineMs: median(base), baselineRatio: median(base) / median(node) });
  e2e.push({
    name: 'diff of two small files (wall)',
    bytes: small.reduce((s, f) => s + statSync(f).size, 0),
    ms: startup.oursMs,
    wallMs: startup.oursMs,
    gbPerSec: null,
    wallGbPerSec: null,
    peakRssMB: null,
  });
  console.log(
    `  start-up: small diff ${startup.oursMs.toFixed(0)} ms, node -e 0 ${startup.nodeMs.toFixed(0)} ms → ${startup.ratio.toFixed(2)}× (medians of ${rounds}, alternating)${baseline ? `; baseline ${startup.baselineMs?.toFixed(0)} ms → ${startup.baselineRatio?.toFixed(2)}×` : ''}`,
  );
}

// Peers on the same files: NumPy (memmap), torch.load + torch ops, and the C loop (the ceiling).
console.log('\nPeers (same files, page cache warm, best of 2; ratio = diffai GB/s ÷ peer GB/s, both over wall time incl. start-up):');
/** @typedef {{ name: string, gbPerSec: number, ms: number, ours: string, oursGbPerSec: number }} Peer */
/** @type {Peer[]} */
const peers = [];
const notes = [];
/** Our row's wall-time GB/s (start-up included), the faster of its thread counts. @param {string} prefix */
const ours = (prefix) =>
  e2e
    .filter((row) => row.name.startsWith(prefix) && row.wallGbPerSec !== null)
    .reduce((a, b) => (/** @type {number} */ (b.wallGbPerSec) > /** @type {number} */ (a.wallGbPerSec) ? b : a));
/** @param {string} name @param {{ bytes: number, seconds: number, wall: number }} r @param {E2eRow} row */
function addPeer(name, r, row) {
  const gbs = r.bytes / (r.wall / 1000) / 1e9;
  const mine = /** @type {number} */ (row.wallGbPerSec);
  peers.push({ name, gbPerSec: gbs, ms: r.wall, ours: row.name, oursGbPerSec: mine });
  console.log(`  ${name.padEnd(44)} ${fmt(gbs)} GB/s (wall ${r.wall.toFixed(0)} ms)  vs ${row.name}: diffai ${fmt(mine)} GB/s → ${(mine / gbs).toFixed(2)}×`);
}
/** @param {string} exe @param {string[]} args @param {Record<string, string>} [env] */
function runPeer(exe, args, env = {}) {
  /** @type {{ bytes: number, seconds: number, wall: number } | undefined} */
  let best;
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const r = spawnSync(exe, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, maxBuffer: 64 << 20 });
    const wall = performance.now() - t;
    if (r.status !== 0) throw new Error(`${exe} ${args.join(' ')}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    if (!best || wall < best.wall) best = { ...out, wall };
  }
  return /** @type {{ bytes: number, seconds: number, wall: number }} */ (best);
}

// The C ceiling: compiled here when a C compiler exists.
const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
const ceilingExe = join(data, 'ceiling');
let ceiling = false;
if (!cc) notes.push('C ceiling skipped: no C compiler (cc/gcc/clang) found');
else {
  const built = spawnSync(cc, ['-O3', '-mavx2', '-mf16c', '-o', ceilingExe, join(here, 'ceiling.c')], { encoding: 'utf8' });
  if (built.status === 0) ceiling = true;
  else notes.push(`C ceiling skipped: ${cc} -O3 -mavx2 -mf16c failed (${built.stderr.trim().split('\n')[0]})`);
}
/** The tensors' byte ranges for the C loop: "DTYPE startA endA startB endB" per line. @param {string} a @param {string} [b] */
function layoutFor(a, b) {
  const { tensors: ha, dataStart: oa } = readSafetensorsHeader(a);
  const { tensors: hb, dataStart: ob } = b ? readSafetensorsHeader(b) : { tensors: ha, dataStart: oa };
  const lines = Object.entries(ha).map(([name, t]) => {
    const u = /** @type {{ data_offsets: [number, number] }} */ (hb[name]);
    return [t.dtype, oa + t.data_offsets[0], oa + t.data_offsets[1], ob + u.data_offsets[0], ob + u.data_offsets[1]].join(' ');
  });
  const path = join(data, `layout-${lines.length}-${statSync(a).size}.txt`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const python = findPython();
if (!python.numpy) notes.push('NumPy reference skipped: no python3 with numpy found (Debian: apt-get install python3-numpy)');
else {
  warm(inputs.f32);
  addPeer('numpy memmap: mean/std/min/max f32', runPeer(python.exe, [join(here, 'reference_numpy.py'), inputs.f32]), ours('inspect f32 '));
  mixed.forEach(warm);
  addPeer('numpy memmap: diff mixed pair (chunked)', runPeer(python.exe, [join(here, 'reference_numpy.py'), 'diff', ...mixed]), ours('diff mixed'));
}
if (ceiling) {
  warm(inputs.f32);
  addPeer('C loop (ceiling): stats f32', runPeer(ceilingExe, [layoutFor(inputs.f32), inputs.f32]), ours('inspect f32 '));
  mixed.forEach(warm);
  addPeer('C loop (ceiling): diff mixed pair', runPeer(ceilingExe, [layoutFor(inputs.mixedA, inputs.mixedB), ...mixed]), ours('diff mixed'));
}
if (!python.torch) notes.push('PyTorch reference skipped: no python3 with torch found (Debian: apt-get install python3-torch)');
else {
  const pt = join(data, 'f32_a.pt');
  if (!existsSync(pt) || statSync(pt).mtimeMs < statSync(inputs.f32).mtimeMs) {
    const made = spawnSync(python.exe, [join(here, 'reference_torch.py'), 'make', inputs.f32, pt], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
  }
  warm(pt);
  const bytes = statSync(pt).size;
  const { best: r0, base } = runCli(['inspect', pt, '-o', 'json'], REPEATS);
  /** @type {E2eRow} */
  const row = {
    name: 'inspect f32 .pt',
    bytes,
    ms: r0.ms,
    wallMs: r0.wall,
    gbPerSec: bytes / r0.ms / 1e6,
    wallGbPerSec: bytes / r0.wall / 1e6,
    peakRssMB: r0.maxRssKB / 1024,
  };
  if (base) row.baseline = { ms: base.ms, wallMs: base.wall, gbPerSec: bytes / base.ms / 1e6, peakRssMB: base.maxRssKB / 1024 };
  e2e.push(row);
  addPeer('torch.load + mean/std/min/max (.pt)', runPeer(python.exe, [join(here, 'reference_torch.py'), 'stats', pt]), row);
}
for (const n of notes) console.log(`  ${n}`);

// The issue's targets, checked against this run (rows a harness check leaves out are skipped).
/** @param {string} name */
const row = (name) => e2e.find((r) => r.name === name);
const mixedBest = ours('diff mixed');
const cDiff = peers.find((p) => p.name === 'C loop (ceiling): diff mixed pair');
// The 1M-tensor rows have their own budget (300 MB for the header case); every other row 200 MB.
const million = (/** @type {E2eRow} */ r) => r.name.includes('1M');
const rssRows = e2e.filter((r) => r.peakRssMB !== null && !million(r));
const rss = Math.max(...rssRows.map((r) => /** @type {number} */ (r.peakRssMB)));
const overRss = rssRows.filter((r) => /** @type {number} */ (r.peakRssMB) > 200).map((r) => r.name);
const manyPair = row('diff 100k small tensors');
const millionHeader = row('diff --shape-only 1M-tensor pair');
const millionInspect = row('inspect 1M tensors -o json');
/** @type {Array<[name: string, value: number | null | undefined, goal: number, better: 'min' | 'max', unit: string]>} */
const goals = [
  ['diff ~1 GB mixed pair, wall incl. start-up', mixedBest.wallGbPerSec, 4, 'min', 'GB/s'],
  ['diff mixed pair ÷ the C loop (wall)', cDiff ? /** @type {number} */ (mixedBest.wallGbPerSec) / cDiff.gbPerSec : null, 0.5, 'min', '×'],
  ['inspect f32, 1 thread', row('inspect f32 1 thread')?.gbPerSec, 5, 'min', 'GB/s'],
  ['inspect bf16', ours('inspect bf16').gbPerSec, 3.5, 'min', 'GB/s'],
  ['inspect f16', ours('inspect f16').gbPerSec, 2.5, 'min', 'GB/s'],
  ['small diff ÷ node -e 0 (wall)', startup.ratio, 1.5, 'max', '×'],
  ['diff of a 100,000-tensor pair, wall', manyPair ? manyPair.wallMs / 1000 : null, 1, 'max', 's'],
  ['1,000,000-tensor header --shape-only, wall', millionHeader ? millionHeader.wallMs / 1000 : null, 3, 'max', 's'],
  ['1,000,000-tensor header --shape-only, peak RSS', millionHeader?.peakRssMB, 300, 'max', 'MB'],
  ['inspect 1,000,000 tensors -o json, wall', millionInspect ? millionInspect.wallMs / 1000 : null, 10, 'max', 's'],
  ['inspect 1,000,000 tensors -o json, peak RSS', millionInspect?.peakRssMB, 300, 'max', 'MB'],
  [`peak RSS, every other row${overRss.length ? ` (over: ${overRss.join(', ')})` : ''}`, rss, 200, 'max', 'MB'],
];
const targets = goals
  .filter(([, value]) => value !== null && value !== undefined && Number.isFinite(value))
  .map(([name, value, goal, better, unit]) => ({
    name,
    value: Number(value),
    goal,
    better,
    unit,
    met: better === 'min' ? Number(value) >= goal : Number(value) <= goal,
  }));
console.log('\nTargets (issue 17):');
for (const t of targets)
  console.log(`  ${t.met ? 'met    ' : 'NOT met'} ${t.name}: ${t.value.toFixed(2)} ${t.unit} (goal ${t.better === 'min' ? '≥' : '≤'} ${t.goal})`);

const out = join(here, 'results', 'latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, load: loadavg()[0], node: process.version, quick, baseline: baseline !== undefined, kernels, e2e, startup, peers, notes, targets }, null, 2)}\n`,
);
console.log(`\nwritten ${out}`);
