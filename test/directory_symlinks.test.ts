/**
 * Directory diffs over symbolic links: a Hugging Face cache snapshot links every file into
 * `blobs/` (once compared as identical because links were not followed), link loops, broken
 * links, deep trees (once cut at depth 32) and the entry budget.
 */
import { mkdirSync, symlinkSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listModels } from '../src/diff/directory.js';
import { DiffaiError } from '../src/errors.js';
import { cli, requireBuild } from './helpers/cli.js';
import { core, tempDir } from './helpers/files.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);
const tmp = tempDir('diffai-dirs-');
afterAll(() => tmp.cleanup());

/** The cache layout of huggingface_hub: snapshots/<rev>/<file> -> ../../blobs/<hash>. */
function hfCache(name: string, model: string): string {
  const repo = tmp.path(name);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', 'rev1'), { recursive: true });
  copyFileSync(model, join(repo, 'blobs', 'a1b2c3'));
  symlinkSync(join('..', '..', 'blobs', 'a1b2c3'), join(repo, 'snapshots', 'rev1', 'model.safetensors'));
  return join(repo, 'snapshots', 'rev1');
}

describe('directories with symbolic links', () => {
  it('a Hugging Face cache snapshot is compared through its links', async () => {
    const a = hfCache('hf_a', core('digits_mlp.safetensors'));
    const b = hfCache('hf_b', core('digits_mlp_finetuned.safetensors'));
    const r = await cli([a, b, '-o', 'json']);
    expect(r.stderr).toBe('');
    const files = JSON.parse(r.stdout) as Array<{ file: string; status: string; differences: object[] }>;
    expect(files.map((f) => [f.file, f.status])).toEqual([['model.safetensors', 'modified']]);
    expect(files[0]!.differences.length).toBeGreaterThan(0);
    const same = await cli([a, hfCache('hf_c', core('digits_mlp.safetensors'))]);
    expect(same.status, same.stderr).toBe(0);
  });

  it('a link loop and a broken link are skipped with a warning naming them', async () => {
    const a = hfCache('loop_a', core('digits_mlp.safetensors'));
    const b = hfCache('loop_b', core('digits_mlp.safetensors'));
    symlinkSync('.', join(a, 'self'));
    symlinkSync('missing.pt', join(b, 'broken.pt'));
    const r = await cli([a, b]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('No differences found.\n');
    expect(r.stderr.split('\n').sort().filter(Boolean)).toEqual(
      [
        `diffai: warning: ${join(a, 'self')}: symbolic link loop skipped (it leads back to ${a})`,
        `diffai: warning: ${join(b, 'broken.pt')}: broken symbolic link skipped`,
      ].sort(),
    );
  });

  it('no depth limit: a model 40 directories down is found', () => {
    const root = tmp.path('deep');
    const deep = join(root, ...Array.from({ length: 40 }, (_, i) => `d${i}`));
    mkdirSync(deep, { recursive: true });
    copyFileSync(core('digits_mlp.safetensors'), join(deep, 'm.safetensors'));
    const { units, warnings } = listModels(root);
    expect(units.map((u) => u.relative)).toEqual([`${Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')}/m.safetensors`]);
    expect(warnings).toEqual([]);
  });

  it('past the entry budget the listing stops with a clear error, not silently', () => {
    const root = tmp.path('wide');
    mkdirSync(root);
    for (let i = 0; i < 12; i++) copyFileSync(core('digits_mlp.safetensors'), join(root, `m${i}.safetensors`));
    expect(listModels(root, 12).units).toHaveLength(12);
    expect(() => listModels(root, 11)).toThrow(DiffaiError);
    expect(() => listModels(root, 11)).toThrow(/holds more than 11 files and directories/);
  });
});
