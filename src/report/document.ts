/**
 * Any report as a document: sections of facts, tables, charts and lists that the Markdown
 * and HTML renderers draw without knowing what produced them. Every number in a table is
 * the report model's own value (the one JSON prints); analyses are laid out generically
 * from their summary, details, table, series and matrix.
 */
import type { AnalysisEntry, ValueHistogram } from '../analysis/types.js';
import { byteLength } from '../dtypes.js';
import type { DiffResult, TensorStats } from '../diff/types.js';
import type { LeafValue } from '../formats/types.js';
import type { FileDiff, InspectReport } from '../library.js';
import { type ReviewView, reviewPair, reviewResults } from './review.js';
import type { DirectoryReport, PairReport, Report, SequenceReport } from './types.js';

export type Cell = string | number | null;

export type Chart =
  | { kind: 'bars'; title: string; labels: string[]; series: Array<{ name: string; values: Array<number | null> }> }
  | { kind: 'heatmap'; title: string; rows: string[]; columns: string[]; values: Array<Array<number | null>> }
  | { kind: 'histogram'; title: string; lo: number; hi: number; a: number[]; b: number[]; labels: [string, string] };

export interface TableBlock {
  kind: 'table';
  /** Stable name of what the table lists (`changed-tensors`, `analysis-layer_impact`), for links and tests. */
  name: string;
  columns: string[];
  rows: Cell[][];
}

export type Block =
  | { kind: 'text'; text: string }
  /** Label/value pairs (the header of a report, a summary). */
  | { kind: 'facts'; items: Array<[string, Cell]> }
  | TableBlock
  | { kind: 'list'; items: string[] }
  | { kind: 'chart'; chart: Chart }
  /** A titled part; `collapsed` ones start closed. */
  | { kind: 'section'; title: string; collapsed: boolean; blocks: Block[] };

export interface ReportDocument {
  title: string;
  blocks: Block[];
}

export interface ReportMeta {
  /** The command line as typed. */
  command?: string;
  version?: string;
  /** Input files with their sizes in bytes (the renderer cannot stat them). */
  sizes?: Record<string, number>;
}

export interface DocumentOptions {
  charts?: boolean;
  review?: boolean;
  meta?: ReportMeta;
}

/** Changed tensors drawn in the relative-change bar chart. */
export const CHART_TOP_TENSORS = 30;
/** Rows (bars or heat-map rows) an analysis chart draws at most. */
export const CHART_MAX_ROWS = 40;
/** Sections with more differences than this start collapsed. */
const COLLAPSE_AFTER = 40;

const dims = (shape: number[]) => `[${shape.join(', ')}]`;
const leafText = (v: LeafValue) => (typeof v === 'string' ? v : JSON.stringify(v));

function section(title: string, blocks: Block[], collapsed = false): Block {
  return { kind: 'section', title, collapsed, blocks };
}

