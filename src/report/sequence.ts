/**
 * Diffs a run of model files pair by pair and runs the named analyses on what was read:
 * two files give a `pair` report with `analyses`, three or more a `sequence` report.
 */
import { collectAndAnalyze } from '../analysis/run.js';
import { ANALYSIS_NAMES, type AnalysisName } from '../analysis/registry.js';
import { checkAnalysisNames, checkOptions, checkPaths } from '../arguments.js';
import { DiffaiError } from '../errors.js';
import { isModelDirectory, type LibraryOptions } from '../library.js';
import type { AnalyzedReport, PairReport } from './types.js';

export interface SequenceOptions {
  /** Value histograms of the most changed tensors of each pair (report charts), from the engine's histogram op. */
  histograms?: boolean;
}

export async function diffSequence(
  paths: string[],
  analyses: Iterable<AnalysisName>,
  options?: LibraryOptions,
  extras: SequenceOptions = {},
): Promise<AnalyzedReport> {
  checkPaths('diffSequence', paths, 2);
  analyses = checkAnalysisNames('diffSequence', analyses, ANALYSIS_NAMES) as AnalysisName[];
  options = checkOptions('diffSequence', options);
  for (const p of paths) if (isModelDirectory(p)) throw new DiffaiError(p, 'analyses and multi-checkpoint runs need model files, not directories');
  const { collected, analyses: entries } = await collectAndAnalyze(paths, analyses, options, extras.histograms ? ['histograms'] : []);
  const histograms = collected.passes.histograms;
  const pairs: PairReport[] = collected.pairs.map((p) => {
    const values = histograms?.get(`${p.ia},${p.ib}`);
    return { kind: 'pair', a: p.a, b: p.b, results: p.results, ...(values ? { histograms: values } : {}) };
  });
  if (pairs.length === 1) return { ...pairs[0]!, analyses: entries };
  return { kind: 'sequence', models: collected.models, pairs, analyses: entries };
}
