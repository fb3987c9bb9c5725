/**
 * The reports the library returns and the renderers print, told apart by `kind`: the diff
 * of two files (`pair`, with analyses when asked for), of two directories, of a sequence of
 * three or more checkpoints, and the inspection of one file.
 */
import type { AnalysisEntry } from '../analysis/types.js';
import type { ModelDescription } from '../formats/types.js';
import type { DiffReport, DirectoryDiffReport, InspectReport } from '../library.js';

export type PairReport = DiffReport;
export type DirectoryReport = DirectoryDiffReport;

/** `diffai A B C …`: the diff of each consecutive pair, then the analyses of the run. */
export interface SequenceReport {
  kind: 'sequence';
  models: ModelDescription[];
  /** (0,1), (1,2), … */
  pairs: PairReport[];
  analyses: AnalysisEntry[];
}

/** What `diffSequence` returns: two files give a pair report with analyses, more a sequence. */
export type AnalyzedReport = (PairReport & { analyses: AnalysisEntry[] }) | SequenceReport;

export type Report = PairReport | DirectoryReport | SequenceReport | InspectReport;
export type ReportKind = Report['kind'];

/** True when a diff report found differences (exit code 1); an inspection never differs. */
export function reportDiffers(report: Report): boolean {
  switch (report.kind) {
    case 'pair':
      return report.results.length > 0;
    case 'directory':
      return report.files.some((f) => f.status !== 'identical');
    case 'sequence':
      return report.pairs.some((p) => p.results.length > 0);
    case 'inspect':
      return false;
  }
}

/** The models a report read (for warnings and verbose lines). */
export function reportModels(report: PairReport | SequenceReport): ModelDescription[] {
  return report.kind === 'pair' ? [report.a, report.b] : report.models;
}
