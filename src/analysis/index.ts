/** Library entry of the analyses: `analyzeFiles(paths, ['quantization', …], options)`. */
import type { LibraryOptions } from '../library.js';
import { runAnalyses, type AnalysisEntry } from './analyses.js';
import { collect, type AnalysisName, type PairData } from './collect.js';

export interface AnalysisReport {
  /** The diff of each consecutive pair of files. */
  pairs: PairData[];
  analyses: AnalysisEntry[];
}

export async function analyzeFiles(paths: string[], analyses: AnalysisName[], options: LibraryOptions = {}): Promise<AnalysisReport> {
  if (paths.length < 2) throw new Error('analyzeFiles: give at least two files');
  const wanted = new Set(analyses);
  const collected = await collect(paths, { ...options, analyses: wanted });
  return { pairs: collected.pairs, analyses: runAnalyses(collected, wanted) };
}

export type { AnalysisEntry, AnalysisName };
export { ANOMALY_THRESHOLDS, PRECISION_LOSS, STEP_RATIO, trendOf } from './analyses.js';
