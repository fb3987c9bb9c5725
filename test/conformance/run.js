#!/usr/bin/env node
// `npm run conformance`: the vitest suites in test/conformance/, which check diffai against
// the original tool's reference files (../shared/reference/diffai-fixtures beside this
// repository, or DIFFAI_REFERENCE_FIXTURES). Those files are not part of the project; when
// they are absent this says so plainly and exits 1 without running anything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = resolve(process.env.DIFFAI_REFERENCE_FIXTURES || join(root, '..', 'shared', 'reference', 'diffai-fixtures'));
if (!existsSync(join(dir, 'README.md'))) {
  console.error(`conformance: the original tool's reference files are not at ${dir}; nothing was checked.`);
  console.error('conformance: put shared/reference/diffai-fixtures beside the repository or set DIFFAI_REFERENCE_FIXTURES.');
  process.exit(1);
}
console.log(`conformance: reference files from ${dir}`);
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', '--config', join(root, 'vitest.conformance.config.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, DIFFAI_REFERENCE_FIXTURES: dir },
});
process.exit(run.status ?? 1);
