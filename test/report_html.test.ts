/**
 * HTML reports opened in real Chromium (test/helpers/browser.ts): no console errors and no
 * network requests; every table number equals the JSON output of the same command; charts
 * present with the right number of bars and cells, histogram counts equal to an
 * independent count over the decoded tensors; sorting, filtering and collapsed long tables
 * work; a screenshot is not blank. Reports of a 1,000-tensor model, a 3-checkpoint sequence
 * and a directory stay small. Exit codes are only required not to be 2.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT, readSafetensorsValues, tempDir, writeSafetensors } from './helpers/files.js';
import { launchBrowser } from './helpers/browser.js';
import { changedValueColumns, entries, expectShows, type Json, ran } from './helpers/report-cells.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const launched = await launchBrowser();
if (!launched.browser) console.warn(`report_html.test.ts: SKIPPED, no browser could start: ${launched.reason}`);

const core = (f: string) => `fixtures/core/${f}`;
const fx = (f: string) => `fixtures/analysis/${f}`;
const BASE = core('digits_mlp.safetensors');
const TUNED = core('digits_mlp_finetuned.safetensors');
const BINS = 40;
const tmp = tempDir('diffai-html-');

/** Writes `name.html` with the given arguments and returns it with the JSON output of the same run. */
async function report(name: string, args: string[]): Promise<{ file: string; json: Json }> {
  const file = tmp.path(`${name}.html`);
  const r = ran(await cli([...args, '--generate-report', file, '-o', 'json']));
  return { file, json: JSON.parse(r.stdout) };
}

interface Opened {
  page: Page;
  problems: string[];
}

async function open(browser: Browser, file: string, dark = false): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: dark ? 'dark' : 'light' });
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    if (route.request().url() !== url) problems.push(`request: ${route.request().url()}`);
    return route.request().url() === url ? route.continue() : route.abort();
  });
  await page.goto(url);
  return { page, problems };
}

interface DomCell {
  text: string;
  value: string | null;
}

/** The rows of a table as shown: cell text and data-value; `visible` only rows a reader sees. */
function tableRows(page: Page, name: string, visible = false): Promise<DomCell[][]> {
  return page.$$eval(
    `table[data-table="${name}"] tbody tr`,
    (trs, onlyVisible) =>
      trs
        .filter((tr) => !onlyVisible || (tr as HTMLElement).offsetParent !== null)
        .map((tr) => [...(tr as HTMLTableRowElement).cells].map((td) => ({ text: td.textContent ?? '', value: td.getAttribute('data-value') }))),
    visible,
  );
}

function tableHeader(page: Page, name: string): Promise<string[]> {
  return page.$$eval(`table[data-table="${name}"] thead th`, (ths) => ths.map((th) => th.textContent ?? ''));
}

/** A numeric cell holds the JSON number exactly in data-value and shows it to the digits displayed. */
function expectCell(cell: DomCell, value: number | null, label: string): void {
  expect(cell.value, label).toBe(value === null ? '' : String(value));
  expectShows(cell.text, value, label);
}

/** Counts per bin by the histogram op's documented rule, in float64 over exact values. */
function referenceHistogram(values: number[], lo: number, hi: number): number[] {
  const counts = new Array<number>(BINS).fill(0);
  for (const x of values) counts[Math.min(BINS - 1, Math.floor(((x - lo) * BINS) / (hi - lo)))]!++;
  return counts;
}

/** A screenshot drawn into a canvas in the page: share of pixels unlike the top-left one, and distinct colours. */
async function screenshotContent(page: Page, png: Buffer): Promise<{ ink: number; colours: number }> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height).data;
    const colours = new Set<number>();
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) {
      const c = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
      colours.add(c);
      if (Math.abs(d[i]! - d[0]!) + Math.abs(d[i + 1]! - d[1]!) + Math.abs(d[i + 2]! - d[2]!) > 30) ink++;
    }
    return { ink: ink / (d.length / 4), colours: colours.size };
  }, png.toString('base64'));
}

/** A model of `n` small f32 tensors in blocks of ten; `shift` moves every value of the tensors it selects. */
function manyTensors(path: string, n: number, shift: (i: number) => number): string {
  const tensors = Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(16).map((_, k) => Math.sin(i * 16 + k) + shift(i) * (k + 1));
    return { name: `blocks.${Math.floor(i / 10)}.layer${i % 10}.weight`, dtype: 'f32', shape: [4, 4], bytes: new Uint8Array(values.buffer) };
  });
  return writeSafetensors(path, tensors);
}

