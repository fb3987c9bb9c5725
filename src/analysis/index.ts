/** Library entry of the analyses: `analyzeFiles(paths, ['quantization', …], options)`. */
import type { LibraryOptions } from '../library.js';
import { checkAnalysisNames, checkOptions, checkPaths } from '../arguments.js';
import { ANALYSIS_NAMES, type AnalysisName } from './registry.js';
import { collectAndAnalyze, runAnalyses } from './run.js';
import type { AnalysisEntry, PairData } from './types.js';

export interface AnalysisReport {
  /** The diff of each consecutive pair of files. */
  pairs: PairData[];
  analyses: AnalysisEntry[];
}

export async function analyzeFiles(paths: string[], analyses: AnalysisName[], options?: LibraryOptions): Promise<AnalysisReport> {
  checkPaths('analyzeFiles', paths, 2);
  const names = checkAnalysisNames('analyzeFiles', analyses, ANALYSIS_NAMES) as AnalysisName[];
  const { collected, analyses: entries } = await collectAndAnalyze(paths, names, checkOptions('analyzeFiles', options));
  return { pairs: collected.pairs, analyses: entries };
}

export type { AnalysisEntry, AnalysisName };
export { collectAndAnalyze, runAnalyses };
export type { AnalysisPlugin, AnalysisSeries, AnalysisTable, AnalysisView, PairAnalysis, SequenceAnalysis, PassName } from './types.js';
export { ANALYSES, ANALYSIS_NAMES } from './registry.js';
export { ANOMALY_THRESHOLDS } from './anomalies.js';
export { PRECISION_LOSS } from './quantization.js';
export { CONVERGENCE_STATUS, STEP_RATIO, checkpointPositions, trendOf } from './convergence.js';
export { ANOMALY_KINDS } from './anomalies.js';
export { megabytes, notApplicable, summaryFields, summaryLine, type SummaryValue } from './summary.js';
export { LOSS_KEYS, LOSS_TOLERANCE } from './learning-progress.js';
