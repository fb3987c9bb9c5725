/**
 * Markdown reports end to end (`node bin/diffai.js`, dist/ built): parsed back with
 * markdown-it, every table cell checked against the JSON output of the same command; the
 * review view's shares against exact sums over the decoded tensors; report files, chart
 * files, and the documents' flag spellings. Exit codes are only required not to be 2, so
 * these hold whether a plain diff of differing models exits 0 or 1.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN, cli, requireBuild } from './helpers/cli.js';
import { ROOT, readSafetensorsValues, tempDir } from './helpers/files.js';
import {
  changedValueColumns,
  col,
  entries,
  expectShows,
  type Json,
  markdownTables,
  type ParsedTable,
  ran,
  tablesStartingWith,
} from './helpers/report-cells.js';

vi.setConfig({ testTimeout: 90_000 });
beforeAll(requireBuild);

const core = (f: string) => `fixtures/core/${f}`;
const fx = (f: string) => `fixtures/analysis/${f}`;
const BASE = core('digits_mlp.safetensors');
const TUNED = core('digits_mlp_finetuned.safetensors');
const tmp = tempDir('diffai-md-');
afterAll(() => tmp.cleanup());

async function both(args: string[]): Promise<{ md: string; json: Json }> {
  const [md, json] = await Promise.all([cli([...args, '-o', 'markdown']), cli([...args, '-o', 'json'])]);
  return { md: ran(md).stdout, json: JSON.parse(ran(json).stdout) };
}

/** The changed-values table against the TensorStatsChanged entries, cell by cell. */
function expectValueTable(t: ParsedTable, changed: Json[], label: string): void {
  expect(t.rows.map((r) => r[0]).sort(), label).toEqual(changed.map((c) => c[0]).sort());
  for (const [name, a, b, cmp] of changed) {
    const row = t.rows.find((r) => r[0] === name)!;
    const at = (c: string) => row[col(t, c)]!;
    expect(at('shape'), name).toBe(`[${b.shape.join(', ')}]`);
    expect(at('dtype'), name).toBe(b.dtype);
    for (const [c, v] of changedValueColumns([name, a, b, cmp])) expectShows(at(c), v, `${label} ${name} ${c}`);
  }
}