function countBy<T>(xs: T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

// ── The differences of one pair ──────────────────────────────────────────────

type Of<K extends DiffResult['kind']> = Extract<DiffResult, { kind: K }>;

function valueTable(results: Of<'TensorStatsChanged'>[]): TableBlock {
  return {
    kind: 'table',
    name: 'changed-tensors',
    columns: ['tensor', 'shape', 'dtype', 'mean A', 'mean B', 'std A', 'std B', 'max |Δ|', 'mean |Δ|', 'rel. L2 change', 'cosine', 'changed elements'],
    rows: results.map((r) => [
      r.name,
      dims(r.b.shape),
      r.b.dtype,
      r.a.mean,
      r.b.mean,
      r.a.std,
      r.b.std,
      r.comparison.max_abs_diff,
      r.comparison.mean_abs_diff,
      r.comparison.rel_l2_change,
      r.comparison.cosine_similarity,
      r.comparison.changed_elements,
    ]),
  };
}

function structuralTable(results: DiffResult[]): TableBlock {
  const row = (r: DiffResult): Cell[] => {
    switch (r.kind) {
      case 'TensorShapeChanged':
        return ['shape', r.name, dims(r.a), dims(r.b)];
      case 'TensorDtypeChanged':
        return ['dtype', r.name, r.a, r.b];
      case 'TieChanged':
        return [`tie with ${r.partner}`, r.name, r.a, r.b];
      case 'TensorAdded':
        return ['added', r.name, null, `${dims(r.stats.shape)} ${r.stats.dtype}`];
      case 'TensorRemoved':
        return ['removed', r.name, `${dims(r.stats.shape)} ${r.stats.dtype}`, null];
      default:
        return [r.kind, r.name, null, null];
    }
  };
  return { kind: 'table', name: 'structural-changes', columns: ['change', 'tensor', 'A', 'B'], rows: results.map(row) };
}

function addedRemovedTable(results: Array<Of<'TensorAdded'> | Of<'TensorRemoved'>>): TableBlock {
  return {
    kind: 'table',
    name: 'added-removed-tensors',
    columns: ['change', 'tensor', 'shape', 'dtype', 'params', 'mean', 'std', 'min', 'max'],
    rows: results.map((r) => [
      r.kind === 'TensorAdded' ? 'added' : 'removed',
      r.name,
      dims(r.stats.shape),
      r.stats.dtype,
      r.stats.total_params,
      r.stats.mean,
      r.stats.std,
      r.stats.min,
      r.stats.max,
    ]),
  };
}

function metadataTable(results: DiffResult[]): TableBlock {
  const row = (r: DiffResult): Cell[] => {
    if (r.kind === 'Modified') return ['modified', r.name, leafText(r.a), leafText(r.b)];
    if (r.kind === 'Added') return ['added', r.name, null, leafText(r.value)];
    if (r.kind === 'Removed') return ['removed', r.name, leafText(r.value), null];
    return [r.kind, r.name, null, null];
  };
  return { kind: 'table', name: 'metadata-changes', columns: ['change', 'key', 'A', 'B'], rows: results.map(row) };
}

function histogramCharts(histograms: ValueHistogram[] | undefined): Block[] {
  return (histograms ?? []).map((h) => ({
    kind: 'chart',
    chart: { kind: 'histogram', title: `Values of ${h.name}`, lo: h.lo, hi: h.hi, a: h.a, b: h.b, labels: ['A', 'B'] },
  }));
}

/** The differences of one pair (values, structure, added/removed, metadata), and its charts. */
function resultBlocks(results: DiffResult[], options: DocumentOptions, histograms?: ValueHistogram[]): Block[] {
  const values = results.filter((r): r is Of<'TensorStatsChanged'> => r.kind === 'TensorStatsChanged');
  const structure = results.filter((r) => r.kind === 'TensorShapeChanged' || r.kind === 'TensorDtypeChanged' || r.kind === 'TieChanged');
  const addRemove = results.filter((r): r is Of<'TensorAdded'> | Of<'TensorRemoved'> => r.kind === 'TensorAdded' || r.kind === 'TensorRemoved');
  const metadata = results.filter((r) => r.kind === 'Added' || r.kind === 'Removed' || r.kind === 'Modified');
  const blocks: Block[] = [];
  if (results.length === 0) blocks.push({ kind: 'text', text: 'No differences.' });
  if (structure.length > 0) blocks.push(section(`Shape, dtype and tie changes (${structure.length})`, [structuralTable(structure)]));
  if (addRemove.length > 0) blocks.push(section(`Added and removed tensors (${addRemove.length})`, [addedRemovedTable(addRemove)]));
  if (values.length > 0) blocks.push(section(`Changed values (${values.length})`, [valueTable(values)]));
  if (metadata.length > 0) blocks.push(section(`Metadata changes (${metadata.length})`, [metadataTable(metadata)]));
  if (options.charts) {
    const charts: Block[] = [];
    const ranked = values
      .filter((r) => r.comparison.rel_l2_change !== null)
      .sort((x, y) => y.comparison.rel_l2_change! - x.comparison.rel_l2_change! || (x.name < y.name ? -1 : 1))
      .slice(0, CHART_TOP_TENSORS);
    if (ranked.length > 0) {
      const title = `Relative L2 change by tensor${values.length > ranked.length ? ` (top ${ranked.length} of ${values.length})` : ''}`;
      charts.push({
        kind: 'chart',
        chart: {
          kind: 'bars',
          title,
          labels: ranked.map((r) => r.name),
          series: [{ name: 'rel. L2 change', values: ranked.map((r) => r.comparison.rel_l2_change) }],
        },
      });
    }
    charts.push(...histogramCharts(histograms));
    if (charts.length > 0) blocks.push(section('Charts', charts));
  }
  return blocks;
}

function reviewBlocks(view: ReviewView): Block[] {
  const blocks: Block[] = [{ kind: 'text', text: view.scope }];
  if (view.structural.length > 0) blocks.push(section(`Structural and tie changes (${view.structural.length})`, [structuralTable(view.structural)]));
  if (view.top.length > 0)
    blocks.push(
      section('Largest changes by share of the total', [
        {
          kind: 'table',
          name: 'review-top',
          columns: ['tensor', 'block', 'share of change', 'rel. L2 change', 'max |Δ|', 'cosine'],
          rows: view.top.map((t) => [t.name, t.block, t.share, t.rel_l2_change, t.max_abs_diff, t.cosine_similarity]),
        },
      ]),
    );
  if (view.blocks.length > 0)
    blocks.push(
      section(`Changes by block (${view.blocks.length})`, [
        {
          kind: 'table',
          name: 'review-blocks',
          columns: ['block', 'changed tensors', 'share of change', 'tensors'],
          rows: view.blocks.map((b) => [b.block, b.changed.length, b.share, b.changed.join(', ')]),
        },
      ]),
    );
  if (view.identicalTensors !== null) blocks.push({ kind: 'text', text: `${view.identicalTensors} identical tensors not shown.` });
  if (view.metadata.length > 0) blocks.push(section(`Metadata changes (${view.metadata.length})`, [metadataTable(view.metadata)]));
  return blocks;
}

function summaryFacts(results: DiffResult[], scope: string): Block {
  const counts = countBy(results, (r) => r.kind);
  return { kind: 'facts', items: [['Scope', scope], ['Differences', results.length], ...[...counts].map(([k, n]): [string, Cell] => [k, n])] };
}

function pairBody(p: PairReport, options: DocumentOptions): Block[] {
  const view = reviewPair(p);
  const blocks: Block[] = [summaryFacts(p.results, view.scope)];
  blocks.push(...(options.review ? reviewBlocks(view) : resultBlocks(p.results, options, p.histograms)));
  if (options.review && options.charts) blocks.push(...histogramCharts(p.histograms));
  return blocks;
}

// ── Analyses ─────────────────────────────────────────────────────────────────

/** The largest value of a series (−∞ when it has none), for picking the rows of a heat map. */
function peak(values: Array<number | null>): number {
  return Math.max(-Infinity, ...values.filter((v): v is number => v !== null && Number.isFinite(v)));
}

/**
 * An analysis' declared charts: its table's chart columns as bars (the table's first rows,
 * as the analysis ranked them), its series as a heat map (the series with the highest peaks,
 * in their order), its matrix as a heat map. Long ones are cut to CHART_MAX_ROWS rows.
 */
function analysisCharts(e: AnalysisEntry): Block[] {
  const charts: Block[] = [];
  const of = (shown: number, total: number, what: string) => (total > shown ? ` (${shown} of ${total} ${what})` : '');
  if (e.table?.chart && e.table.rows.length > 0) {
    const { columns } = e.table;
    const rows = e.table.rows.slice(0, CHART_MAX_ROWS);
    const cols = e.table.chart.columns.map((c) => columns.indexOf(c)).filter((j) => j >= 0);
    const numbers = (j: number) => rows.map((r) => (typeof r[j] === 'number' ? (r[j] as number) : null));
    const title = `${e.table.chart.title ?? `${e.label}: ${cols.map((j) => columns[j]).join(', ')}`}${of(rows.length, e.table.rows.length, 'rows, as ranked')}`;
    if (cols.length > 0)
      charts.push({
        kind: 'chart',
        chart: { kind: 'bars', title, labels: rows.map((r) => String(r[0])), series: cols.map((j) => ({ name: columns[j]!, values: numbers(j) })) },
      });
  }
  if (e.series && e.series.length > 0) {
    const keep = new Set([...e.series].sort((a, b) => peak(b.values) - peak(a.values)).slice(0, CHART_MAX_ROWS));
    const series = e.series.filter((s) => keep.has(s));
    const x = e.series[0]!.x ?? e.series[0]!.values.map((_, k) => String(k));
    const title = `${e.label} along the sequence${of(series.length, e.series.length, 'series with the highest values')}`;
    charts.push({
      kind: 'chart',
      chart: { kind: 'heatmap', title, rows: series.map((s) => s.name), columns: x.map(String), values: series.map((s) => s.values) },
    });
  }
  if (e.matrix)
    charts.push({ kind: 'chart', chart: { kind: 'heatmap', title: e.label, rows: e.matrix.labels, columns: e.matrix.labels, values: e.matrix.values } });
  return charts;
}

function analysisBlocks(entries: AnalysisEntry[], options: DocumentOptions): Block[] {
  return entries.map((e, i) => {
    const blocks: Block[] = [{ kind: 'text', text: `${e.marker ? `${e.marker} ` : ''}${e.summary}` }];
    if (e.table) blocks.push({ kind: 'table', name: `analysis-${e.label}-${i}`, columns: e.table.columns, rows: e.table.rows });
    if (options.charts) blocks.push(...analysisCharts(e));
    if (e.details.length > 0) blocks.push(section(`Details (${e.details.length} lines)`, [{ kind: 'list', items: e.details }], true));
    return section(e.label, blocks);
  });
}

// ── Report kinds ─────────────────────────────────────────────────────────────

function header(options: DocumentOptions, files: Array<{ role: string; path: string; format?: string; tensors?: number }>): Block[] {
  const facts: Array<[string, Cell]> = [];
  if (options.meta?.command) facts.push(['Command', options.meta.command]);
  if (options.meta?.version) facts.push(['diffai', options.meta.version]);
  const sizes = options.meta?.sizes ?? {};
  return [
    { kind: 'facts', items: facts },
    {
      kind: 'table',
      name: 'inputs',
      columns: ['', 'path', 'format', 'bytes', 'tensors'],
      rows: files.map((f) => [f.role, f.path, f.format ?? null, sizes[f.path] ?? null, f.tensors ?? null]),
    },
  ];
}

function pairDocument(p: PairReport, options: DocumentOptions): ReportDocument {
  const blocks = [
    ...header(options, [
      { role: 'A', path: p.a.path, format: p.a.format, tensors: p.a.tensors.length },
      { role: 'B', path: p.b.path, format: p.b.format, tensors: p.b.tensors.length },
    ]),
    section(options.review ? 'Review' : 'Differences', pairBody(p, options)),
  ];
  if (p.analyses && p.analyses.length > 0) blocks.push(section('Analyses', analysisBlocks(p.analyses, options)));
  return { title: `${p.a.path} → ${p.b.path}`, blocks };
}

function sequenceDocument(s: SequenceReport, options: DocumentOptions): ReportDocument {
  const total = s.pairs.reduce((n, p) => n + p.results.length, 0);
  const blocks: Block[] = [
    ...header(
      options,
      s.models.map((m, i) => ({ role: String(i + 1), path: m.path, format: m.format, tensors: m.tensors.length })),
    ),
    {
      kind: 'table',
      name: 'pairs',
      columns: ['step', 'A', 'B', 'differences', 'scope'],
      rows: s.pairs.map((p, i) => [`${i + 1}→${i + 2}`, p.a.path, p.b.path, p.results.length, reviewPair(p).scope]),
    },
    ...s.pairs.map((p, i) => section(`${i + 1}→${i + 2}: ${p.a.path} → ${p.b.path}`, pairBody(p, options), total > COLLAPSE_AFTER)),
  ];
  if (s.analyses.length > 0) blocks.push(section('Analyses', analysisBlocks(s.analyses, options)));
  return { title: `${s.models.length} checkpoints: ${s.models[0]!.path} → ${s.models[s.models.length - 1]!.path}`, blocks };
}

function fileBody(f: FileDiff, options: DocumentOptions): Block[] {
  const view = reviewResults(f.results);
  const blocks: Block[] = [summaryFacts(f.results, view.scope)];
  blocks.push(...(options.review ? reviewBlocks(view) : resultBlocks(f.results, options)));
  return blocks;
}

function directoryDocument(d: DirectoryReport, options: DocumentOptions): ReportDocument {
  const modified = d.files.filter((f) => f.status === 'modified');
  const listed = options.review ? d.files.filter((f) => f.status !== 'identical') : d.files;
  const identical = d.files.length - d.files.filter((f) => f.status !== 'identical').length;
  const statusCounts = countBy(d.files, (f) => f.status);
  const total = modified.reduce((n, f) => n + f.results.length, 0);
  const blocks: Block[] = [
    ...header(options, [
      { role: 'A', path: d.a },
      { role: 'B', path: d.b },
    ]),
    { kind: 'facts', items: [['Files', d.files.length], ...[...statusCounts].map(([k, n]): [string, Cell] => [k, n])] },
    section('Files', [
      { kind: 'table', name: 'files', columns: ['file', 'status', 'differences'], rows: listed.map((f) => [f.file, f.status, f.results.length]) },
      ...(options.review && identical > 0 ? [{ kind: 'text', text: `${identical} identical files not shown.` } as Block] : []),
    ]),
    ...modified.map((f) => section(f.file, fileBody(f, options), total > COLLAPSE_AFTER)),
  ];
  return { title: `${d.a} → ${d.b}`, blocks };
}

function statsRow(t: TensorStats): Cell[] {
  return [t.mean, t.std, t.min, t.max, t.l2_norm, t.zero_count, t.nan_count, t.posinf_count, t.neginf_count];
}

function inspectDocument(r: InspectReport, options: DocumentOptions): ReportDocument {
  const stored = r.tensors.filter((t) => t.tied_to === undefined);
  const params = stored.filter((t) => t.role === 'parameter').reduce((n, t) => n + t.total_params, 0);
  const bytesByDtype = new Map<string, number>();
  for (const t of stored) bytesByDtype.set(t.dtype, (bytesByDtype.get(t.dtype) ?? 0) + byteLength(t.dtype, t.total_params));
  const blocks: Block[] = [
    ...header(options, [{ role: '', path: r.file, format: r.format, tensors: r.tensors.length }]),
    {
      kind: 'facts',
      items: [['Tensors', r.tensors.length], ['Parameters', params], ...[...countBy(r.tensors, (t) => t.role)].map(([k, n]): [string, Cell] => [k, n])],
    },
    section(`Tensors (${r.tensors.length})`, [
      {
        kind: 'table',
        name: 'tensors',
        columns: ['tensor', 'role', 'dtype', 'shape', 'params', 'mean', 'std', 'min', 'max', 'L2 norm', 'zeros', 'NaN', '+Inf', '−Inf', 'tied to'],
        rows: r.tensors.map((t) => [t.name, t.role, t.dtype, dims(t.shape), t.total_params, ...statsRow(t), t.tied_to ?? null]),
      },
    ]),
    section('Bytes by dtype', [
      { kind: 'table', name: 'bytes-by-dtype', columns: ['dtype', 'bytes'], rows: [...bytesByDtype] },
      ...(options.charts
        ? [
            {
              kind: 'chart',
              chart: {
                kind: 'bars',
                title: 'Bytes by dtype',
                labels: [...bytesByDtype.keys()],
                series: [{ name: 'bytes', values: [...bytesByDtype.values()] }],
              },
            } as Block,
          ]
        : []),
    ]),
  ];
  const meta = Object.entries(r.metadata);
  if (meta.length > 0)
    blocks.push(
      section(`Metadata (${meta.length})`, [{ kind: 'table', name: 'metadata', columns: ['key', 'value'], rows: meta.map(([k, v]) => [k, leafText(v)]) }]),
    );
  if (r.warnings.length > 0) blocks.push(section('Warnings', [{ kind: 'list', items: r.warnings }]));
  return { title: r.file, blocks };
}

export function buildDocument(report: Report, options: DocumentOptions = {}): ReportDocument {
  switch (report.kind) {
    case 'pair':
      return pairDocument(report, options);
    case 'sequence':
      return sequenceDocument(report, options);
    case 'directory':
      return directoryDocument(report, options);
    case 'inspect':
      return inspectDocument(report, options);
  }
}
