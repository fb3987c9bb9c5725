/** Text form of the analyses: a summary line `[marker ]label: …`, then detail lines indented by two spaces. */
import { summaryLine } from '../analysis/summary.js';
import type { AnalysisEntry, AnalysisSeries } from '../analysis/types.js';

export interface AnalysesTextOptions {
  /** Summary lines only (the review view). */
  summaryOnly?: boolean;
  /** A sparkline per series under the summary. */
  charts?: boolean;
}

const TICKS = '▁▂▃▄▅▆▇█';

/**
 * One character per value, scaled between the series' smallest and largest finite value, or
 * over `range` ('·' where a value is missing; with `blankZero`, a space for 0, as for empty bins).
 */
export function sparkline(values: Array<number | null>, range?: [number, number], blankZero = false): string {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const [lo, hi] = range ?? [Math.min(...finite), Math.max(...finite)];
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return '·';
      if (blankZero && v === 0) return ' ';
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      return TICKS[Math.min(TICKS.length - 1, Math.floor(t * TICKS.length))];
    })
    .join('');
}

function seriesLines(series: AnalysisSeries[]): string[] {
  const width = Math.min(40, Math.max(...series.map((s) => s.name.length)));
  return series.map((s) => `  ${s.name.padEnd(width)} ${sparkline(s.values)}`);
}

export function renderAnalysesText(entries: AnalysisEntry[], options: AnalysesTextOptions = {}): string {
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(summaryLine(e));
    if (options.charts && e.series && e.series.length > 0) lines.push(...seriesLines(e.series));
    if (!options.summaryOnly) for (const d of e.details) lines.push(`  ${d}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
