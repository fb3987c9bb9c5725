/**
 * Key remapping: a DataParallel (`module.`-prefixed) state_dict against the bare model's,
 * both written by torch (fixtures/generate_cli.py), with the generator's float64 statistics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { diffFiles } from '../src/index.js';
import { applyKeyMap, keyMapper, parseRenameRule, prefixHint } from '../src/diff/rename.js';
import type { ModelDescription } from '../src/formats/types.js';
import { expectClose } from './helpers/assert.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);

const CLI_FIXTURES = join(ROOT, 'fixtures', 'cli');
const fx = (name: string) => join(CLI_FIXTURES, name);
const REF = JSON.parse(readFileSync(fx('reference.json'), 'utf8')) as {
  plain_names: string[];
  ddp_names: string[];
  changed: string;
  before: { mean: number; std: number };
  after: { mean: number; std: number };
  max_abs_diff: number;
};
const PLAIN = fx('plain.pt');
const DDP = fx('ddp.pt');
const TUNED = fx('ddp_finetuned.pt');

describe('the fixtures', () => {
  it('torch prefixed every DataParallel name with module.', () => {
    expect(REF.ddp_names).toEqual(REF.plain_names.map((n) => `module.${n}`));
  });
});

describe('--strip-prefix', () => {
  it('without it every tensor is added and removed, and a note suggests the prefix', async () => {
    const r = await cli([PLAIN, DDP, '-o', 'json']);
    const kinds = (JSON.parse(r.stdout) as object[]).map((o) => Object.keys(o)[0]);
    expect(kinds.filter((k) => k === 'TensorRemoved')).toHaveLength(REF.plain_names.length);
    expect(kinds.filter((k) => k === 'TensorAdded')).toHaveLength(REF.ddp_names.length);
    expect(r.stderr).toBe(
      `diffai: note: every tensor name in ${DDP} starts with "module." and ${PLAIN}'s do not; --strip-prefix module. would match ${REF.plain_names.length} of them\n`,
    );
  });

  it('with it the same weights are identical (exit 0, no note)', async () => {
    const r = await cli([PLAIN, DDP, '--strip-prefix', 'module.']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('No differences found.\n');
    expect(r.stderr).toBe('');
  });

  it('the fine-tuned DDP checkpoint differs in exactly the tensor torch changed, with its statistics', async () => {
    const r = await cli([PLAIN, TUNED, '--strip-prefix', 'module.', '-o', 'json']);
    const out = JSON.parse(r.stdout) as Array<{
      TensorStatsChanged: [string, Record<string, number>, Record<string, number>, Record<string, number>];
      original_names: unknown;
    }>;
    expect(out).toHaveLength(1);
    const [name, a, b, cmp] = out[0]!.TensorStatsChanged;
    expect(name).toBe(REF.changed);
    expectClose(a.mean!, REF.before.mean, 1e-12, 1e-15, 'mean A');
    expectClose(a.std!, REF.before.std, 1e-12, 1e-15, 'std A');
    expectClose(b.mean!, REF.after.mean, 1e-12, 1e-15, 'mean B');
    expectClose(b.std!, REF.after.std, 1e-12, 1e-15, 'std B');
    expectClose(cmp.max_abs_diff!, REF.max_abs_diff, 1e-12, 1e-15, 'max_abs_diff');
    // JSON carries the names in the files: a second key beside the one-key result
    expect(out[0]!.original_names).toEqual({ a: REF.changed, b: `module.${REF.changed}` });
  });

  it('verbose output lists every rename', async () => {
    const r = await cli([PLAIN, TUNED, '--strip-prefix', 'module.', '--verbose']);
    const renames = r.stderr.split('\n').filter((l) => l.includes(': renamed '));
    expect(renames.sort()).toEqual(REF.ddp_names.map((n) => `diffai: ${TUNED}: renamed ${n} -> ${n.slice('module.'.length)}`).sort());
  });
});

describe('inspect', () => {
  it('inspect takes the same options: the DDP file under the plain names', async () => {
    const r = await cli(['inspect', DDP, '--strip-prefix', 'module.', '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const names = (JSON.parse(r.stdout) as { tensors: Array<{ name: string }> }).tensors.map((t) => t.name);
    expect(names.sort()).toEqual(REF.plain_names);
  });
});

describe('--rename', () => {
  it('per side: --rename-b strips the prefix by regex, then --rename applies to both', async () => {
    const r = await cli([PLAIN, TUNED, '--rename-b', '^module\\.=', '--rename', '^fc(\\d)\\.=dense$1.', '-o', 'json']);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(out).toHaveLength(1);
    expect((out[0]!.TensorStatsChanged as unknown[])[0]).toBe('dense2.weight');
    expect(out[0]!.original_names).toEqual({ a: 'fc2.weight', b: 'module.fc2.weight' });
  });

  it('rules apply in order: strip-prefix, then the side rules, then --rename', () => {
    const map = keyMapper(
      {
        stripPrefix: ['module.', 'model.'],
        renameA: [parseRenameRule('^layers=blocks', '--rename-a')],
        rename: [parseRenameRule('(blocks|layers)\\.(\\d+)=h.$2')],
      },
      'a',
    );
    expect(map('module.model.layers.3.attn')).toBe('h.3.attn');
    expect(map('model.layers.10.layers.2')).toBe('h.10.h.2'); // every match is replaced
    expect(keyMapper({ renameA: [parseRenameRule('^x=y')], rename: [parseRenameRule('^y=z')] }, 'a')('x.w')).toBe('z.w');
    expect(keyMapper({ renameA: [parseRenameRule('^x=y')], rename: [parseRenameRule('^y=z')] }, 'b')('x.w')).toBe('x.w');
    expect(map('other')).toBe('other');
  });

  it('a rule splits at the last = (a lookahead may hold =); a bad rule is a usage error', async () => {
    const rule = parseRenameRule('a(?=b)=c');
    expect(rule.replacement).toBe('c');
    expect('ab'.replace(rule.pattern, rule.replacement)).toBe('cb');
    expect(() => parseRenameRule('noequals')).toThrow(DiffaiError);
    expectTrouble(await cli([PLAIN, DDP, '--rename', '(=x']), '--rename: ');
  });

  it('two names mapped to one are refused, naming both', async () => {
    expectTrouble(
      await cli([PLAIN, DDP, '--rename', '^(module\\.)?(fc|bn)\\d?\\.=x.']),
      PLAIN,
      /the name mapping turns both fc1\.weight and (bn|fc2)\.weight into x\.weight/,
    );
  });
});

describe('library', () => {
  it('diffFiles takes stripPrefix and rename rules; results carry the original names', async () => {
    const same = await diffFiles(PLAIN, DDP, { stripPrefix: ['module.'] });
    expect(same.results).toEqual([]);
    const tuned = await diffFiles(PLAIN, TUNED, { renameB: [{ pattern: /^module\./, replacement: '' }] });
    expect(tuned.results.map((r) => [r.kind, r.name, r.original])).toEqual([
      ['TensorStatsChanged', REF.changed, { a: REF.changed, b: `module.${REF.changed}` }],
    ]);
  });

  it('prefixHint finds the longest shared dotted prefix that matches the other side', () => {
    const desc = (names: string[]): ModelDescription => ({
      path: 'x',
      format: 'pytorch',
      tensors: names.map((name) => ({
        name,
        dtype: 'f32',
        shape: [1],
        numel: 1,
        byteOrder: 'little',
        source: { kind: 'file', path: 'x', offset: 0, length: 4 },
      })),
      leaves: {},
      warnings: [],
    });
    expect(prefixHint(desc(['a.b', 'a.c']), desc(['model.module.a.b', 'model.module.a.c']))).toEqual({ side: 'b', prefix: 'model.module.', matches: 2 });
    expect(prefixHint(desc(['a.b']), desc(['a.b']))).toBeUndefined();
    expect(prefixHint(desc(['x.b']), desc(['y.b']))).toBeUndefined();
    const mapped = applyKeyMap(desc(['module.a']), { stripPrefix: ['module.'] }, 'a');
    expect(mapped.tensors[0]!.name).toBe('a');
    expect([...mapped.originalNames!]).toEqual([['a', 'module.a']]);
  });
});
