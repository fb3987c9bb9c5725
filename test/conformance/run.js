#!/usr/bin/env node
// Conformance with the original tool's one published result: diffs simple_base and
// simple_modified from ../shared/reference/diffai-fixtures (beside this repository) and
// checks the lines printed in that folder's README. Not part of `npm test`: it needs shared/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = process.env.DIFFAI_REFERENCE_FIXTURES ?? resolve(root, '..', 'shared', 'reference', 'diffai-fixtures');
if (!existsSync(join(dir, 'README.md'))) {
  console.error(`conformance: reference fixtures not found at ${dir} (set DIFFAI_REFERENCE_FIXTURES)`);
  process.exit(2);
}
const readme = readFileSync(join(dir, 'README.md'), 'utf8');
const block = readme.split('```').find((part) => part.includes('~ fc1.bias'));
if (!block) {
  console.error(`conformance: ${join(dir, 'README.md')} has no expected diff block`);
  process.exit(2);
}
const expected = block.split('\n').filter((line) => line.startsWith('  ~ '));

let failed = 0;
for (const ext of ['safetensors', 'pt']) {
  const a = join(dir, `simple_base.${ext}`);
  const b = join(dir, `simple_modified.${ext}`);
  const run = spawnSync(process.execPath, [join(root, 'bin', 'diffai.js'), a, b], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const actual = run.stdout.split('\n').filter((line) => line.length > 0);
  const ok = run.status === 1 && JSON.stringify(actual) === JSON.stringify(expected);
  console.log(`${ok ? 'ok  ' : 'FAIL'} simple_base.${ext} vs simple_modified.${ext} (exit ${run.status})`);
  if (!ok) {
    failed++;
    console.log(`  expected:\n${expected.join('\n')}\n  actual:\n${actual.join('\n')}${run.stderr ? `\n  stderr: ${run.stderr}` : ''}`);
  }
}
// Every original .pt holds the same tensors as its .safetensors conversion.
let total = 2;
for (const pt of readdirSync(dir).filter((f) => f.endsWith('.pt'))) {
  const st = pt.replace(/\.pt$/, '.safetensors');
  if (!existsSync(join(dir, st))) continue;
  total++;
  const run = spawnSync(process.execPath, [join(root, 'bin', 'diffai.js'), join(dir, pt), join(dir, st)], { encoding: 'utf8' });
  const ok = run.status === 0 && run.stdout.trim() === 'No differences found.';
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${pt} = ${st} (exit ${run.status})`);
  if (!ok) {
    failed++;
    console.log(run.stdout + run.stderr);
  }
}
console.log(`${total - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
