/**
 * A plain diff starts light: the analysis plug-ins, the analysis passes and js-yaml are
 * loaded only when an analysis or YAML output is asked for (the built CLI, with a module
 * resolve hook that lists what it loads).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBuild } from './helpers/cli.js';
import { ROOT, core } from './helpers/files.js';

function loaded(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test', 'helpers', 'load-register.mjs'), BIN, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice(7));
}

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
});
