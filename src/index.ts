/** diffai as a library: compare model files and compute tensor statistics with SIMD WASM kernels. */
export { diffFiles, diffDirectories, inspectFile, tensorStats } from './library.js';
export type { DiffReport, DirectoryDiffReport, FileDiff, InspectReport, InspectedTensor, LibraryOptions } from './library.js';
export type { DiffResult, DiffKind, TensorStats, Comparison, PartStats, TieState } from './diff/types.js';
export { unmatchedFilters, type DiffOptions, type NameFilterName } from './diff/differ.js';
export type { ModelDescription, TensorDescriptor, LeafValue, FormatName } from './formats/types.js';
export { buildModelView, buildModelViewWithConfig, readHuggingFaceConfig } from './model/index.js';
export type {
  ModelView,
  ModelEntry,
  Role,
  RoleTotals,
  TieGroup,
  Hyperparameters,
  OptimizerHyperparameters,
  ParamGroup,
  ParameterStep,
  HuggingFaceConfig,
} from './model/index.js';
export { analyzeFiles, ANALYSES, ANALYSIS_NAMES, type AnalysisReport, type AnalysisEntry, type AnalysisName } from './analysis/index.js';
export type { AnalysisPlugin, AnalysisSeries, AnalysisTable, AnalysisView, PairAnalysis, SequenceAnalysis, PassName } from './analysis/index.js';
export { diffSequence } from './report/sequence.js';
export {
  reportDiffers,
  type AnalyzedReport,
  type DirectoryReport,
  type PairReport,
  type Report,
  type ReportKind,
  type SequenceReport,
} from './report/types.js';
export { render, OUTPUT_FORMATS, RENDERERS, type OutputFormat, type Renderer, type RenderOptions } from './render/registry.js';
export { toContract, reportContract } from './render/contract.js';
export { renderText } from './render/text.js';
export { DiffaiError } from './errors.js';
export { DTYPES, type DType } from './dtypes.js';
