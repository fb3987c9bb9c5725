/**
 * The analyses the diff command's arguments ask for (options.ts lists one option per
 * registered analysis, docs/analyses.md), `--fail-on`, and the extra positional files of
 * multi-checkpoint runs (`diffai A B C …`).
 */
import { ANALYSES, ANALYSIS_NAMES, type AnalysisName, type AnalysisRegistration } from '../analysis/registry.js';
import type { DiffOptions } from '../diff/differ.js';
import { DiffaiError } from '../errors.js';
import { FAIL_ON } from './options.js';
import { MAX_CLUSTERS, checkClusteringOptions } from '../analysis/clusters.js';
import { LOW_RANK_MAX_K } from '../arguments.js';

export interface AnalysisArgs {
  more?: string[];
  failOn?: string[];
  rtol?: number;
  atol?: number;
  minSqnr?: number;
  minCosine?: number;
  numHeads?: number;
  numKvHeads?: number;
  clusters?: string;
  clusterLayer?: string;
  rankK?: number;
  contextLength?: string;
  inputShape?: string;
  deviceProfile?: string;
  peakTflops?: string;
  bandwidthGbs?: string;
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
 * `--rtol`/`--atol`, `--min-sqnr`/`--min-cosine`, `--num-heads`/`--num-kv-heads` and
 * `--clusters`/`--cluster-layer` as library options (tolerances non-negative, bounds finite,
 * head counts positive integers, k an integer; exit 2 otherwise), `--rank-k` and the --inference-speed-estimate inputs.
 */
export function thresholdOptions(
  args: AnalysisArgs,
): Pick<DiffOptions, 'tolerance' | 'degradation' | 'numHeads' | 'numKvHeads' | 'clustering' | 'rankK' | 'inference'> {
  const degradation: NonNullable<DiffOptions['degradation']> = {};
  for (const [key, flag, field] of [
    ['minSqnr', 'min-sqnr', 'minSqnrDb'],
    ['minCosine', 'min-cosine', 'minCosine'],
  ] as const) {
    const v = numberArg(args[key]);
    if (v === undefined) continue;
    if (!Number.isFinite(v)) throw new DiffaiError(undefined, `--${flag} must be a number, got ${String(args[key])}`);
    degradation[field] = v;
  }
  return {
    ...toleranceOption(args),
    ...(Object.keys(degradation).length > 0 ? { degradation } : {}),
    ...headOptions(args),
    ...clusteringOption(args),
    ...rankOption(args),
    ...inferenceOptions(args),
  };
}

function headOptions(args: AnalysisArgs): Pick<DiffOptions, 'numHeads' | 'numKvHeads'> {
  const out: Pick<DiffOptions, 'numHeads' | 'numKvHeads'> = {};
  for (const [key, flag] of [
    ['numHeads', 'num-heads'],
    ['numKvHeads', 'num-kv-heads'],
  ] as const) {
    const v = numberArg(args[key]);
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new DiffaiError(undefined, `--${flag} must be a positive integer, got ${String(args[key])}`);
    out[key] = v;
  }
  return out;
}

function clusteringOption(args: AnalysisArgs): Pick<DiffOptions, 'clustering'> {
  const clustering: NonNullable<DiffOptions['clustering']> = {};
  const k = numberArg(args.clusters);
  if (k !== undefined) {
    if (Number.isNaN(k)) throw new DiffaiError(undefined, `--clusters must be an integer from 2 to ${MAX_CLUSTERS}, got ${String(args.clusters)}`);
    clustering.clusters = k;
  }
  if (args.clusterLayer !== undefined) clustering.layer = String(args.clusterLayer);
  checkClusteringOptions(clustering);
  return Object.keys(clustering).length > 0 ? { clustering } : {};
}

/** `--rank-k`: a whole number of singular values in 1..LOW_RANK_MAX_K (exit 2 otherwise). */
function rankOption(args: AnalysisArgs): { rankK?: number } {
  const v = numberArg(args.rankK);
  if (v === undefined) return {};
  if (!Number.isInteger(v) || v < 1 || v > LOW_RANK_MAX_K)
    throw new DiffaiError(undefined, `--rank-k must be a whole number from 1 to ${LOW_RANK_MAX_K}, got ${String(args.rankK)}`);
  return { rankK: v };
}

function inferenceOptions(args: AnalysisArgs): Pick<DiffOptions, 'inference'> {
  const out: NonNullable<DiffOptions['inference']> = {};
  const positiveInteger = (flag: string, v: string) => {
    const n = numberArg(v);
    if (n === undefined || !Number.isSafeInteger(n) || n < 1)
      throw new DiffaiError(undefined, `--${flag} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  if (args.contextLength !== undefined) out.contextLength = positiveInteger('context-length', String(args.contextLength));
  if (args.inputShape !== undefined) {
    const text = String(args.inputShape);
    const parts = text.split(/[,x\u00d7]/).map((s) => s.trim()); // × escaped: the bundle stays ASCII
    if (parts.length > 8) throw new DiffaiError(undefined, `--input-shape has ${parts.length} dimensions; at most 8`);
    out.inputShape = parts.map((s) => positiveInteger('input-shape', s));
  }
  if (args.deviceProfile !== undefined) out.deviceProfile = String(args.deviceProfile);
  for (const [key, flag] of [
    ['peakTflops', 'peak-tflops'],
    ['bandwidthGbs', 'bandwidth-gbs'],
  ] as const) {
    if (args[key] === undefined) continue;
    const v = numberArg(args[key]);
    if (v === undefined || !Number.isFinite(v) || v <= 0) throw new DiffaiError(undefined, `--${flag} must be a positive number, got ${String(args[key])}`);
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? { inference: out } : {};
}

function toleranceOption(args: AnalysisArgs): { tolerance?: { rtol?: number; atol?: number } } {
  const tolerance: { rtol?: number; atol?: number } = {};
  for (const key of ['rtol', 'atol'] as const) {
    const v = numberArg(args[key]);
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v < 0) throw new DiffaiError(undefined, `--${key} must be a non-negative number, got ${String(args[key])}`);
    tolerance[key] = v;
  }
  return Object.keys(tolerance).length > 0 ? { tolerance } : {};
}

/** A numeric option as typed (the option table passes values as strings): NaN when it is not a number. */
function numberArg(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const text = String(v).trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
}
