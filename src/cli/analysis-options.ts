/**
 * The analysis options of the diff command (docs/analyses.md) and the extra positional
 * files of multi-checkpoint runs (`diffai A B C …`).
 */
import type { Argv } from 'yargs';
import type { AnalysisName } from '../analysis/collect.js';
import { DiffaiError } from '../errors.js';

export const ANALYSIS_FLAGS: Array<[flag: string, name: AnalysisName, describe: string]> = [
  ['quantization-analysis', 'quantization', 'Tensors whose dtype or quantization changed: bytes, compression, error (max abs, RMSE, SQNR, cosine)'],
  ['show-layer-impact', 'layerImpact', 'Per layer: relative L2 change and share of the total change, ranked'],
  ['architecture-comparison', 'architecture', 'Parameter counts, layers, depth, family inferred from names, layers added/removed/reshaped'],
  ['memory-analysis', 'memory', 'Bytes by dtype, delta, inference weight memory, largest tensors'],
  ['anomaly-detection', 'anomalies', 'NaN/Inf, all-zero tensors and rows, exploding/vanishing tensors, sudden changes'],
  ['change-summary', 'changeSummary', 'Counts by kind, elements changed, top tensors by relative change'],
  ['convergence-analysis', 'convergence', 'Per layer update size ||dW||/||W|| along the checkpoints, and its trend'],
  ['gradient-analysis', 'gradients', 'Per layer norms of optimizer state (exp_avg, exp_avg_sq, momentum); else the update dW'],
  ['similarity-matrix', 'similarity', 'Cosine similarity of parameters (overall and per layer) between every pair of models'],
];

export interface AnalysisArgs {
  more?: string[];
  failOn?: string[];
  [flag: string]: unknown;
}

/** Adds the analysis options to the diff command's builder. */
export function addAnalysisOptions<T>(y: Argv<T>): Argv<T> {
  let out = y as Argv<unknown>;
  for (const [flag, , describe] of ANALYSIS_FLAGS) out = out.option(flag, { type: 'boolean', default: false, describe });
  out = out.option('fail-on', { type: 'string', array: true, describe: 'anomalies: exit 1 when anomaly detection finds anything (for CI gates)' });
  return out as Argv<T>;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The analyses the arguments ask for (`--fail-on anomalies` runs anomaly detection). */
export function selectedAnalyses(args: AnalysisArgs): Set<AnalysisName> {
  const out = new Set<AnalysisName>();
  for (const [flag, name] of ANALYSIS_FLAGS) if (args[camel(flag)] === true) out.add(name);
  return out;
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
