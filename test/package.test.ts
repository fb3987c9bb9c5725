/**
 * diffai as a dependency of another project (issue 14, item 7): `npm pack`, install the
 * tarball into a fresh project (dependencies from npm's cache when it has them), then
 * `npx diffai --version` prints diffai's version (not the project's), `npx diffai A B` diffs,
 * and `import('diffai')` gives the library.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './helpers/cli.js';
import { ROOT, core, tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-pack-');
afterAll(() => tmp.cleanup());
const OWN = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The environment without the npm_* variables of an enclosing `npm test`. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))), NO_COLOR: '1' };
}

/**
 * Runs a command without blocking this worker (a long synchronous child would stall vitest's
 * messages to its main process on a loaded machine).
 */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

const project = tmp.path('consumer');

beforeAll(async () => {
  requireBuild();
  // --ignore-scripts: the build is there already (requireBuild); pack what it made.
  const pack = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path);
  expect(files).toContain('bin/diffai.js');
  expect(files).toContain('dist/build/kernels.wasm');
  expect(files).toContain('dist/build/text.wasm');
  expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('fixtures/'))).toBe(false);
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '9.9.9', private: true, type: 'module' }));
  const install = await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp.dir, info!.filename)], project);
  expect(install.status, install.stderr).toBe(0);
}, 300_000);

describe('installed into another project', () => {
  it("npx diffai --version prints diffai's version, not the project's", async () => {
    const r = await run(NPX, ['--no-install', 'diffai', '--version'], project);
    expect([r.status, r.stdout]).toEqual([0, `${OWN.version}\n`]);
  });

  it('npx diffai A B diffs (exit 0), --exit-code says they differ (exit 1)', async () => {
    const a = core('digits_mlp.safetensors');
    const b = core('digits_mlp_finetuned.safetensors');
    const r = await run(NPX, ['--no-install', 'diffai', a, b], project);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')[0]).toBe('  ~ __metadata__.epoch: "5" -> "8"');
    expect((await run(NPX, ['--no-install', 'diffai', a, b, '--exit-code'], project)).status).toBe(1);
  });

  it("import('diffai') gives the library, with its kernels", async () => {
    const script =
      "const m = await import('diffai'); const s = m.tensorStats(new Float32Array([1, 2, 3, 4])); console.log(JSON.stringify([typeof m.diffFiles, s.mean, s.total_params]));";
    const r = await run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['function', 2.5, 4]);
  });
});
