/**
 * The analyses the diff command's arguments ask for (options.ts lists one option per
 * registered analysis, docs/analyses.md), `--fail-on`, and the extra positional files of
 * multi-checkpoint runs (`diffai A B C …`).
 */
import { ANALYSES, ANALYSIS_NAMES, type AnalysisName } from '../analysis/registry.js';
import { DiffaiError } from '../errors.js';
import { FAIL_ON } from './options.js';

export interface AnalysisArgs {
  more?: string[];
  failOn?: string[];
  [flag: string]: unknown;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The analyses the arguments ask for to be shown. */
export function selectedAnalyses(args: AnalysisArgs): Set<AnalysisName> {
  return new Set(ANALYSIS_NAMES.filter((name) => args[camel(ANALYSES[name].flag)] === true));
}

/** True for `--fail-on anomalies`; any other value is a usage error (exit 2). */
export function failOnAnomalies(args: AnalysisArgs): boolean {
  const values = (args.failOn ?? []).map(String);
  const bad = values.find((v) => !FAIL_ON.includes(v));
  if (bad !== undefined) throw new DiffaiError(undefined, `--fail-on: unknown value ${JSON.stringify(bad)} (expected: ${FAIL_ON.join(', ')})`);
  return values.includes('anomalies');
}

/** True when the arguments need this path (an analysis, --fail-on, or a third file). */
export function wantsAnalysis(args: AnalysisArgs): boolean {
  return selectedAnalyses(args).size > 0 || failOnAnomalies(args) || (args.more?.length ?? 0) > 0;
}
