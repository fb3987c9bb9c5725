/**
 * The shapes analyses work with: what the diff pass gathered (Collected, PairData), the
 * entry each analysis returns, and the plug-in contract an analysis module fulfils.
 */
import type { DiffOptions } from '../diff/differ.js';
import type { DiffResult, TensorStats } from '../diff/types.js';
import type { AdamStepResult } from '../engine/ops/adam-step.js';
import type { ToleranceResult } from '../engine/ops/tolerance.js';
import type { ComparePartial } from '../engine/partials.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import type { AttentionHeads } from './attention-types.js';
import type { ClusteringResult, EmbeddingResult } from './embedding-data.js';
import type { SpectralNormRank } from './power-iteration.js';

/** One tensor of a pair of models, as the diff pass saw it. */
export interface PairTensor {
  name: string;
  a?: TensorDescriptor;
  b?: TensorDescriptor;
  statsA?: TensorStats;
  statsB?: TensorStats;
  /** Present when both tensors were read and compared (same shape). */
  cmp?: ComparePartial;
  /** Set by the `snappedGrids` pass: B's values were snapped to this uniform grid (A's were not), dtype unchanged. */
  grid?: SnapGrid;
}

/** A uniform grid of 2^bits levels: symmetric (through 0, step max|x|/(2^(bits−1)−1)) or affine (from min, step (max−min)/(2^bits−1)). */
export interface SnapGrid {
  bits: number;
  scheme: 'symmetric' | 'affine';
  origin: number;
  step: number;
  /** Largest distance of B's values from the grid, in steps. */
  residual: number;
}

export interface PairData {
  /** Indexes of the two models in the list given. */
  ia: number;
  ib: number;
  a: ModelDescription;
  b: ModelDescription;
  results: DiffResult[];
  /** Every tensor seen (after name filters), sorted by name. */
  tensors: PairTensor[];
}

/** What the extra data passes (src/analysis/passes.ts) produce; each is present when an analysis that needs it was selected. */
export interface PassOutputs {
  /** Per model index, tensor name → indexes of all-zero rows. */
  zeroRows: Map<number, Map<string, number[]>>;
  /** Comparison partials per parameter tensor for every pair i < j, keyed `i,j`. */
  pairCompare: Map<string, Map<string, ComparePartial>>;
  /** The same, for the pairs (0, j) only: every model against the first (learning progress). */
  baselineCompare: Map<string, Map<string, ComparePartial>>;
  /** Marks `PairTensor.grid` on grid-snapped tensors; the value is the number of tensors marked. */
  snappedGrids: number;
  /**
   * Per pair (index in `pairs`): float parameters of one side compared with the quantized
   * weights that replace them on the other (dynamic quantization's packed params, linked by
   * the model view), dequantized. `name` is the float parameter's name.
   */
  quantizedLinks: Map<number, PairTensor[]>;
  /** Value histograms of A and B for the most changed tensors of each pair, keyed `ia,ib` (charts in reports). */
  histograms: Map<string, ValueHistogram[]>;
  /** Per pair (index in `pairs`): per tensor compared, the tolerance applied and the elements outside it (src/analysis/regression-test.ts). */
  tolerances: Map<number, Map<string, ToleranceCheck>>;
  /** Per pair, keyed `ia,ib`: attention circuits per layer and head (src/analysis/attention-heads.ts). */
  attentionHeads: Map<string, AttentionHeads>;
  /** Per pair (index in `pairs`): embedding drift, neighbours, Procrustes, tie (src/analysis/embedding-pass.ts). */
  embeddings: Map<number, EmbeddingResult>;
  /** Per pair (index in `pairs`): k-means of one layer's rows in A and B and their agreement (src/analysis/clustering-pass.ts). */
  clustering: Map<number, ClusteringResult>;
  /** Per pair (index in `pairs`): top singular values of ΔW = B − A per matrix parameter (src/analysis/singular-values.ts). */
  lowRankDeltas: Map<number, MatrixSpectrum[]>;
  /** Per pair (index in `pairs`): singular values of each large matrix parameter in A and in B (src/analysis/singular-values.ts). */
  matrixSpectra: Map<number, SpectraPair[]>;
  /** Per model index, state index → Adam's effective step sums over that parameter's state (src/analysis/optimizer-state.ts). */
  adamSteps: Map<number, Map<number, AdamStepResult>>;
  /** Per model index, parameter name → ‖W‖₂ (and effective rank where every singular value was computed) of each 2+-D float parameter, each tie once (src/analysis/spectra.ts). */
  spectralNorms: Map<number, Map<string, SpectralNormRank>>;
  /** Per pair (index in `pairs`), parameter name → ‖B − A‖₂ of each 2+-D float parameter compared (src/analysis/spectra.ts). */
  deltaSpectralNorms: Map<number, Map<string, SpectralNormRank>>;
}

