/** Text form of the analyses: a summary line `[marker ]label: …`, then detail lines indented by two spaces. */
import { summaryLine } from '../analysis/summary.js';
import type { AnalysisEntry } from '../analysis/types.js';

export function renderAnalysesText(entries: AnalysisEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(summaryLine(e));
    for (const d of e.details) lines.push(`  ${d}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