describe.skipIf(!launched.browser)('HTML reports in Chromium', () => {
  const browser = launched.browser!;
  beforeAll(requireBuild);
  afterAll(async () => {
    await browser.close();
    tmp.cleanup();
  });

  it('pair with charts: no console errors or requests; tables, bars and histograms hold the JSON and the data', async () => {
    const { file, json } = await report('pair', [BASE, TUNED, '--include-charts', '--show-layer-impact', '--memory-analysis']);
    const { page, problems } = await open(browser, file);
    const changed = entries(json, 'TensorStatsChanged');
    // Changed values: every numeric cell is the JSON number.
    const header = await tableHeader(page, 'changed-tensors');
    const rows = await tableRows(page, 'changed-tensors');
    expect(rows.map((r) => r[0]!.text)).toEqual(changed.map((c) => c[0]));
    const at = (row: DomCell[], c: string) => row[header.indexOf(c)]!;
    rows.forEach((row, i) => {
      const name = changed[i][0];
      for (const [c, v] of changedValueColumns(changed[i])) expectCell(at(row, c), v, `${name} ${c}`);
    });
    // Analysis table (rendered generically from its declared table).
    const layers = entries(json, 'LayerImpactAnalysis')[0].layers;
    const impact = await page.$eval('table[data-table^="analysis-layer_impact"]', (t) => t.getAttribute('data-table')!);
    const impactRows = await tableRows(page, impact);
    impactRows.forEach((row, i) => {
      expect(row[0]!.text).toBe(layers[i].layer);
      expectCell(row[1]!, layers[i].rel_l2_change, `${layers[i].layer} rel`);
      expectCell(row[2]!, layers[i].share, `${layers[i].layer} share`);
    });
    // Bars: one per changed tensor, largest first, values from JSON; one per layer; memory: two series × dtypes.
    const bars = await page.$$eval('svg[data-chart="bars"]', (svgs) =>
      svgs.map((s) => [...s.querySelectorAll('rect.dx-bar')].map((r) => Number(r.getAttribute('data-value')))),
    );
    const rels = changed.map((c) => c[3].rel_l2_change as number).sort((x, y) => y - x);
    expect(bars[0]).toEqual(rels);
    expect(bars[1]).toEqual(layers.map((l: Json) => l.rel_l2_change));
    const memory = entries(json, 'MemoryAnalysis')[0];
    const dtypes = new Set([...Object.keys(memory.model_a.bytes_by_dtype), ...Object.keys(memory.model_b.bytes_by_dtype)]);
    expect(bars[2]).toHaveLength(2 * dtypes.size);
    expect(bars[2]).toEqual([...dtypes].sort().flatMap((d) => [memory.model_a.bytes_by_dtype[d] ?? 0, memory.model_b.bytes_by_dtype[d] ?? 0]));
    // Histograms of the four most changed tensors, counts equal to an independent count.
    const hist = await page.$$eval('figure.chart', (figs) =>
      figs
        .filter((f) => f.querySelector('svg[data-chart="histogram"]'))
        .map((f) => ({
          title: f.querySelector('figcaption')!.textContent!,
          a: [...f.querySelectorAll('rect.dx-bin[data-side="a"]')].map((r) => Number(r.getAttribute('data-value'))),
          b: [...f.querySelectorAll('rect.dx-bin[data-side="b"]')].map((r) => Number(r.getAttribute('data-value'))),
        })),
    );
    const ranked = [...changed].sort((x, y) => y[3].rel_l2_change - x[3].rel_l2_change).map((c) => c[0] as string);
    expect(hist.map((h) => h.title)).toEqual(ranked.slice(0, 4).map((n) => `Values of ${n}`));
    const valuesA = readSafetensorsValues(join(ROOT, BASE));
    const valuesB = readSafetensorsValues(join(ROOT, TUNED));
    for (const h of hist) {
      const name = h.title.replace('Values of ', '');
      const a = valuesA.get(name)!.values.map(Number);
      const b = valuesB.get(name)!.values.map(Number);
      const lo = Math.min(...a, ...b);
      const hi = Math.max(...a, ...b);
      expect(h.a, name).toEqual(referenceHistogram(a, lo, hi));
      expect(h.b, name).toEqual(referenceHistogram(b, lo, hi));
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sorting by a numeric column and filtering by name', async () => {
    const { file, json } = await report('sort', [BASE, TUNED]);
    const { page, problems } = await open(browser, file);
    const header = await tableHeader(page, 'changed-tensors');
    const j = header.indexOf('rel. L2 change');
    const th = page.locator('table[data-table="changed-tensors"] thead th').nth(j);
    const column = async () => (await tableRows(page, 'changed-tensors')).map((r) => Number(r[j]!.value));
    const rels = entries(json, 'TensorStatsChanged').map((c) => c[3].rel_l2_change as number);
    await th.locator('button').click();
    expect(await th.getAttribute('aria-sort')).toBe('ascending');
    expect(await column()).toEqual([...rels].sort((x, y) => x - y));
    await th.locator('button').click();
    expect(await th.getAttribute('aria-sort')).toBe('descending');
    expect(await column()).toEqual([...rels].sort((x, y) => y - x));
    await page.locator('div.table[data-table="changed-tensors"] input[type=search]').fill('fc2');
    const shown = await tableRows(page, 'changed-tensors', true);
    expect(shown.map((r) => r[0]!.text).sort()).toEqual(
      entries(json, 'TensorStatsChanged')
        .map((c) => c[0] as string)
        .filter((n) => n.includes('fc2'))
        .sort(),
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('3-checkpoint sequence: heat maps with one cell per layer and step, and an n × n similarity matrix, from JSON', async () => {
    const files = [fx('sgd_epoch1.safetensors'), fx('sgd_epoch2.safetensors'), fx('sgd_epoch3.safetensors')];
    const { file, json } = await report('sequence', [...files, '--convergence-analysis', '--similarity-matrix', '--include-charts']);
    const { page, problems } = await open(browser, file, true);
    const maps = await page.$$eval('svg[data-chart="heatmap"]', (svgs) =>
      svgs.map((s) =>
        [...s.querySelectorAll('rect.dx-cell')].map((r) => [r.getAttribute('data-row'), r.getAttribute('data-col'), Number(r.getAttribute('data-value'))]),
      ),
    );
    const conv = entries(json, 'ConvergenceAnalysis')[0];
    const expectedConv = [
      ...conv.rel_updates.map((v: number, k: number) => ['model', `${k + 1}->${k + 2}`, v]),
      ...conv.layers.flatMap((l: Json) => l.rel_updates.map((v: number, k: number) => [l.layer, `${k + 1}->${k + 2}`, v])),
    ];
    expect(maps[0]).toEqual(expectedConv);
    const sim = entries(json, 'SimilarityMatrix')[0];
    expect(maps[1]).toHaveLength(files.length ** 2);
    expect(maps[1]!.map((c) => c[2])).toEqual(sim.overall.flat());
    // One changed-values table per pair, each equal to its JSON Diff.
    const tables = await page.$$eval('table[data-table="changed-tensors"]', (ts) => ts.length);
    expect(tables).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('1,000-tensor model, sequence and directory: small files, long tables collapsed to 20 rows until "Show all"', async () => {
    const n = 1000;
    const dirA = tmp.path('many-a');
    const dirB = tmp.path('many-b');
    mkdirSync(dirA);
    mkdirSync(dirB);
    const m1 = manyTensors(join(dirA, 'model.safetensors'), n, () => 0);
    const m2 = manyTensors(join(dirB, 'model.safetensors'), n, (i) => (i % 3 === 0 ? 1e-3 * (1 + (i % 7)) : 0));
    const m3 = manyTensors(tmp.path('m3.safetensors'), n, (i) => (i % 2 === 0 ? 2e-3 : 0));
    copyFileSync(m1, join(dirA, 'same.safetensors'));
    copyFileSync(m1, join(dirB, 'same.safetensors'));
    const changed = Math.ceil(n / 3);
    const cases = [
      { name: 'many-pair', args: [m1, m2, '--include-charts', '--show-layer-impact'], rows: changed, sectionClosed: false },
      // Each pair's (each file's) section starts closed when the report holds many differences.
      { name: 'many-seq', args: [m1, m2, m3, '--include-charts', '--convergence-analysis'], rows: changed, sectionClosed: true },
      { name: 'many-dir', args: [dirA, dirB], rows: changed, sectionClosed: true },
    ];
    for (const c of cases) {
      const { file } = await report(c.name, c.args);
      const bytes = statSync(file).size;
      expect(bytes, c.name).toBeLessThan(3 * 1024 * 1024);
      const { page, problems } = await open(browser, file);
      const first = page.locator('div.table[data-table="changed-tensors"]').first();
      const visible = () => first.locator('tbody tr:visible').count();
      expect(await first.locator('tbody tr').count(), c.name).toBe(c.rows);
      if (c.sectionClosed) {
        expect(await visible(), c.name).toBe(0);
        await page.locator('details.section:has(table[data-table="changed-tensors"]) > summary').first().click();
      }
      expect(await visible(), c.name).toBe(20);
      await first.locator('button.more').click();
      expect(await visible(), c.name).toBe(c.rows);
      expect(problems, c.name).toEqual([]);
      await page.close();
    }
    const md = tmp.path('many.md');
    ran(await cli([m1, m2, '--generate-report', md]));
    const text = readFileSync(md, 'utf8');
    expect(statSync(md).size).toBeLessThan(1024 * 1024);
    expect(text).toMatch(new RegExp(`<details><summary>${changed} rows</summary>`));
  });

  it('inspect report and a screenshot that is not blank, in light and dark', async () => {
    const file = tmp.path('inspect.html');
    ran(await cli(['inspect', BASE, '--generate-report', file, '--include-charts']));
    const json = JSON.parse(ran(await cli(['inspect', BASE, '-o', 'json'])).stdout);
    for (const dark of [false, true]) {
      const { page, problems } = await open(browser, file, dark);
      const rows = await tableRows(page, 'tensors');
      expect(rows.map((r) => r[0]!.text)).toEqual(json.tensors.map((t: Json) => t.name));
      const header = await tableHeader(page, 'tensors');
      rows.forEach((r, i) => {
        expectCell(r[header.indexOf('mean')]!, json.tensors[i].mean, `${json.tensors[i].name} mean`);
      });
      const png = await page.screenshot({ fullPage: true });
      const { ink, colours } = await screenshotContent(page, png);
      expect(ink, `dark=${dark}`).toBeGreaterThan(0.03);
      expect(colours, `dark=${dark}`).toBeGreaterThan(50);
      expect(problems).toEqual([]);
      await page.close();
    }
  });
});