/** Singular values of one matrix (a weight, or a weight delta), streamed by randomized SVD (src/analysis/randomized-svd.ts). */
export interface MatrixSpectrum {
  name: string;
  /** The tensor's shape; `matrix` is how it was read as a matrix ([d0, product of the rest]). */
  shape: number[];
  matrix: [number, number];
  /** Descending. */
  values: number[];
  /** True when `values` are the whole spectrum's top values exactly (the sketch spanned the smaller side), not estimates. */
  exact: boolean;
  /** Vectors in the sketch, and products with W or Wᵀ taken. */
  sketch: number;
  products: number;
  /** ‖W‖_F² (or ‖ΔW‖_F²) exactly, from the diff pass's stats/compare kernels; null when not known. */
  frobeniusSq: number | null;
  /** Why it was not decomposed (`unchanged`, `non-finite values`). */
  skipped?: string;
}

/** One matrix parameter's spectrum in A and in B (either may be missing: not in that model, or too small there). */
export interface SpectraPair {
  name: string;
  a?: MatrixSpectrum;
  b?: MatrixSpectrum;
}

/** Histograms of one tensor in A and in B over the same bins (counts from the engine's histogram op). */
export interface ValueHistogram {
  name: string;
  /** The common range: the smaller minimum and the larger maximum of A and B. */
  lo: number;
  hi: number;
  a: number[];
  b: number[];
}

/** One tensor's check against |b − a| ≤ atol + rtol·|a|. */
export interface ToleranceCheck {
  atol: number;
  rtol: number;
  /** Whose default the tolerance is (`f32`, …) or `given` (--rtol/--atol). */
  source: string;
  result: ToleranceResult;
}

export type PassName = keyof PassOutputs;

export interface Collected {
  models: ModelDescription[];
  /** Consecutive pairs: (0,1), (1,2), … */
  pairs: PairData[];
  /** Outputs of the passes the selected analyses declared in `needs`. */
  passes: Partial<PassOutputs>;
  /** Bounds given for --alert-on-degradation (DiffOptions.degradation). */
  degradation: { minSqnrDb?: number; minCosine?: number };
  /** Inputs of --inference-speed-estimate (DiffOptions.inference). */
  inference: InferenceOptions;
}

export type InferenceOptions = NonNullable<DiffOptions['inference']>;

/** A table an analysis offers to renderers that draw tables (Markdown, HTML): cells are plain values. */
export interface AnalysisTable {
  columns: string[];
  rows: Array<Array<string | number | null>>;
  /** Columns worth drawing as bars against the first column (`--include-charts`), e.g. bytes per dtype. */
  chart?: { columns: string[]; title?: string };
}

/** A numeric series (one line of a chart): values along `x` (checkpoint indexes unless given). */
export interface AnalysisSeries {
  name: string;
  x?: Array<string | number>;
  values: Array<number | null>;
}

/** How an analysis presents one result: a summary line, detail lines, and data for tables and charts. */
export interface AnalysisView<D> {
  summary: string;
  details: string[];
  /** The JSON/YAML object (`{"Key": data}`). */
  data: D;
  table?: AnalysisTable;
  series?: AnalysisSeries[];
  /** A square matrix with row/column labels (heat maps), e.g. similarity. */
  matrix?: { labels: string[]; values: Array<Array<number | null>> };
}

/** One result of one analysis, as reports carry it. */
export interface AnalysisEntry<D = Record<string, unknown>> extends AnalysisView<D> {
  /** Registry name, e.g. `quantization`. */
  name: string;
  /** JSON/YAML key, e.g. `QuantizationAnalysis`. */
  key: string;
  /** Text label, e.g. `quantization_analysis`. */
  label: string;
  /** Printed before the label on the summary line (`+`, `🚨`, `🧠`, `🏗️`), as the documents show it. */
  marker?: string;
  /** Set for analyses with a gate: whether this result fails it (see `fails` in the plug-in). */
  failed?: boolean;
}

interface PluginBase {
  /** JSON/YAML key, e.g. `QuantizationAnalysis`. */
  key: string;
  /** Text label, e.g. `quantization_analysis`. */
  label: string;
  /** Printed before the label on the summary line (see src/analysis/summary.ts). */
  marker?: string;
  /** Extra data passes this analysis reads from `Collected.passes` (run only when the values were read). */
  needs?: PassName[];
}

/** An analysis of each consecutive pair of models. */
export interface PairAnalysis<D extends Record<string, unknown>> extends PluginBase {
  scope: 'pair';
  analyze(c: Collected, p: PairData): AnalysisView<D>;
  /** For analyses with a CI gate (`--fail-on`): true when this result fails it. */
  fails?(data: D): boolean;
}

/** An analysis of the whole sequence of models (one entry per run). */
export interface SequenceAnalysis<D extends Record<string, unknown>> extends PluginBase {
  scope: 'sequence';
  analyze(c: Collected): AnalysisView<D>;
  /** For analyses with a CI gate (`--fail-on`): true when this result fails it. */
  fails?(data: D): boolean;
}

export type AnalysisPlugin<D extends Record<string, unknown> = Record<string, unknown>> = PairAnalysis<D> | SequenceAnalysis<D>;
