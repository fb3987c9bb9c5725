/**
 * The command line as a user meets it (issue 14): help that wraps without splitting words
 * and lists the option groups, examples and exit codes; unknown options reported once with
 * a suggestion; values reported as typed; every missing file named; --threads capped at
 * the cores; --path/--ignore-keys-regex that match nothing warned about; metadata keys
 * matched without their prefix. Child processes of the built CLI.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseThreads } from '../src/cli/args.js';
import { suggestion } from '../src/cli/option-check.js';
import { OPTION_GROUPS } from '../src/cli/options.js';
import { diffFiles, inspectFile, unmatchedFilters } from '../src/index.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT, core, safetensorsBytes, tempDir } from './helpers/files.js';
import { f32Bytes } from './helpers/dtypes.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);
const tmp = tempDir('diffai-usage-');
afterAll(() => tmp.cleanup());

const base = core('digits_mlp.safetensors');
const tuned = core('digits_mlp_finetuned.safetensors');

describe.concurrent('--help', () => {
  const words = (text: string) => text.split(/\s+/).filter(Boolean);

  it('wraps to the width at spaces only: the same words at every width, no line longer unless it is one word', async () => {
    const widths = [40, 52, 80, 100, 132];
    const [wide, ...runs] = await Promise.all([cli(['--help'], { COLUMNS: '1000' }), ...widths.map((w) => cli(['--help'], { COLUMNS: String(w) }))]);
    expect(wide.status).toBe(0);
    runs.forEach((r, i) => {
      const w = widths[i]!;
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(words(r.stdout), `width ${w}`).toEqual(words(wide.stdout));
      for (const line of r.stdout.split('\n')) if (line.length > w) expect(line.trim(), `width ${w}: ${line}`).not.toMatch(/\s/);
    });
    // The usual offenders of yargs' wrapping, whole.
    expect(runs[0]!.stdout).toContain('FORCE_COLOR');
    expect(words(runs[0]!.stdout)).toContain('[options]');
  });

  it('lists the groups in order, --no-color, examples and the exit codes', async () => {
    const r = await cli(['--help'], { COLUMNS: '100' });
    const titles = r.stdout.split('\n').filter((l) => /^[A-Z][A-Za-z ]+:$/.test(l));
    expect(titles).toEqual([
      'Usage:',
      'Output:',
      'Filters:',
      'Input:',
      'Matching names:',
      'Analyses:',
      'Reports and exit status:',
      'Performance:',
      'General:',
      'Examples:',
      'Exit status:',
    ]);
    expect(r.stdout).toMatch(/--color, --no-color/);
    expect(r.stdout).toMatch(/^ {2}diffai base\.safetensors tuned\.safetensors$/m);
    const exit = r.stdout.slice(r.stdout.indexOf('Exit status:'));
    expect(exit).toMatch(/^ {2}0 +the comparison ran, whether or not the models differ$/m);
    expect(exit).toMatch(/^ {2}1 +with --exit-code/m);
    expect(exit).toMatch(/^ {2}2 +trouble/m);
  });

  it('inspect --help lists only what inspect takes; -h is --help and wins over a bad option', async () => {
    const [inspect, short] = await Promise.all([cli(['inspect', '--help'], { COLUMNS: '100' }), cli(['-h', '--bogus'], { COLUMNS: '100' })]);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toMatch(/--shape-only/);
    expect(inspect.stdout).not.toMatch(/--epsilon|--exit-code|--anomaly-detection/);
    expect([short.status, short.stdout.startsWith('Usage:')]).toEqual([0, true]);
  });

  it('every option of the help is in the README, and every option of the README table is an option', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const names = OPTION_GROUPS.flatMap((g) => g.options.map((o) => `--${o.name}`));
    for (const n of names) expect(new RegExp(`${n}(?![a-z-])`).test(readme), `${n} in README`).toBe(true);
    const usage = readme.slice(readme.indexOf('## Usage'), readme.indexOf('### Exit codes'));
    const tableOptions = [...usage.matchAll(/^\| `([^`]+)`/gm)].flatMap((m) => [...m[1]!.matchAll(/--[a-z-]+/g)].map((x) => x[0]));
    expect(tableOptions.length).toBeGreaterThan(10);
    for (const t of tableOptions) expect(names.includes(t) || names.includes(t.replace(/^--no-/, '--')), t).toBe(true);
  });
});

describe.concurrent('options and arguments', () => {
  it('an unknown option is reported once, by the name typed, with the nearest option', async () => {
    const [stat, lp, camel, short] = await Promise.all([
      cli([base, tuned, '--stat']),
      cli([base, tuned, '--frobnicate-weights']),
      cli([base, tuned, '--shapeOnly']),
      cli([base, tuned, '-x']),
    ]);
    expectTrouble(stat, '', /^unknown option --stat \(did you mean --stats\?\); see diffai --help$/);
    const line = expectTrouble(lp, '', /^unknown option --frobnicate-weights; see diffai --help$/);
    expect(line.match(/frobnicate/gi)).toHaveLength(1);
    expectTrouble(camel, '', /^unknown option --shapeOnly \(did you mean --shape-only\?\)/);
    expectTrouble(short, '', /^unknown option -x; see diffai --help$/);
  });

  it('an unknown option that took a file name as its value is still the error reported', async () => {
    const [first, between] = await Promise.all([cli(['--bogus', base, tuned]), cli([base, '--fast', tuned])]);
    expectTrouble(first, '', /^unknown option --bogus; see diffai --help$/);
    expectTrouble(between, '', /^unknown option --fast; see diffai --help$/);
  });

  it('an option of the other command says so; several unknown options are listed once each', async () => {
    const [inspect, many] = await Promise.all([cli(['inspect', base, '--stats']), cli([base, tuned, '--foo', '--foo', '--bar'])]);
    expectTrouble(inspect, '', /^unknown option --stats \(an option of diffai A B, not of diffai inspect\); see diffai inspect --help$/);
    expectTrouble(many, '', /^unknown options --foo, --bar; see diffai --help$/);
  });

  it('values are reported as typed (not NaN)', async () => {
    const [eps, threads, zero] = await Promise.all([
      cli([base, tuned, '--epsilon', 'abc']),
      cli([base, tuned, '--threads', 'many']),
      cli([base, tuned, '--threads', '0']),
    ]);
    expectTrouble(eps, '', /^--epsilon must be a non-negative number, got "abc"$/);
    expectTrouble(threads, '', /^--threads must be a positive integer, got "many"$/);
    expectTrouble(zero, '', /^--threads must be a positive integer, got "0"$/);
  });

  it('both missing files are reported, one line each, exit 2, nothing on stdout', async () => {
    const [a, b] = [tmp.path('missing-a.safetensors'), tmp.path('missing-b.safetensors')];
    const [both, one] = await Promise.all([cli([a, b]), cli([base, b])]);
    expect([both.status, both.stdout, both.stderr]).toEqual([2, '', `diffai: ${a}: no such file\ndiffai: ${b}: no such file\n`]);
    expectTrouble(one, `${b}: `, /^no such file$/);
  });

  it('--version is diffai’s own, whatever the current directory', async () => {
    const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const r = await cli(['--version']);
    expect([r.status, r.stdout]).toEqual([0, `${own}\n`]);
  });
});

describe('--threads above the cores', () => {
  it('is capped with a warning; the result is the same', async () => {
    const cores = availableParallelism();
    const [plain, many] = await Promise.all([cli([base, tuned]), cli([base, tuned, '--threads', '1000'])]);
    expect(many.stderr).toBe(`diffai: warning: --threads 1000 is more than the ${cores} available cores; using ${cores}\n`);
    expect([many.status, many.stdout]).toEqual([0, plain.stdout]);
  });

  it('parseThreads: within the cores as given, above them the cores, each warned once', () => {
    const warnings: string[] = [];
    const warn = (l: string) => warnings.push(l);
    expect([parseThreads(undefined, warn, 2), parseThreads('1', warn, 2), parseThreads('2', warn, 2), parseThreads('8', warn, 2)]).toEqual([
      undefined,
      1,
      2,
      2,
    ]);
    expect(warnings).toEqual(['warning: --threads 8 is more than the 2 available cores; using 2']);
    for (const bad of ['0', '-1', '1.5', 'abc', '']) expect(() => parseThreads(bad, warn, 2), bad).toThrow(/--threads must be a positive integer/);
  });

  it('suggestion: prefixes and near misses, nothing for far ones', () => {
    const known = ['--stats', '--shape-only', '--path', '--threads', '--exit-code'];
    expect([suggestion('--stat', known), suggestion('--thread', known), suggestion('--exitcode', known), suggestion('--pth', known)]).toEqual([
      '--stats',
      '--threads',
      '--exit-code',
      '--path',
    ]);
    expect(suggestion('--learning-progress', known)).toBeUndefined();
  });
});

describe.concurrent('name filters that match nothing', () => {
  const withMeta = (file: string, timestamp: string) =>
    writeFileSync(tmp.path(file), safetensorsBytes([{ name: 'w', dtype: 'f32', shape: [2], bytes: f32Bytes([1, 2]) }], { timestamp, epoch: '5' }));
  withMeta('meta-a.safetensors', '1700000000');
  withMeta('meta-b.safetensors', '1700000999');
  const [ma, mb] = [tmp.path('meta-a.safetensors'), tmp.path('meta-b.safetensors')];

  it('the documents\' --path "tensor.classifier": a warning on stderr, then "No differences found.", exit 0', async () => {
    const r = await cli([base, tuned, '--path', 'tensor.classifier']);
    expect([r.status, r.stdout, r.stderr]).toEqual([
      0,
      'No differences found.\n',
      'diffai: warning: --path "tensor.classifier" matches no tensor or key in either file\n',
    ]);
  });

  it('a --path found on one side only, or a regex that matches, warns about nothing', async () => {
    const [onlyB, regex] = await Promise.all([
      cli([base, core('digits_mlp_layer_added.safetensors'), '--path', 'fc_extra']),
      cli([base, tuned, '--ignore-keys-regex', '^fc1\\.']),
    ]);
    expect([onlyB.status, onlyB.stderr]).toEqual([0, '']);
    expect(onlyB.stdout).toMatch(/^ {2}\+ fc_extra\.bias/);
    expect([regex.status, regex.stderr]).toEqual([0, '']);
  });

  it('an --ignore-keys-regex that matches nothing warns; quiet silences it; inspect warns too', async () => {
    const [diff, quiet, inspect] = await Promise.all([
      cli([base, tuned, '--ignore-keys-regex', '^classifier\\.']),
      cli([base, tuned, '--ignore-keys-regex', '^classifier\\.', '-q']),
      cli(['inspect', base, '--path', 'nothing']),
    ]);
    expect(diff.stderr).toBe('diffai: warning: --ignore-keys-regex "^classifier\\\\." matches no tensor or key in either file\n');
    expect([quiet.status, quiet.stderr]).toEqual([1, '']);
    expect(inspect.stderr).toBe('diffai: warning: --path "nothing" matches no tensor or key in the file\n');
    expect(inspect.status).toBe(0);
  });

  it('directories: a --path found in no file warns once; --exit-code and --brief as for files', async () => {
    for (const [dir, file] of [
      ['dir-a', base],
      ['dir-b', tuned],
    ] as const) {
      mkdirSync(tmp.path(dir));
      copyFileSync(file, join(tmp.path(dir), 'model.safetensors'));
    }
    const [a, b] = [tmp.path('dir-a'), tmp.path('dir-b')];
    const [none, some, gated] = await Promise.all([cli([a, b, '--path', 'zzz']), cli([a, b, '--path', 'fc1']), cli([a, b, '--exit-code'])]);
    expect([none.status, none.stdout, none.stderr]).toEqual([
      0,
      'No differences found.\n',
      'diffai: warning: --path "zzz" matches no tensor or key in any file\n',
    ]);
    expect([some.status, some.stderr, some.stdout.split('\n')[0]]).toEqual([0, '', '--- model.safetensors']);
    expect(gated.status).toBe(1);
  });

  it('the documents\' --ignore-keys-regex "^(timestamp|_metadata)" ignores a metadata key named timestamp', async () => {
    const [plain, ignored] = await Promise.all([cli([ma, mb]), cli([ma, mb, '--ignore-keys-regex', '^(timestamp|_metadata)'])]);
    expect(plain.stdout).toBe('  ~ __metadata__.timestamp: "1700000000" -> "1700000999"\n');
    expect([ignored.status, ignored.stdout, ignored.stderr]).toEqual([0, 'No differences found.\n', '']);
    // The library's option does the same; a full-name pattern still works.
    expect((await diffFiles(ma, mb, { ignoreKeysRegex: /^(timestamp|_metadata)/ })).results).toEqual([]);
    expect((await diffFiles(ma, mb, { ignoreKeysRegex: /^__metadata__\.timestamp$/ })).results).toEqual([]);
    expect((await diffFiles(ma, mb, { ignoreKeysRegex: /^epoch$/ })).results.map((r) => r.name)).toEqual(['__metadata__.timestamp']);
    // The library tells which filters matched nothing.
    const { a, b } = await diffFiles(ma, mb);
    expect(unmatchedFilters([a, b], { path: 'nothing', ignoreKeysRegex: /^timestamp$/ })).toEqual(['path']);
    expect(unmatchedFilters([a, b], { path: 'w', ignoreKeysRegex: /^nothing$/ })).toEqual(['ignoreKeysRegex']);
    expect((await inspectFile(ma, { path: 'zzz' })).unmatchedFilters).toEqual(['path']);
  });
});
