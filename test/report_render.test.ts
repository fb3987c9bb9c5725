/**
 * Markdown and HTML renderers on hand-made reports: names full of markup come back exactly
 * (Markdown through markdown-it) or as text (HTML, never as tags); missing values read as
 * '—'; every report kind renders; analyses are drawn from their declared data alone; the
 * review view's scope line and blocks.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisEntry } from '../src/analysis/types.js';
import type { TensorStats } from '../src/diff/types.js';
import type { ModelDescription } from '../src/formats/types.js';
import { render, type Report } from '../src/index.js';
import { blockOf, reviewPair } from '../src/report/review.js';
import { markdownTables, tablesStartingWith } from './helpers/report-cells.js';

const HOSTILE = 'w|<script>alert(1)</script>__x__*y*`z`[a](b)\\';

function model(path: string, names: string[]): ModelDescription {
  const tensors = names.map((name) => ({
    name,
    dtype: 'f32' as const,
    shape: [2],
    numel: 2,
    byteOrder: 'little' as const,
    source: { kind: 'file' as const, path, offset: 0, length: 8 },
  }));
  return { path, format: 'safetensors', tensors, leaves: {}, warnings: [] };
}

function stats(mean: number | null, l2: number): TensorStats {
  return {
    mean,
    std: 0.5,
    min: -1,
    max: 1,
    shape: [2],
    dtype: 'f32',
    total_params: 2,
    nan_count: 0,
    posinf_count: 0,
    neginf_count: 0,
    zero_count: 0,
    l2_norm: l2,
  };
}

const names = ['blocks.0.attn.weight', 'blocks.3.mlp.weight', 'blocks.3.attn.weight', 'lm_head.weight', HOSTILE];
const pair: Report = {
  kind: 'pair',
  a: model('a <1>.safetensors', names),
  b: model('b.safetensors', names),
  results: [
    // ‖Δ‖ = rel × ‖A‖: 0.3·2 = 0.6, 0.4·1 = 0.4, 0 → shares 0.36/0.52, 0.16/0.52.
    {
      kind: 'TensorStatsChanged',
      name: 'blocks.3.mlp.weight',
      a: stats(0.1, 2),
      b: stats(0.2, 2.1),
      comparison: { max_abs_diff: 0.5, mean_abs_diff: 0.25, rel_l2_change: 0.3, cosine_similarity: 0.99, changed_elements: 2 },
    },
    {
      kind: 'TensorStatsChanged',
      name: HOSTILE,
      a: stats(null, 1),
      b: stats(0.2, 1),
      comparison: { max_abs_diff: 0.4, mean_abs_diff: 0.2, rel_l2_change: 0.4, cosine_similarity: null, changed_elements: 1 },
    },
    { kind: 'TensorShapeChanged', name: 'lm_head.weight', a: [2], b: [3] },
    { kind: 'Modified', name: 'epoch', a: 1, b: '2' },
  ],
  analyses: [
    {
      name: 'made_up',
      key: 'MadeUp',
      label: 'made_up_analysis',
      summary: 'anything <b>',
      details: ['line 1'],
      data: {},
      table: { columns: ['thing', 'value'], rows: [[HOSTILE, 1.5]], chart: { columns: ['value'] } },
      series: [{ name: 's', values: [1, null, 3] }],
      matrix: {
        labels: ['x', 'y'],
        values: [
          [1, 0.5],
          [0.5, 1],
        ],
      },
    } satisfies AnalysisEntry,
  ],
};

describe('Markdown and HTML renderers', () => {
  it('Markdown: names with markup come back exactly from markdown-it; null is —', async () => {
    const md = await render(pair, 'markdown');
    const [values] = tablesStartingWith(markdownTables(md), 'tensor', 'shape', 'dtype', 'mean A');
    expect(values!.rows.map((r) => r[0])).toEqual(['blocks.3.mlp.weight', HOSTILE]);
    expect(values!.rows[1]![3]).toBe('—');
    expect(values!.rows[1]![10]).toBe('—');
    const [made] = tablesStartingWith(markdownTables(md), 'thing', 'value');
    expect(made!.rows).toEqual([[HOSTILE, '1.5000']]);
    expect(md).not.toContain('<script>');
  });

  it('HTML: markup in names and paths is text; charts only with charts on; analyses drawn from their data', async () => {
    const html = await render(pair, 'html');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<svg');
    const charted = await render(pair, 'html', { charts: true });
    expect(charted.match(/data-chart="bars"/g)).toHaveLength(2); // changed tensors, the analysis table's chart column
    expect(charted.match(/data-chart="heatmap"/g)).toHaveLength(2); // the series, the matrix
    expect(charted.match(/class="dx-cell"/g)).toHaveLength(3 + 4);
    expect(charted).not.toMatch(/<(link|img|iframe)\b|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('every report kind renders in both formats', async () => {
    const dir: Report = { kind: 'directory', a: 'x', b: 'y', files: [{ file: 'm.st', status: 'only_in_b', results: [] }] };
    const inspect: Report = { kind: 'inspect', file: 'f.st', format: 'safetensors', tensors: [], metadata: { step: 7 }, warnings: ['odd'] };
    for (const r of [pair, dir, inspect]) {
      const md = await render(r, 'markdown');
      expect(md.startsWith('# diffai report: ')).toBe(true);
      const html = await render(r, 'html');
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html.trimEnd().endsWith('</html>')).toBe(true);
    }
    const [meta] = tablesStartingWith(markdownTables(await render(inspect, 'markdown')), 'key', 'value');
    expect(meta!.rows).toEqual([['step', '7']]);
  });

  it('review: blocks, shares of ‖Δ‖², structural first, identical as a count', () => {
    expect(blockOf('blocks.3.attn.q.weight')).toBe('blocks.3');
    expect(blockOf('lm_head.weight')).toBe('lm_head');
    expect(blockOf('transformer.h.0.attn.c_attn.bias')).toBe('transformer.h.0');
    expect(blockOf('scale')).toBe('scale');
    if (pair.kind !== 'pair') throw new Error('pair');
    const view = reviewPair(pair);
    expect(view.totalTensors).toBe(5);
    expect(view.changedTensors).toBe(3);
    expect(view.identicalTensors).toBe(2);
    expect(view.top.map((t) => t.name)).toEqual(['blocks.3.mlp.weight', HOSTILE]);
    expect(view.top[0]!.share).toBeCloseTo(0.36 / 0.52, 12);
    expect(view.top[1]!.share).toBeCloseTo(0.16 / 0.52, 12);
    expect(view.structural.map((r) => r.kind)).toEqual(['TensorShapeChanged']);
    expect(view.scope).toBe(`3 of 5 tensors changed, all in blocks.3, ${blockOf(HOSTILE)} and lm_head; 1 metadata entry changed`);
  });

  it('review: optimizer state changes are counted but not part of the model change shares', () => {
    const opt = 'optimizer_state_dict.state.0.step';
    const report: Report = {
      kind: 'pair',
      a: model('a', ['fc.weight', opt]),
      b: model('b', ['fc.weight', opt]),
      results: [
        {
          kind: 'TensorStatsChanged',
          name: 'fc.weight',
          a: stats(0.1, 1),
          b: stats(0.2, 1),
          comparison: { max_abs_diff: 0.1, mean_abs_diff: 0.1, rel_l2_change: 0.1, cosine_similarity: 0.99, changed_elements: 2 },
        },
        {
          kind: 'TensorStatsChanged',
          name: opt,
          a: stats(45, 45),
          b: stats(90, 90),
          comparison: { max_abs_diff: 45, mean_abs_diff: 45, rel_l2_change: 1, cosine_similarity: 1, changed_elements: 1 },
        },
      ],
    };
    if (report.kind !== 'pair') throw new Error('pair');
    const view = reviewPair(report);
    expect(view.top.map((t) => [t.name, t.share])).toEqual([['fc.weight', 1]]);
    expect(view.blocks.find((b) => b.block === 'optimizer_state_dict.state.0')?.share).toBeNull();
    expect(view.scope).toBe('2 of 2 tensors changed (1 optimizer state), all in fc and optimizer_state_dict.state.0');
  });

  it('analysis charts stay readable: the first 40 ranked rows as bars, the 40 series with the highest peaks as heat-map rows', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => [`layer${i}`, 100 - i]);
    const series = Array.from({ length: 100 }, (_, i) => ({ name: `s${i}`, values: [i % 10, (i * 7) % 100] }));
    const many: Report = {
      kind: 'pair',
      a: model('a', []),
      b: model('b', []),
      results: [],
      analyses: [
        {
          name: 'big',
          key: 'Big',
          label: 'big',
          summary: '',
          details: [],
          data: {},
          table: { columns: ['layer', 'v'], rows, chart: { columns: ['v'] } },
          series,
        },
      ],
    };
    const html = await render(many, 'html', { charts: true });
    const bars = [...html.matchAll(/class="dx-bar" data-label="([^"]*)"/g)].map((m) => m[1]);
    expect(bars).toEqual(rows.slice(0, 40).map((r) => r[0]));
    const heat = [...new Set([...html.matchAll(/class="dx-cell" data-row="([^"]*)"/g)].map((m) => m[1]))];
    const peaks = series.map((s) => ({ name: s.name, peak: Math.max(...s.values) })).sort((x, y) => y.peak - x.peak);
    const cut = peaks[39]!.peak;
    expect(heat).toHaveLength(40);
    for (const name of heat) expect(Math.max(...series.find((s) => s.name === name)!.values)).toBeGreaterThanOrEqual(cut);
    expect(heat).toEqual(series.map((s) => s.name).filter((n) => heat.includes(n))); // declared order kept
    expect(html).toContain('(40 of 100 rows, as ranked)');
  });

  it('text with charts: histograms and series as sparklines on one scale, empty bins blank', async () => {
    const withHist: Report = {
      kind: 'pair',
      a: model('a', []),
      b: model('b', []),
      results: [],
      histograms: [{ name: 'w', lo: -1, hi: 1, a: [0, 8, 4, 0], b: [1, 0, 8, 8] }],
      analyses: [{ name: 's', key: 'S', label: 'seq', summary: 'x', details: [], data: {}, series: [{ name: 'model', values: [0, 0.5, 1, null] }] }],
    };
    const text = await render(withHist, 'text', { charts: true });
    expect(text).toContain('  w A | █▅ | [-1.0000, 1.0000]\n');
    expect(text).toContain('    B |▂ ██|\n');
    expect(text).toContain('  model ▁▅█·\n');
    expect(await render(withHist, 'text')).not.toMatch(/[▁-█]/);
  });
});
