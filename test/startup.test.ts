/**
 * A plain diff starts light: the analysis plug-ins, the analysis passes and js-yaml are
 * loaded only when an analysis or YAML output is asked for (the built CLI's modules, with a
 * module resolve hook that lists what they load); the bundle bin/diffai.js runs requires
 * neither yargs nor js-yaml nor the worker and zlib builtins for a plain diff (a require
 * hook lists what it loads). Start-up time itself is measured in bench/, not here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBuild } from './helpers/cli.js';
import { ROOT, core } from './helpers/files.js';

function loaded(args: string[]): string[] {
  const r = spawnSync(
    process.execPath,
    ['--import', join(ROOT, 'test', 'helpers', 'load-register.mjs'), join(ROOT, 'test', 'helpers', 'run-main.mjs'), ...args],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice(7));
}

/** What the bundled CLI (bin/diffai.js) loads: require() requests, and ES modules (there should be none). */
function required(args: string[]): { status: number | null; requests: string[] } {
  const hooks = ['--require', join(ROOT, 'test', 'helpers', 'require-hook.cjs'), '--import', join(ROOT, 'test', 'helpers', 'load-register.mjs')];
  const r = spawnSync(process.execPath, [...hooks, BIN, ...args], { encoding: 'utf8' });
  const requests = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('REQUIRED ') || l.startsWith('LOADED '))
    .map((l) => l.slice(l.indexOf(' ') + 1));
  return { status: r.status, requests };
}

const LATE = /^(node:worker_threads|node:zlib|node:crypto|node:tty)$|\/node_modules\/(yargs|js-yaml)\//;

const PLUGIN = /\/analysis\/(quantization|layer-impact|architecture|memory|anomalies|change-summary|convergence|gradients|similarity|collect|passes)\.js$/;

describe('start-up', () => {
  beforeAll(requireBuild);
  const pair = [core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors')];

  it('a plain text diff loads no analysis module and not js-yaml', () => {
    const urls = loaded(pair);
    expect(urls.some((u) => u.endsWith('/render/text-report.js'))).toBe(true);
    expect(urls.filter((u) => PLUGIN.test(u) || u.includes('js-yaml'))).toEqual([]);
  });

  it('an analysis loads its own module only; YAML loads js-yaml', () => {
    const urls = loaded([...pair, '--change-summary', '-o', 'yaml']);
    expect(
      urls
        .filter((u) => PLUGIN.test(u))
        .map((u) => u.slice(u.lastIndexOf('/') + 1))
        .sort(),
    ).toEqual(['change-summary.js', 'collect.js', 'passes.js']);
    expect(urls.some((u) => u.includes('js-yaml'))).toBe(true);
  });

  it('the bundle: a plain diff loads no ES module of dist/ and none of yargs, js-yaml, worker_threads, zlib, crypto, tty', () => {
    const r = required(pair);
    expect(r.status).toBe(0);
    expect(r.requests.filter((q) => q.includes('/dist/src/'))).toEqual([]);
    expect(r.requests.filter((q) => LATE.test(q))).toEqual([]);
  });

  it('the bundle: YAML output loads js-yaml; a line the fast parser leaves to yargs loads yargs', () => {
    expect(required([...pair, '-o', 'yaml']).requests.some((q) => q.includes('js-yaml'))).toBe(true);
    const clustered = required([...pair, '-qv']);
    expect(clustered.status).toBe(1);
    expect(clustered.requests.some((q) => q.includes('yargs'))).toBe(true);
    expect(required([...pair, '-q', '-v']).requests.some((q) => q.includes('yargs'))).toBe(false);
  });

  it('the bundle is ASCII (V8 keeps such a source one byte a character: half the memory, read faster)', () => {
    const text = readFileSync(join(ROOT, 'dist', 'src', 'cli', 'diffai.cjs'), 'latin1');
    const at = text.search(/[\u0080-\u00ff]/);
    expect(at, `non-ASCII at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`).toBe(-1);
  });

  it('a plain diff into a pipe loads neither the stream classes nor perf_hooks, zlib, worker_threads, crypto', () => {
    // process.moduleLoadList: the builtins Node has loaded (internal, but the one place that lists them).
    const hook = join(ROOT, 'test', 'helpers', 'builtins-at-exit.cjs');
    const r = spawnSync(process.execPath, ['--require', hook, BIN, ...pair], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('fc1.weight');
    const builtins = r.stderr.split('\n').filter((l) => l.startsWith('BUILTIN '));
    expect(builtins.length).toBeGreaterThan(20);
    expect(
      builtins.filter((l) =>
        /^BUILTIN (stream|net|tty|perf_hooks|internal\/perf\/performance|internal\/streams\/readable|zlib|worker_threads|crypto)$/.test(l),
      ),
    ).toEqual([]);
  });

  it("the bundle's code cache was made by the build and this Node accepts it", () => {
    const script = 'const { script } = require(process.argv[1]).loadBundle(); console.log(JSON.stringify([script.cachedDataRejected]));';
    const r = spawnSync(process.execPath, ['-e', script, join(ROOT, 'bin', 'load-bundle.js')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([false]);
  });
});
