/** The text renderer: the original's diff lines, directory listings, sequences, analyses and inspections (or the review view). */
import type { DiffResult } from '../diff/types.js';
import { reviewPair, reviewResults } from '../report/review.js';
import type { DirectoryReport, PairReport, Report } from '../report/types.js';
import { renderAnalysesText } from './analysis-text.js';
import { PLAIN, type Palette } from './color.js';
import { renderInspectText } from './inspect.js';
import { renderReviewText } from './review-text.js';
import type { Renderer, RenderOptions } from './types.js';
import { renderText } from './text.js';

function directoryText(report: DirectoryReport, palette: Palette, body: (results: DiffResult[]) => string): string {
  const lines: string[] = [];
  for (const f of report.files) {
    if (f.status === 'only_in_a') lines.push(palette.removed(`Only in ${report.a}: ${f.file}`));
    else if (f.status === 'only_in_b') lines.push(palette.added(`Only in ${report.b}: ${f.file}`));
    else if (f.status === 'modified') lines.push(`--- ${f.file}`, body(f.results).trimEnd());
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : renderText([]);
}

export function renderReportText(report: Report, options: RenderOptions = {}): string {
  const palette = options.palette ?? PLAIN;
  const text = { stats: options.stats, palette };
  const pair = (p: PairReport) => (options.review ? renderReviewText(reviewPair(p), palette) : renderText(p.results, text));
  const analyses = { summaryOnly: options.review, charts: options.charts };
  switch (report.kind) {
    case 'pair':
      return pair(report) + renderAnalysesText(report.analyses ?? [], analyses);
    case 'sequence':
      return [...report.pairs.map((p) => `--- ${p.a.path} -> ${p.b.path}\n${pair(p)}`), renderAnalysesText(report.analyses, analyses)].join('');
    case 'directory':
      return directoryText(report, palette, (results) => (options.review ? renderReviewText(reviewResults(results), palette) : renderText(results, text)));
    case 'inspect':
      return renderInspectText(report, palette);
  }
}

const text: Renderer = { render: renderReportText };
export default text;
