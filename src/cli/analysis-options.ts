/**
 * The analysis options of the diff command (docs/analyses.md), one per registered analysis,
 * and the extra positional files of multi-checkpoint runs (`diffai A B C …`).
 */
import type { Argv } from 'yargs';
import { ANALYSES, ANALYSIS_NAMES, type AnalysisName, type AnalysisRegistration } from '../analysis/registry.js';
import type { DiffOptions } from '../diff/differ.js';
import { DiffaiError } from '../errors.js';

export interface AnalysisArgs {
  more?: string[];
  failOn?: string[];
  rtol?: number;
  atol?: number;
  minSqnr?: number;
  minCosine?: number;
  [flag: string]: unknown;
}

/** Adds the analysis options to the diff command's builder. */
export function addAnalysisOptions<T>(y: Argv<T>): Argv<T> {
  let out = y as Argv<unknown>;
  for (const name of ANALYSIS_NAMES) out = out.option(ANALYSES[name].flag, { type: 'boolean', default: false, describe: ANALYSES[name].describe });
  out = out.option('fail-on', {
    type: 'string',
    array: true,
    describe: `CI gates, a list (${FAIL_ON.join(',')}): exit 1 when the analysis fails (run even when not shown)`,
  });
  out = out.option('rtol', { type: 'number', describe: '--regression-test: relative tolerance (default: per dtype, as torch.testing.assert_close)' });
  out = out.option('min-sqnr', {
    type: 'number',
    describe: '--alert-on-degradation: alert when the SQNR (dB) of a model against the previous one is below this',
  });
  out = out.option('min-cosine', { type: 'number', describe: '--alert-on-degradation: alert when the cosine similarity to the previous model is below this' });
  out = out.option('atol', { type: 'number', describe: '--regression-test: absolute tolerance (default: per dtype, as torch.testing.assert_close)' });
  return out as Argv<T>;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The analyses the arguments ask for to be shown. */
export function selectedAnalyses(args: AnalysisArgs): Set<AnalysisName> {
  return new Set(ANALYSIS_NAMES.filter((name) => args[camel(ANALYSES[name].flag)] === true));
}

const REGISTRATIONS: Record<AnalysisName, AnalysisRegistration> = ANALYSES;

/** The `--fail-on` values: the gates the analyses declare in the registry. */
export const FAIL_ON = ANALYSIS_NAMES.flatMap((n) => REGISTRATIONS[n].gate ?? []);

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

/** `--rtol`/`--atol` and `--min-sqnr`/`--min-cosine` as library options (tolerances non-negative, bounds finite; exit 2 otherwise). */
export function thresholdOptions(args: AnalysisArgs): Pick<DiffOptions, 'tolerance' | 'degradation'> {
  const degradation: NonNullable<DiffOptions['degradation']> = {};
  for (const [key, flag, field] of [
    ['minSqnr', 'min-sqnr', 'minSqnrDb'],
    ['minCosine', 'min-cosine', 'minCosine'],
  ] as const) {
    const v = args[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DiffaiError(undefined, `--${flag} must be a number, got ${String(v)}`);
    degradation[field] = v;
  }
  return { ...toleranceOption(args), ...(Object.keys(degradation).length > 0 ? { degradation } : {}) };
}

function toleranceOption(args: AnalysisArgs): { tolerance?: { rtol?: number; atol?: number } } {
  const tolerance: { rtol?: number; atol?: number } = {};
  for (const key of ['rtol', 'atol'] as const) {
    const v = args[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DiffaiError(undefined, `--${key} must be a non-negative number, got ${String(v)}`);
    tolerance[key] = v;
  }
  return Object.keys(tolerance).length > 0 ? { tolerance } : {};
}
