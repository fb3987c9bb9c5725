/**
 * Git integration in real temporary repositories: textconv (`diffai textconv`), the external
 * diff protocol (`diffai git-diff`, through diff.<driver>.command and GIT_EXTERNAL_DIFF,
 * with added, deleted and non-model files), and the README's pre-commit hook run as it is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN, requireBuild } from './helpers/cli.js';
import { REFERENCE, ROOT, core, tempDir } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });
const HAS_GIT = spawnSync('git', ['--version']).status === 0;
if (!HAS_GIT) console.log('test/git.test.ts: skipped, `git` is not installed');

const tmp = tempDir('diffai-git-');
afterAll(() => tmp.cleanup());
/** A `diffai` command on PATH, as an installed package would provide. */
let binDir = '';
beforeAll(() => {
  requireBuild();
  binDir = tmp.path('bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'diffai'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(join(binDir, 'diffai'), 0o755);
});

const BASE = 'digits_mlp.safetensors';
const TUNED = 'digits_mlp_finetuned.safetensors';
const PT = join(ROOT, 'fixtures', 'cli', 'ddp.pt');
const PT_TUNED = join(ROOT, 'fixtures', 'cli', 'ddp_finetuned.pt');
const CLI_REF = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'cli', 'reference.json'), 'utf8')) as { ddp_names: string[]; changed: string };

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, GIT_CONFIG_NOSYSTEM: '1', HOME: tmp.path('.'), ...extra };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_EXTERNAL_DIFF', 'GIT_INDEX_FILE', 'NO_COLOR', 'FORCE_COLOR']) if (!(k in extra)) delete e[k];
  return e;
}

