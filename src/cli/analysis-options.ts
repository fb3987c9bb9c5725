/**
 * The analyses the diff command's arguments ask for (options.ts lists one option per
 * registered analysis, docs/analyses.md), their options, `--fail-on`, and the extra
 * positional files of multi-checkpoint runs (`diffai A B C …`).
 */
import { ANALYSES, ANALYSIS_NAMES, ANALYSIS_OPTIONS, type AnalysisName, type AnalysisRegistration } from '../analysis/registry.js';
import type { DiffOptions } from '../diff/differ.js';
import { DiffaiError } from '../errors.js';
import { FAIL_ON } from './options.js';

/** The parsed command line: analysis flags and options under their camelCase names (see src/analysis/registry.ts). */
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

const REGISTRATIONS: Record<AnalysisName, AnalysisRegistration> = ANALYSES;

/**
 * The analyses whose gate applies: those named by `--fail-on` (repeated or comma-separated:
 * `--fail-on anomalies,deployment`) and the shown ones whose gate is implied
 * (`--regression-test`). An unknown value is a usage error (exit 2).
 */
export function gatedAnalyses(args: AnalysisArgs): Set<AnalysisName> {
  const values = (args.failOn ?? []).flatMap((v) => String(v).split(',')).map((v) => v.trim());
  const bad = values.find((v) => !FAIL_ON.includes(v));
  if (bad !== undefined) throw new DiffaiError(undefined, `--fail-on: unknown value ${JSON.stringify(bad)} (expected: ${FAIL_ON.join(', ')})`);
  const shown = selectedAnalyses(args);
  return new Set(ANALYSIS_NAMES.filter((n) => values.includes(REGISTRATIONS[n].gate ?? '') || (REGISTRATIONS[n].impliesGate === true && shown.has(n))));
}

/** True when the arguments need this path (an analysis, --fail-on, or a third file). */
export function wantsAnalysis(args: AnalysisArgs): boolean {
  return selectedAnalyses(args).size > 0 || gatedAnalyses(args).size > 0 || (args.more?.length ?? 0) > 0;
}

/**
 * The analyses' options (`--rtol`, `--clusters`, `--rank-k`, `--input-shape` …) as library
 * options, parsed and checked as their registrations declare (src/analysis/options.ts); a bad
 * value is a usage error (exit 2).
 */
export function analysisOptions(
  args: AnalysisArgs,
): Pick<DiffOptions, 'tolerance' | 'degradation' | 'numHeads' | 'numKvHeads' | 'clustering' | 'rankK' | 'inference'> {
  const out: Record<string, unknown> = {};
  for (const o of ANALYSIS_OPTIONS) {
    const raw = args[camel(o.flag)];
    if (raw === undefined) continue;
    const value = o.parse(String(raw));
    const [key, inner] = o.target;
    if (inner === undefined) out[key] = value;
    else out[key] = { ...(out[key] as object | undefined), [inner]: value };
  }
  return out;
}
