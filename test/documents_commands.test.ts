/**
 * The documents' command lines run unmodified (issue 11, "Done when"): the bash blocks of the
 * "Feature Selection Guide" sections of both documents, "Production Deployment Features" and
 * "Research and Development Features" (verbatim copies in test/documents/, README there) are
 * extracted, their backslash continuations joined, and each command is run by bash in a
 * directory where the files it names are real models made by torch (copies of fixtures), with
 * `diffai` on PATH. Each must exit 0 with nothing on stderr and print the summary line of every
 * analysis it asks for.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYSES, ANALYSIS_NAMES, loadAnalyses } from '../src/analysis/registry.js';
import { BIN, requireBuild } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/files.js';

const DOCS = join(ROOT, 'test', 'documents');
const SECTIONS = ['feature_selection_functions.md', 'feature_selection_guide.md', 'production_deployment.md', 'research_features.md'];
const tmp = tempDir('diffai-doc-commands-');
const work = tmp.path('work');
const shimDir = tmp.path('bin');

/** The real model each file name of the documents stands for (safetensors files made by torch). */
const FILES: Record<string, string> = {
  'checkpoint_old.safetensors': 'analysis/sgd_epoch1.safetensors',
  'checkpoint_new.safetensors': 'analysis/sgd_epoch2.safetensors',
  'current_prod.safetensors': 'analysis_real/resnet18.safetensors',
  'production.safetensors': 'analysis_real/resnet18.safetensors',
  'candidate.safetensors': 'analysis_real/resnet18_f16.safetensors',
  'baseline.safetensors': 'analysis/sgd_epoch3.safetensors',
  'experiment.safetensors': 'analysis/sgd_epoch5.safetensors',
  'new_version.safetensors': 'analysis/sgd_epoch3.safetensors',
  'fp32.safetensors': 'analysis_real/resnet18.safetensors',
  'quantized.safetensors': 'analysis_real/resnet18_f16.safetensors',
  'model_lr_001.safetensors': 'analysis/sgd_epoch1.safetensors',
  'model_lr_0001.safetensors': 'analysis/sgd_epoch4.safetensors',
  'efficient_model.safetensors': 'analysis_real/mobilenet_v3_small.safetensors',
  'baseline_model.safetensors': 'analysis_real/resnet18.safetensors',
};

/** The commands of a Markdown text's ```bash blocks: comments dropped, continuation lines joined. */
function commandLines(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const joined = m[1]!.replace(/\\\n/g, ' ');
    for (const line of joined.split('\n')) if (line.trim() !== '' && !line.trim().startsWith('#')) out.push(line.trim());
  }
  return out;
}

beforeAll(() => {
  requireBuild();
  mkdirSync(work);
  mkdirSync(shimDir);
  writeFileSync(join(shimDir, 'diffai'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(join(shimDir, 'diffai'), 0o755);
  for (const [name, src] of Object.entries(FILES)) copyFileSync(join(ROOT, 'fixtures', src), join(work, name));
});
afterAll(() => tmp.cleanup());

describe("the documents' command lines run unmodified on real files", () => {
  const commands = SECTIONS.flatMap((s) => commandLines(readFileSync(join(DOCS, s), 'utf8')).map((cmd) => ({ section: s, cmd })));

  it('the sections hold the commands the issue names', () => {
    expect(commands.length).toBe(12);
    for (const { cmd } of commands) expect(cmd).toMatch(/^diffai \S+\.safetensors \S+\.safetensors(\s+--[a-z-]+)+$/);
    for (const { cmd } of commands) for (const file of cmd.split(/\s+/).filter((w) => w.endsWith('.safetensors'))) expect(FILES[file], file).toBeDefined();
  });

  for (const { section, cmd } of commands) {
    it(`${section}: ${cmd.replace(/\s+/g, ' ')}`, async () => {
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', cmd], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${shimDir}${delimiter}${process.env.PATH}`, NO_COLOR: '1' },
        timeout: 120_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const flags = cmd.split(/\s+/).filter((w) => w.startsWith('--'));
      const names = ANALYSIS_NAMES.filter((n) => flags.includes(`--${ANALYSES[n].flag}`));
      for (const { plugin } of await loadAnalyses(names)) expect(r.stdout, plugin.label).toMatch(new RegExp(`^(\\S+ )?${plugin.label}: `, 'm'));
      if (flags.includes('--stats')) expect(r.stdout).toMatch(/ min=.* max=|No differences found/);
    });
  }
});