function git(repo: string, args: string[], extra: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd: repo, env: env(extra), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A repository whose first commit holds the base models and a README. */
function repo(name: string): string {
  const dir = tmp.path(name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  git(dir, ['init', '-q']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'test']);
  writeFileSync(join(dir, '.gitattributes'), '*.safetensors diff=diffai\n*.pt diff=diffai\n');
  copyFileSync(core(BASE), join(dir, 'model.safetensors'));
  copyFileSync(PT, join(dir, 'ddp.pt'));
  writeFileSync(join(dir, 'notes.txt'), 'one\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '-q', '-m', 'base']);
  return dir;
}

const f4 = (x: number | null) => (x === null ? 'none' : x.toFixed(4));

describe.skipIf(!HAS_GIT)('git integration', () => {
  it('textconv: git diff shows the tensors whose statistics changed, at full precision', () => {
    const dir = repo('textconv');
    git(dir, ['config', 'diff.diffai.textconv', 'diffai textconv']);
    copyFileSync(core(TUNED), join(dir, 'model.safetensors'));
    copyFileSync(PT_TUNED, join(dir, 'ddp.pt'));
    const out = git(dir, ['diff']);
    const changed = (sign: '-' | '+') =>
      out
        .split('\n')
        .filter((l) => l.startsWith(sign) && !l.startsWith(`${sign}${sign}`))
        .map((l) => l.slice(1).split(':')[0]);
    // every tensor of the fine-tuned MLP moved, plus its epoch; of the DDP file only fc2.weight
    const mlp = Object.keys(REFERENCE.files[BASE]!.tensors).sort();
    expect(changed('-')).toEqual([`module.${CLI_REF.changed}`, ...mlp, '__metadata__.epoch = "5"'].map((s) => s.split(':')[0]));
    expect(changed('+')).toEqual([`module.${CLI_REF.changed}`, ...mlp, '__metadata__.epoch = "8"'].map((s) => s.split(':')[0]));
    // the old fc1.bias line against the generator's exact float64 statistics
    const ref = REFERENCE.files[BASE]!.tensors['fc1.bias']!;
    const line = out.split('\n').find((l) => l.startsWith('-fc1.bias: '))!;
    expect(line.startsWith(`-fc1.bias: f32 [${ref.shape.join(', ')}] mean=`)).toBe(true);
    const field = (k: string) => Number(new RegExp(` ${k}=(\\S+)`).exec(line)![1]);
    for (const [k, v] of [
      ['mean', ref.mean],
      ['std', ref.std],
      ['min', ref.min],
      ['max', ref.max],
      ['l2', ref.l2_norm],
    ] as const) {
      expect(Math.abs(field(k) - v!), k).toBeLessThanOrEqual(1e-14 * Math.abs(v!));
    }
  });

  it('external diff through diff.diffai.command: the tensor report, per model file', () => {
    const dir = repo('command');
    git(dir, ['config', 'diff.diffai.command', 'diffai git-diff']);
    copyFileSync(core(TUNED), join(dir, 'model.safetensors'));
    copyFileSync(PT_TUNED, join(dir, 'ddp.pt'));
    const out = git(dir, ['diff', '--', 'ddp.pt', 'model.safetensors']);
    const a = REFERENCE.files[BASE]!.tensors['fc1.bias']!;
    const b = REFERENCE.files[TUNED]!.tensors['fc1.bias']!;
    expect(out).toContain(`diffai a/ddp.pt b/ddp.pt\n  ~ module.${CLI_REF.changed}: mean=`);
    expect(out).toContain('diffai a/model.safetensors b/model.safetensors\n  ~ __metadata__.epoch: "5" -> "8"\n');
    expect(out).toContain(`  ~ fc1.bias: mean=${f4(a.mean)}->${f4(b.mean)}, std=${f4(a.std)}->${f4(b.std)}\n`);
  });

  it('GIT_EXTERNAL_DIFF: added and deleted models, and a text file through diff -u', () => {
    const dir = repo('external');
    rmSync(join(dir, 'ddp.pt'));
    copyFileSync(core(TUNED), join(dir, 'new.safetensors'));
    writeFileSync(join(dir, 'notes.txt'), 'one\ntwo\n');
    git(dir, ['add', '-A']);
    const out = git(dir, ['diff', '--cached'], { GIT_EXTERNAL_DIFF: 'diffai git-diff' });
    const removed = CLI_REF.ddp_names.map((n) => `  - ${n}: `);
    const deleted = out.slice(out.indexOf('diffai a/ddp.pt b/ddp.pt (deleted file)\n'));
    for (const r of removed) expect(deleted).toContain(r);
    const added = out.slice(out.indexOf('diffai a/new.safetensors b/new.safetensors (new file)\n'));
    for (const name of Object.keys(REFERENCE.files[TUNED]!.tensors)) expect(added).toContain(`  + ${name}: shape=`);
    expect(out).toContain('diff a/notes.txt b/notes.txt\n--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1,2 @@\n one\n+two\n');
  });

  it("the README's pre-commit hook refuses an architecture change without asking and lets value changes pass", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const marker = readme.indexOf('<!-- pre-commit hook: test/git.test.ts runs this block as it is -->');
    expect(marker).toBeGreaterThan(0);
    const start = readme.indexOf('```sh\n', marker) + '```sh\n'.length;
    const block = readme.slice(start, readme.indexOf('\n```\n', start) + 1);
    expect(block.startsWith('#!/bin/sh\n')).toBe(true);
    const dir = repo('hook');
    writeFileSync(join(dir, '.git', 'hooks', 'pre-commit'), block);
    chmodSync(join(dir, '.git', 'hooks', 'pre-commit'), 0o755);

    copyFileSync(core(TUNED), join(dir, 'model.safetensors')); // values only
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'fine-tuned']);
    expect(git(dir, ['log', '--format=%s', '-1']).trim()).toBe('fine-tuned');

    copyFileSync(core('digits_mlp_reshaped.safetensors'), join(dir, 'model.safetensors')); // a shape change
    git(dir, ['add', '-A']);
    const r = spawnSync('git', ['commit', '-m', 'reshaped'], { cwd: dir, env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pre-commit: model.safetensors changes the model architecture:');
    expect(r.stderr).toMatch(/ {2}~ \S+: shape=\[/);
    expect(r.stderr).toContain('pre-commit: commit refused');
    expect(git(dir, ['log', '--format=%s', '-1']).trim()).toBe('fine-tuned');

    git(dir, ['commit', '-q', '-m', 'reshaped anyway'], { DIFFAI_ALLOW_ARCH_CHANGE: '1' });
    expect(git(dir, ['log', '--format=%s', '-1']).trim()).toBe('reshaped anyway');
  });
});
