#!/usr/bin/env node
// The benchmark harness: generates its inputs, then reports kernel GB/s (WASM vs plain JS)
// and end-to-end `inspect`/`diff` GB/s with peak RSS, as a table and as JSON in
// bench/results/latest.json. Page cache is warmed before each timed run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSafetensors } from './generate.js';
import { runKernelBenchmarks } from './kernels.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, 'data');
const quick = process.argv.includes('--quick');
const GiB = 1 << 30;
const size = quick ? 256 << 20 : GiB;

function warm(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let pos = 0;
  while (readSync(fd, buf, 0, buf.length, pos) > 0) pos += buf.length;
  closeSync(fd);
}

function runCli(args, repeats = 3) {
  let best;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const child = spawnSync(process.execPath, [join(here, 'child.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const wall = performance.now() - t;
    const last = child.stderr.trim().split('\n').pop();
    const r = JSON.parse(last);
    if (r.code > 1) throw new Error(`diffai ${args.join(' ')} failed: ${child.stderr}`);
    const run = { ...r, wall };
    if (!best || run.ms < best.ms) best = run;
  }
  return best;
}

console.log(`diffai bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ${(totalmem() / GiB).toFixed(0)} GiB RAM, node ${process.version}${quick ? ' (quick)' : ''}`);

console.log('\nKernels (1 MiB chunks, hot cache), GB/s of stored bytes:');
const kernels = runKernelBenchmarks({ quick });
for (const k of kernels) console.log(`  ${k.name.padEnd(32)} ${k.gbPerSec.toFixed(2).padStart(6)} GB/s  ±${k.rme.toFixed(1)}%`);

console.log('\nEnd to end (page cache warm; best of 3; GB/s of input bytes over the in-process time, wall includes node start-up):');
const inputs = {
  f32: makeSafetensors(join(data, 'f32_a.safetensors'), { dtype: 'f32', bytes: size, seed: 1 }),
  f32b: makeSafetensors(join(data, 'f32_b.safetensors'), { dtype: 'f32', bytes: size, seed: 1, perturb: 1e-3 }),
  bf16: makeSafetensors(join(data, 'bf16.safetensors'), { dtype: 'bf16', bytes: size / 2, seed: 2 }),
  f16: makeSafetensors(join(data, 'f16.safetensors'), { dtype: 'f16', bytes: size / 2, seed: 3 }),
};
const cases = [
  ['inspect f32', ['inspect', inputs.f32, '-o', 'json'], [inputs.f32]],
  ['inspect bf16', ['inspect', inputs.bf16, '-o', 'json'], [inputs.bf16]],
  ['inspect f16', ['inspect', inputs.f16, '-o', 'json'], [inputs.f16]],
  ['diff f32 pair', [inputs.f32, inputs.f32b, '-o', 'json'], [inputs.f32, inputs.f32b]],
  ['diff --shape-only f32 pair', [inputs.f32, inputs.f32b, '--shape-only'], [inputs.f32, inputs.f32b]],
];
const e2e = [];
for (const [name, args, files] of cases) {
  files.forEach(warm);
  const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
  const r = runCli(args);
  const row = { name, bytes, ms: r.ms, wallMs: r.wall, gbPerSec: bytes / r.ms / 1e6, peakRssMB: r.maxRssKB / 1024 };
  e2e.push(row);
  console.log(`  ${name.padEnd(28)} ${(bytes / 1e9).toFixed(2)} GB  ${row.gbPerSec.toFixed(2).padStart(6)} GB/s  ${r.ms.toFixed(0).padStart(5)} ms (wall ${r.wall.toFixed(0)} ms)  peak RSS ${row.peakRssMB.toFixed(0)} MB`);
}

const out = join(here, 'results', 'latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, quick, kernels, e2e }, null, 2) + '\n');
console.log(`\nwritten ${out}`);
