/** diffai as a library: compare model files and compute tensor statistics with SIMD WASM kernels. */
export { diffFiles, diffDirectories, inspectFile, tensorStats } from './library.js';
export type { DiffReport, DirectoryDiffReport, FileDiff, InspectReport, InspectedTensor, LibraryOptions } from './library.js';
export type { DiffResult, DiffKind, TensorStats, Comparison, PartStats } from './diff/types.js';
export type { DiffOptions } from './diff/differ.js';
export type { ModelDescription, TensorDescriptor, LeafValue, FormatName } from './formats/types.js';
export { analyzeFiles, type AnalysisReport, type AnalysisEntry, type AnalysisName } from './analysis/index.js';
export { toContract } from './render/contract.js';
export { renderText } from './render/text.js';
export { DiffaiError } from './errors.js';
export { DTYPES, type DType } from './dtypes.js';
