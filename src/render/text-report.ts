/** The text renderer: the original's diff lines, directory listings, sequences, analyses and inspections (or the review view). */
import type { DiffResult } from '../diff/types.js';
import { reviewPair, reviewResults } from '../report/review.js';
import type { DirectoryReport, PairReport, Report } from '../report/types.js';
import type { PairStream } from '../diff/types.js';
import { fmt } from '../analysis/helpers.js';
import type { ValueHistogram } from '../analysis/types.js';
import { renderAnalysesText, sparkline } from './analysis-text.js';
import { PLAIN, type Palette } from './color.js';
import { inspectTextChunks } from './inspect.js';
import { renderReviewText } from './review-text.js';
import type { Renderer, RenderOptions } from './types.js';
import { renderEscapedText, renderResultLine, renderText, termSafeResult } from './text.js';
import { termSafe, termSafeDeep, utf8TermSafe } from '../terminal.js';
import { tensorTable } from '../formats/table.js';
import type { ModelDescription } from '../formats/types.js';

function directoryText(report: DirectoryReport, palette: Palette, body: (results: DiffResult[]) => string): string {
  const lines: string[] = [];
  for (const f of report.files) {
    if (f.status === 'only_in_a') lines.push(palette.removed(`Only in ${report.a}: ${f.file}`));
    else if (f.status === 'only_in_b') lines.push(palette.added(`Only in ${report.b}: ${f.file}`));
    else if (f.status === 'modified') lines.push(`--- ${f.file}`, body(f.results).trimEnd());
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : renderText([]);
}

/** Value histograms as sparklines of A and B over the same bins. */
function histogramsText(histograms: ValueHistogram[]): string {
  if (histograms.length === 0) return '';
  const width = Math.min(40, Math.max(...histograms.map((h) => h.name.length)));
  const lines = ['value histograms of the most changed tensors (A, B; same bins and scale):'];
  for (const h of histograms) {
    const range: [number, number] = [0, Math.max(...h.a, ...h.b)];
    lines.push(
      `  ${h.name.padEnd(width)} A |${sparkline(h.a, range, true)}| [${fmt(h.lo)}, ${fmt(h.hi)}]`,
      `  ${''.padEnd(width)} B |${sparkline(h.b, range, true)}|`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A model description with control characters escaped; the same object when nothing needs
 * escaping, checked name by name without walking (or building) a descriptor per tensor.
 */
function termSafeModel(m: ModelDescription): ModelDescription {
  const clean = termSafe(m.path) === m.path && tensorNamesTermSafe(m) && termSafeDeep(m.leaves) === m.leaves && termSafeDeep(m.warnings) === m.warnings;
  return clean ? m : termSafeDeep(m);
}

/** True when no tensor name of `m` needs escaping (a table's name bytes checked in one pass, no strings made). */
function tensorNamesTermSafe(m: ModelDescription): boolean {
  const table = tensorTable(m);
  if (table) return utf8TermSafe(table.names.utf8());
  return m.tensors.every((t) => termSafe(t.name) === t.name);
}

/** The report with every string from a file escaped (names, paths, values). */
function termSafeReport(report: Report): Report {
  const pair = (p: PairReport): PairReport => {
    const { a, b, ...rest } = p;
    return { ...termSafeDeep(rest), a: termSafeModel(a), b: termSafeModel(b) };
  };
  switch (report.kind) {
    case 'pair':
      return pair(report);
    case 'sequence': {
      const { models, pairs, ...rest } = report;
      return { ...termSafeDeep(rest), models: models.map(termSafeModel), pairs: pairs.map(pair) };
    }
    default:
      return termSafeDeep(report);
  }
}

export function renderReportText(raw: Report, options: RenderOptions = {}): string {
  // Names, paths and values come from files: shown with control characters escaped (an
  // inspection row by row, as it is printed).
  const report = raw.kind === 'inspect' ? raw : termSafeReport(raw);
  const palette = options.palette ?? PLAIN;
  const text = { stats: options.stats, palette };
  // termSafeReport has escaped the results already: rendered without a second walk.
  const pair = (p: PairReport) =>
    (options.review ? renderReviewText(reviewPair(p), palette) : renderEscapedText(p.results, text)) +
    (options.charts ? histogramsText(p.histograms ?? []) : '');
  const analyses = { summaryOnly: options.review, charts: options.charts };
  switch (report.kind) {
    case 'pair':
      return pair(report) + renderAnalysesText(report.analyses ?? [], analyses);
    case 'sequence':
      return [...report.pairs.map((p) => `--- ${p.a.path} -> ${p.b.path}\n${pair(p)}`), renderAnalysesText(report.analyses, analyses)].join('');
    case 'directory':
      return directoryText(report, palette, (results) =>
        options.review ? renderReviewText(reviewResults(results), palette) : renderEscapedText(results, text),
      );
    case 'inspect':
      return [...inspectTextChunks(report, palette)].join('');
  }
}

/**
 * renderReportText in pieces for a pair's differences (the long part of a many-tensor
 * diff): its lines one by one; other reports and the review view are one piece.
 */
function* pairTextChunks(raw: PairReport, options: RenderOptions): Generator<string> {
  const report = termSafeReport(raw) as PairReport;
  const text = { stats: options.stats, palette: options.palette ?? PLAIN };
  // The lines renderText joins, one at a time (termSafeReport has escaped them already).
  for (const r of report.results) yield `${renderResultLine(r, text)}\n`;
  if (options.charts) yield histogramsText(report.histograms ?? []);
  yield renderAnalysesText(report.analyses ?? [], { summaryOnly: options.review, charts: options.charts });
}

/** A streamed pair's lines (as pairTextChunks prints them), a window at a time; "No differences found." when none came. */
async function* pairStreamChunks(stream: PairStream, options: RenderOptions): AsyncGenerator<string> {
  const text = { stats: options.stats, palette: options.palette ?? PLAIN };
  let any = false;
  for await (const window of stream.windows) {
    if (window.length === 0) continue;
    any = true;
    let lines = '';
    for (const r of window) lines += `${renderResultLine(termSafeResult(r), text)}\n`;
    yield lines;
  }
  if (!any) yield renderText([]);
}

const text: Renderer = {
  render: renderReportText,
  // An inspection streams (escaped row by row); a pair's differences line by line; other reports are one string.
  chunks: (report, options) =>
    report.kind === 'inspect'
      ? inspectTextChunks(report, options.palette ?? PLAIN)
      : report.kind === 'pair' && !options.review && report.results.length > 0
        ? pairTextChunks(report, options)
        : undefined,
  // The review view groups and orders all results, and charts need histograms: both need the whole report.
  pairChunks: (stream, options) => (options.review || options.charts ? undefined : pairStreamChunks(stream, options)),
};
export default text;
