/** Library entry of the analyses: `analyzeFiles(paths, ['quantization', …], options)`. */
import type { LibraryOptions } from '../library.js';
import { collect } from './collect.js';
import { loadAnalyses, neededPasses, type AnalysisName, type LoadedAnalysis } from './registry.js';
import type { AnalysisEntry, Collected, PairData } from './types.js';

export interface AnalysisReport {
  /** The diff of each consecutive pair of files. */
  pairs: PairData[];
  analyses: AnalysisEntry[];
}

/** Every loaded analysis, in registry order: a pairwise one once per consecutive pair, a sequence one once. */
export function runAnalyses(c: Collected, loaded: LoadedAnalysis[]): AnalysisEntry[] {
  const out: AnalysisEntry[] = [];
  for (const { name, plugin } of loaded) {
    const { key, label } = plugin;
    if (plugin.scope === 'pair') for (const p of c.pairs) out.push({ name, key, label, ...plugin.analyze(c, p) });
    else out.push({ name, key, label, ...plugin.analyze(c) });
  }
  return out;
}

/** Diffs each consecutive pair of files and runs the named analyses on what was read. */
export async function collectAndAnalyze(paths: string[], analyses: Iterable<AnalysisName>, options: LibraryOptions = {}): Promise<{ collected: Collected; analyses: AnalysisEntry[] }> {
  const loaded = await loadAnalyses(analyses);
  const collected = await collect(paths, { ...options, needs: neededPasses(loaded) });
  return { collected, analyses: runAnalyses(collected, loaded) };
}

export async function analyzeFiles(paths: string[], analyses: AnalysisName[], options: LibraryOptions = {}): Promise<AnalysisReport> {
  if (paths.length < 2) throw new Error('analyzeFiles: give at least two files');
  const { collected, analyses: entries } = await collectAndAnalyze(paths, analyses, options);
  return { pairs: collected.pairs, analyses: entries };
}

export type { AnalysisEntry, AnalysisName };
export type { AnalysisPlugin, AnalysisSeries, AnalysisTable, AnalysisView, PairAnalysis, SequenceAnalysis, PassName } from './types.js';
export { ANALYSES, ANALYSIS_NAMES } from './registry.js';
export { ANOMALY_THRESHOLDS } from './anomalies.js';
export { PRECISION_LOSS } from './quantization.js';
export { STEP_RATIO, trendOf } from './convergence.js';