describe('Markdown reports', () => {
  it('pair: changed values, metadata and an analysis table hold the JSON numbers', async () => {
    const { md, json } = await both([BASE, TUNED, '--show-layer-impact']);
    expect(md.startsWith('# diffai report: ')).toBe(true);
    const tables = markdownTables(md);
    const [values] = tablesStartingWith(tables, 'tensor', 'shape', 'dtype', 'mean A');
    expectValueTable(values!, entries(json, 'TensorStatsChanged'), 'pair');
    const [meta] = tablesStartingWith(tables, 'change', 'key', 'A', 'B');
    const modified = entries(json, 'Modified');
    expect(modified.length).toBeGreaterThan(0);
    expect(meta!.rows).toEqual(modified.map(([k, a, b]: [string, unknown, unknown]) => ['modified', k, String(a), String(b)]));
    const [impact] = tablesStartingWith(tables, 'layer', 'rel_l2_change', 'share');
    const layers = entries(json, 'LayerImpactAnalysis')[0].layers;
    expect(impact!.rows.map((r) => r[0])).toEqual(layers.map((l: Json) => l.layer));
    impact!.rows.forEach((r, i) => {
      expectShows(r[col(impact!, 'rel_l2_change')]!, layers[i].rel_l2_change, `layer ${r[0]}`);
      expectShows(r[col(impact!, 'share')]!, layers[i].share, `layer ${r[0]}`);
      expectShows(r[col(impact!, 'params')]!, layers[i].params, `layer ${r[0]}`);
    });
    // Inputs: both files with their real sizes.
    const [inputs] = tablesStartingWith(tables, '', 'path', 'format', 'bytes');
    expect(inputs!.rows.map((r) => [r[1], r[2], Number(r[3])])).toEqual([BASE, TUNED].map((p) => [p, 'safetensors', readFileSync(join(ROOT, p)).length]));
  });

  it('pair: shape changes and removed tensors in their own tables', async () => {
    const reshaped = await both([BASE, core('digits_mlp_reshaped.safetensors')]);
    const shapes = entries(reshaped.json, 'TensorShapeChanged');
    expect(shapes.length).toBeGreaterThan(0);
    const [structural] = tablesStartingWith(markdownTables(reshaped.md), 'change', 'tensor', 'A', 'B');
    expect(structural!.rows).toEqual(shapes.map(([n, a, b]: [string, number[], number[]]) => ['shape', n, `[${a.join(', ')}]`, `[${b.join(', ')}]`]));
    const removed = await both([BASE, core('digits_mlp_layer_removed.safetensors')]);
    const gone = entries(removed.json, 'TensorRemoved');
    expect(gone.length).toBeGreaterThan(0);
    const [table] = tablesStartingWith(markdownTables(removed.md), 'change', 'tensor', 'shape', 'dtype', 'params');
    expect(table!.rows.map((r) => r[1])).toEqual(gone.map((g: Json) => g[0]));
    table!.rows.forEach((r, i) => {
      const s = gone[i][1];
      expect(r[0]).toBe('removed');
      expectShows(r[col(table!, 'params')]!, s.total_params, r[1]!);
      expectShows(r[col(table!, 'mean')]!, s.mean, r[1]!);
      expectShows(r[col(table!, 'std')]!, s.std, r[1]!);
    });
  });

  it('sequence of three checkpoints: one changed-values table per pair, the convergence series as a table-free section', async () => {
    const files = [fx('sgd_epoch1.safetensors'), fx('sgd_epoch2.safetensors'), fx('sgd_epoch3.safetensors')];
    const { md, json } = await both([...files, '--convergence-analysis']);
    const diffs = entries(json, 'Diff');
    expect(diffs).toHaveLength(2);
    const values = tablesStartingWith(markdownTables(md), 'tensor', 'shape', 'dtype', 'mean A');
    expect(values).toHaveLength(2);
    diffs.forEach((d: Json, k: number) => {
      expectValueTable(values[k]!, entries(d.differences, 'TensorStatsChanged'), `pair ${k}`);
    });
    const [pairs] = tablesStartingWith(markdownTables(md), 'step', 'A', 'B', 'differences');
    expect(pairs!.rows.map((r) => [r[1], r[2], Number(r[3])])).toEqual(diffs.map((d: Json) => [d.a, d.b, d.differences.length]));
    expect(md).toContain('### convergence\\_analysis'); // `_` escaped: `__metadata__` would turn bold
    expect(md).toContain(entries(json, 'ConvergenceAnalysis')[0].trend);
  });

  it('directory diff: the file list and each modified file match the JSON', async () => {
    const a = tmp.path('dirA');
    const b = tmp.path('dirB');
    mkdirSync(a);
    mkdirSync(b);
    copyFileSync(join(ROOT, BASE), join(a, 'model.safetensors'));
    copyFileSync(join(ROOT, TUNED), join(b, 'model.safetensors'));
    copyFileSync(join(ROOT, BASE), join(a, 'same.safetensors'));
    copyFileSync(join(ROOT, BASE), join(b, 'same.safetensors'));
    copyFileSync(join(ROOT, BASE), join(a, 'old.safetensors'));
    copyFileSync(join(ROOT, TUNED), join(b, 'new.safetensors'));
    const { md, json } = await both([a, b]);
    const tables = markdownTables(md);
    const [files] = tablesStartingWith(tables, 'file', 'status', 'differences');
    expect(files!.rows).toEqual(json.map((f: Json) => [f.file, f.status, String(f.differences.length)]));
    const [values] = tablesStartingWith(tables, 'tensor', 'shape', 'dtype', 'mean A');
    expectValueTable(values!, entries(json.find((f: Json) => f.file === 'model.safetensors').differences, 'TensorStatsChanged'), 'directory');
  });

  it('inspect: one row per tensor with the JSON statistics', async () => {
    const { md, json } = await both(['inspect', BASE]);
    const [t] = tablesStartingWith(markdownTables(md), 'tensor', 'role', 'dtype', 'shape');
    expect(t!.rows.map((r) => r[0])).toEqual(json.tensors.map((x: Json) => x.name));
    t!.rows.forEach((r, i) => {
      const x = json.tensors[i];
      for (const [c, key] of [
        ['params', 'total_params'],
        ['mean', 'mean'],
        ['std', 'std'],
        ['min', 'min'],
        ['max', 'max'],
        ['L2 norm', 'l2_norm'],
        ['zeros', 'zero_count'],
      ] as const)
        expectShows(r[col(t!, c)]!, x[key], `${x.name} ${c}`);
    });
  });

  it('--markdown-output is -o markdown', async () => {
    const [flag, opt] = await Promise.all([cli([BASE, TUNED, '--markdown-output']), cli([BASE, TUNED, '-o', 'markdown'])]);
    const body = (s: string) => s.replace(/^- \*\*Command:\*\*.*$/m, '');
    expect(body(ran(flag).stdout)).toBe(body(ran(opt).stdout));
    expect(flag.stdout).toContain('| tensor | shape | dtype | mean A |');
  });

  it('review view: scope, structural changes first, shares equal to exact sums over the decoded tensors', async () => {
    const r = ran(await cli([BASE, TUNED, '--review-friendly', '-o', 'markdown']));
    const a = readSafetensorsValues(join(ROOT, BASE));
    const b = readSafetensorsValues(join(ROOT, TUNED));
    const sq = new Map<string, number>();
    for (const [name, ta] of a) {
      const tb = b.get(name)!;
      sq.set(
        name,
        ta.values.reduce((s: number, x, i) => s + (Number(tb.values[i]) - Number(x)) ** 2, 0),
      );
    }
    const total = [...sq.values()].reduce((s, x) => s + x, 0);
    const changed = [...sq].filter(([, v]) => v > 0).length;
    expect(r.stdout).toContain(`${changed} of ${a.size} tensors changed`);
    const [top] = tablesStartingWith(markdownTables(r.stdout), 'tensor', 'block', 'share of change');
    const shares = top!.rows.map((row) => Number(row[2]));
    expect(shares).toEqual([...shares].sort((x, y) => y - x));
    for (const row of top!.rows) expectShows(row[2]!, sq.get(row[0]!)! / total, `share ${row[0]}`);
    // Identical tensors collapse into a count; no per-tensor statistics table.
    expect(tablesStartingWith(markdownTables(r.stdout), 'tensor', 'shape', 'dtype', 'mean A')).toHaveLength(0);

    const reshaped = ran(await cli([BASE, core('digits_mlp_reshaped.safetensors'), '--review-friendly']));
    const lines = reshaped.stdout.split('\n');
    expect(lines[0]).toMatch(/^\d+ of \d+ tensors changed, /);
    expect(lines[1]).toBe('structural and tie changes:');
    expect(lines.indexOf('structural and tie changes:')).toBeLessThan(lines.indexOf('by block:'));
  });

  it('--generate-report FILE.md --include-charts writes the report and SVG charts it links', async () => {
    const out = tmp.path('report.md');
    const r = ran(await cli([BASE, TUNED, '--generate-report', out, '--include-charts', '--show-layer-impact', '-o', 'json']));
    JSON.parse(r.stdout); // stdout still carries the chosen format
    const md = readFileSync(out, 'utf8');
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURI(m[1]!));
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const l of links) expect(existsSync(join(tmp.dir, l)), l).toBe(true);
    const json = JSON.parse(r.stdout);
    const bars = readFileSync(join(tmp.dir, links.find((l) => l.includes('relative-l2-change-by-tensor'))!), 'utf8');
    const rels = [...bars.matchAll(/class="dx-bar"[^>]*data-value="([^"]*)"/g)].map((m) => Number(m[1]));
    const expected = entries(json, 'TensorStatsChanged')
      .map((e: Json) => e[3].rel_l2_change as number)
      .sort((x: number, y: number) => y - x);
    expect(rels).toEqual(expected);
    const layers = readFileSync(join(tmp.dir, links.find((l) => l.includes('by-layer'))!), 'utf8');
    expect([...layers.matchAll(/class="dx-bar"/g)]).toHaveLength(entries(json, 'LayerImpactAnalysis')[0].layers.length);
  });

  it('the documents’ flags run on real files; --generate-report without a file writes diffai-report.html', () => {
    const dir = tmp.path('cwd');
    mkdirSync(dir);
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const files = [join(ROOT, BASE), join(ROOT, TUNED)];
    for (const flags of [
      ['--generate-report'],
      ['--markdown-output'],
      ['--include-charts'],
      ['--review-friendly'],
      ['--generate-report', '--markdown-output', '--include-charts', '--review-friendly'],
    ]) {
      const r = run([...files, ...flags]);
      expect(r.status, `${flags.join(' ')}: ${r.stderr}`).not.toBe(2);
      expect(r.stdout.length, flags.join(' ')).toBeGreaterThan(0);
    }
    const html = readFileSync(join(dir, 'diffai-report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
  });

  it('a report file with an unknown extension is a usage error before any work', async () => {
    const r = await cli([BASE, TUNED, '--generate-report', tmp.path('report.pdf')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/report\.pdf: --generate-report: cannot tell the format/);
  });
});
