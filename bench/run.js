#!/usr/bin/env node
// The benchmark harness: generates its inputs, then reports kernel GB/s (WASM vs plain JS)
// and end-to-end `inspect`/`diff` GB/s with peak RSS, as a table and as JSON in
// bench/results/latest.json. Page cache is warmed before each timed run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeGguf, makeOnnxExternal, makeSafetensors } from './generate.js';
import { makeZip, npyF32 } from './generate-zip.js';
import { runKernelBenchmarks } from './kernels.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, 'data');
const quick = process.argv.includes('--quick');
const GiB = 1 << 30;
const size = quick ? 256 << 20 : GiB;

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

/** @param {string[]} args @param {number} [repeats] @param {number} [expectCode] exit code the case must end with (2: a refusal) */
function runCli(args, repeats = 3, expectCode) {
  let best;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const child = spawnSync(process.execPath, [join(here, 'child.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const wall = performance.now() - t;
    const last = child.stderr.trim().split('\n').pop();
    // split() never returns an empty array, so pop() always yields a string.
    const r = JSON.parse(/** @type {string} */ (last));
    if (expectCode !== undefined ? r.code !== expectCode : r.code > 1) throw new Error(`diffai ${args.join(' ')} ended with ${r.code}: ${child.stderr}`);
    const run = { ...r, wall };
    if (!best || run.ms < best.ms) best = run;
  }
  return best;
}

console.log(
  `diffai bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ${(totalmem() / GiB).toFixed(0)} GiB RAM, node ${process.version}${quick ? ' (quick)' : ''}`,
);

console.log('\nKernels (1 MiB chunks, hot cache), GB/s of stored bytes:');
const kernels = runKernelBenchmarks({ quick });
for (const k of kernels) console.log(`  ${k.name.padEnd(32)} ${k.gbPerSec.toFixed(2).padStart(6)} GB/s  ±${k.rme.toFixed(1)}%`);

console.log('\nEnd to end (page cache warm; best of 3; GB/s of input bytes over the in-process time, wall includes node start-up):');
const inputs = {
  f32: makeSafetensors(join(data, 'f32_a.safetensors'), { dtype: 'f32', bytes: size, seed: 1 }),
  f32b: makeSafetensors(join(data, 'f32_b.safetensors'), { dtype: 'f32', bytes: size, seed: 1, perturb: 1e-3 }),
  bf16: makeSafetensors(join(data, 'bf16.safetensors'), { dtype: 'bf16', bytes: size / 2, seed: 2 }),
  f16: makeSafetensors(join(data, 'f16.safetensors'), { dtype: 'f16', bytes: size / 2, seed: 3 }),
  // ~1 GiB GGUF files (issue 16: inspect at ≥ 80 % of the safetensors f16 speed, GB/s of file bytes).
  q8_0: makeGguf(join(data, 'q8_0.gguf'), { type: 'Q8_0', bytes: size, seed: 4 }),
  q4_k: makeGguf(join(data, 'q4_k.gguf'), { type: 'Q4_K', bytes: size, seed: 5 }),
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
cases.push(['diff f32 pair 1 thread', [inputs.f32, inputs.f32b, '-o', 'json', '--threads', '1'], [inputs.f32, inputs.f32b]]);
cases.push([`diff f32 pair ${N} threads`, [inputs.f32, inputs.f32b, '-o', 'json', '--threads', String(N)], [inputs.f32, inputs.f32b]]);
cases.push(['diff --shape-only f32 pair', [inputs.f32, inputs.f32b, '--shape-only'], [inputs.f32, inputs.f32b]]);
// Many small tensors (issue 9 item 5): 100,000 tensors of 64 f32 each, every 10th changed in B.
const many = {
  a: makeSafetensors(join(data, 'many_a.safetensors'), { dtype: 'f32', bytes: 100_000 * 64 * 4, tensors: 100_000, seed: 5 }),
  b: makeSafetensors(join(data, 'many_b.safetensors'), { dtype: 'f32', bytes: 100_000 * 64 * 4, tensors: 100_000, seed: 5, perturb: 1e-3, changeEvery: 10 }),
};
cases.push(['diff 100k small tensors', [many.a, many.b, '-o', 'json'], [many.a, many.b]]);
cases.push(['inspect 100k small tensors', ['inspect', many.a, '-o', 'json'], [many.a]]);
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
/** @type {Array<[name: string, args: string[], files: string[], repeats: number, expectCode?: number]>} */
const scaleCases = [
  ['diff --shape-only 1M tensors', [million, million, '--shape-only'], [million], 1],
  ['diff 1M tensors with itself', [million, million, '-o', 'json'], [million], 1],
  ['diff --shape-only 1M-tensor pair', [million, millionB, '--shape-only'], [million, millionB], 1],
  ['diff 1M-tensor pair', [million, millionB, '-o', 'json'], [million, millionB], 1],
  ['inspect 100k-entry .npz', ['inspect', manyNpz, '-o', 'json'], [manyNpz], 1],
  ['1.2M-entry .pt refused', ['inspect', manyPt], [manyPt], 1, 2],
  ['64 overlapping zip entries refused', ['inspect', overlapping], [overlapping], 1, 2],
];
/** @typedef {{ name: string, bytes: number, ms: number, wallMs: number, gbPerSec: number | null, peakRssMB: number | null, code?: number }} E2eRow */
/** @type {E2eRow[]} */
const e2e = [];
for (const [name, args, files, repeats, expectCode] of [...cases.map((c) => /** @type {const} */ ([...c, 3, undefined])), ...scaleCases]) {
  files.forEach(warm);
  const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
  const r = runCli(args, repeats, expectCode);
  const row = { name, bytes, ms: r.ms, wallMs: r.wall, gbPerSec: bytes / r.ms / 1e6, peakRssMB: r.maxRssKB / 1024 };
  e2e.push(row);
  console.log(
    `  ${name.padEnd(30)} ${(bytes / 1e9).toFixed(2)} GB  ${row.gbPerSec.toFixed(2).padStart(6)} GB/s  ${r.ms.toFixed(0).padStart(5)} ms (wall ${r.wall.toFixed(0)} ms)  peak RSS ${row.peakRssMB.toFixed(0)} MB`,
  );
}

// Start-up bound: a diff of two small files, wall time of the whole command.
{
  const small = [join(here, '..', 'fixtures', 'core', 'digits_mlp.safetensors'), join(here, '..', 'fixtures', 'core', 'digits_mlp_finetuned.safetensors')];
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spawnSync(process.execPath, [join(here, '..', 'bin', 'diffai.js'), ...small], { stdio: 'ignore' });
    best = Math.min(best, performance.now() - t);
  }
  e2e.push({
    name: 'diff of two small files (wall)',
    bytes: small.reduce((s, f) => s + statSync(f).size, 0),
    ms: best,
    wallMs: best,
    gbPerSec: null,
    peakRssMB: null,
  });
  console.log(`  ${'diff of two small files'.padEnd(28)} wall ${best.toFixed(0)} ms (node start-up included)`);
}

// Peers: the same four statistics by a NumPy script and by torch.load + torch ops.
console.log('\nPeers (same files, page cache warm, best of 2):');
const python = findPython();
const peers = [];
/** @param {string[]} args */
function runPython(args) {
  let best;
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const r = spawnSync(python.exe, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
    const wall = performance.now() - t;
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    if (!best || out.seconds < best.seconds) best = { ...out, wall };
  }
  return best;
}
// Our side of each ratio: the faster of the 1- and N-thread runs of the same command.
// Only the start-up row has gbPerSec null, and no prefix passed here matches it.
/** @param {string} prefix */
const ours = (prefix) =>
  /** @type {Array<E2eRow & { gbPerSec: number }>} */ (e2e.filter((row) => row.name.startsWith(prefix))).reduce((a, b) => (b.gbPerSec > a.gbPerSec ? b : a));
if (!python.numpy) {
  console.log('  NumPy reference skipped: no python3 with numpy found (Debian: apt-get install python3-numpy)');
} else {
  warm(inputs.f32);
  const r = runPython([join(here, 'reference_numpy.py'), inputs.f32]);
  const gbs = r.bytes / r.seconds / 1e9;
  peers.push({ name: 'numpy stats f32', gbPerSec: gbs, ms: r.seconds * 1000, oursGbPerSec: ours('inspect f32 ').gbPerSec });
  console.log(
    `  numpy memmap + mean/std/min/max   ${gbs.toFixed(2).padStart(6)} GB/s  → diffai inspect is ${(ours('inspect f32 ').gbPerSec / gbs).toFixed(1)}× faster`,
  );
}
if (!python.torch) {
  console.log('  PyTorch reference skipped: no python3 with torch found (Debian: apt-get install python3-torch)');
} else {
  const pt = join(data, 'f32_a.pt');
  if (!existsSync(pt) || statSync(pt).mtimeMs < statSync(inputs.f32).mtimeMs) {
    const made = spawnSync(python.exe, [join(here, 'reference_torch.py'), 'make', inputs.f32, pt], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
  }
  warm(pt);
  const bytes = statSync(pt).size;
  const r0 = runCli(['inspect', pt, '-o', 'json']);
  const row = { name: 'inspect f32 .pt', bytes, ms: r0.ms, wallMs: r0.wall, gbPerSec: bytes / r0.ms / 1e6, peakRssMB: r0.maxRssKB / 1024 };
  e2e.push(row);
  console.log(`  diffai inspect of the same .pt    ${row.gbPerSec.toFixed(2).padStart(6)} GB/s  peak RSS ${row.peakRssMB.toFixed(0)} MB`);
  const r = runPython([join(here, 'reference_torch.py'), 'stats', pt]);
  const gbs = r.bytes / r.seconds / 1e9;
  peers.push({ name: 'torch.load + stats f32', gbPerSec: gbs, ms: r.seconds * 1000, oursGbPerSec: row.gbPerSec });
  console.log(`  torch.load + mean/std/min/max     ${gbs.toFixed(2).padStart(6)} GB/s  → diffai inspect is ${(row.gbPerSec / gbs).toFixed(1)}× faster`);
}

const out = join(here, 'results', 'latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, quick, kernels, e2e, peers }, null, 2)}\n`,
);
console.log(`\nwritten ${out}`);
