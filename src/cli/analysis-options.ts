/**
 * The analysis options of the diff command (docs/analyses.md), one per registered analysis,
 * and the extra positional files of multi-checkpoint runs (`diffai A B C …`).
 */
import type { Argv } from 'yargs';
import { ANALYSES, ANALYSIS_NAMES, type AnalysisName } from '../analysis/registry.js';
import { DiffaiError } from '../errors.js';

export interface AnalysisArgs {
  more?: string[];
  failOn?: string[];
  [flag: string]: unknown;
}

/** Adds the analysis options to the diff command's builder. */
export function addAnalysisOptions<T>(y: Argv<T>): Argv<T> {
  let out = y as Argv<unknown>;
  for (const name of ANALYSIS_NAMES) out = out.option(ANALYSES[name].flag, { type: 'boolean', default: false, describe: ANALYSES[name].describe });
  out = out.option('fail-on', { type: 'string', array: true, describe: 'anomalies: exit 1 when anomaly detection finds anything (for CI gates)' });
  return out as Argv<T>;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The analyses the arguments ask for to be shown. */
export function selectedAnalyses(args: AnalysisArgs): Set<AnalysisName> {
  return new Set(ANALYSIS_NAMES.filter((name) => args[camel(ANALYSES[name].flag)] === true));
}

export const FAIL_ON = ['anomalies'];

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
