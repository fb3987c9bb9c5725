/** The text renderer: the original's diff lines, directory listings, sequences, analyses and inspections. */
import type { DirectoryReport, Report } from '../report/types.js';
import { renderAnalysesText } from './analysis-text.js';
import { PLAIN, type Palette } from './color.js';
import { renderInspectText } from './inspect.js';
import type { Renderer, RenderOptions } from './types.js';
import { renderText } from './text.js';
import { termSafeDeep } from '../terminal.js';

function directoryText(report: DirectoryReport, palette: Palette, stats: boolean | undefined): string {
  const lines: string[] = [];
  for (const f of report.files) {
    if (f.status === 'only_in_a') lines.push(palette.removed(`Only in ${report.a}: ${f.file}`));
    else if (f.status === 'only_in_b') lines.push(palette.added(`Only in ${report.b}: ${f.file}`));
    else if (f.status === 'modified') lines.push(`--- ${f.file}`, renderText(f.results, { stats, palette }).trimEnd());
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : renderText([]);
}

export function renderReportText(raw: Report, options: RenderOptions = {}): string {
  // Names, paths and values come from files: shown with control characters escaped.
  const report = termSafeDeep(raw);
  const palette = options.palette ?? PLAIN;
  const text = { stats: options.stats, palette };
  switch (report.kind) {
    case 'pair':
      return renderText(report.results, text) + renderAnalysesText(report.analyses ?? []);
    case 'sequence':
      return [...report.pairs.map((p) => `--- ${p.a.path} -> ${p.b.path}\n${renderText(p.results, text)}`), renderAnalysesText(report.analyses)].join('');
    case 'directory':
      return directoryText(report, palette, options.stats);
    case 'inspect':
      return renderInspectText(report, palette);
  }
}

const text: Renderer = { render: renderReportText };
export default text;
