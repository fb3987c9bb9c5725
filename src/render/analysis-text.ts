/**
 * Text and contract (JSON/YAML) forms of the analyses: a summary line `label: …`, then
 * detail lines indented by two spaces; in JSON/YAML one-key objects `{"Key": {...}}`.
 */
import type { AnalysisEntry } from '../analysis/analyses.js';

export function renderAnalysesText(entries: AnalysisEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.label}: ${e.summary}`);
    for (const d of e.details) lines.push(`  ${d}`);
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

export function analysesContract(entries: AnalysisEntry[]): Array<Record<string, unknown>> {
  return entries.map((e) => ({ [e.key]: e.data }));
}
