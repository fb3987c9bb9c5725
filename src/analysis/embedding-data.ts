/**
 * What the embedding and clustering passes hand their analyses (JSON-ready; snake_case keys
 * as in every analysis object). Kept apart from the passes so types.ts can name them
 * without importing engine code (it imports nothing, so no import cycle runs through it).
 */

export type EmbeddingKind = 'token' | 'position' | 'token_type' | 'lm_head';

export type TieStatus = 'tied' | 'untied' | 'broken' | 'tied_in_b';

export interface HeadTie {
  /** The LM head's name and the token embedding it is (or was) tied to. */
  head: string;
  embedding: string;
  tied_a: boolean;
  tied_b: boolean;
  /** tied (both), untied (neither), broken (A only), tied_in_b (B only). */
  status: TieStatus;
}

/** The shape of summary.ts's NotApplicable (not imported: this module imports nothing). */
interface NotApplicable extends Record<string, unknown> {
  applicable: false;
  reason: string;
}

export interface RowDrift {
  row: number;
  /** From the tokenizer beside B (else A), when there is one and it has the id. */
  token?: string;
  /** Cosine of the row in A and in B (1 for an identical row; null when a norm is 0 and the row changed). */
  cosine: number | null;
  rel_change: number | null;
  norm_a: number;
  norm_b: number;
}

export interface NeighbourOverlap {
  k: number;
  /** Rows whose neighbours were compared (a seeded sample when the matrix has more rows). */
  queries: number;
  sampled: boolean;
  seed: number;
  /** Neighbours are searched among every row with a finite, non-zero vector. */
  candidates_a: number;
  candidates_b: number;
  /** Mean and min over the queries of |N_A(i) ∩ N_B(i)| / k (cosine neighbours, the row itself excluded). */
  mean: number;
  min: number;
}

export interface ProcrustesDrift {
  /** Rows R was fitted on and the residuals measured over (every row, or a seeded sample). */
  rows_used: number;
  sampled: boolean;
  seed: number;
  /** ‖A − B‖_F / ‖B‖_F and ‖A·R − B‖_F / ‖B‖_F over those rows. */
  residual_before: number;
  residual_after: number;
  /** 1 − after² / before²: the share of the squared drift a rotation explains (null when nothing moved). */
  rotation_share: number | null;
  mean_aligned_cosine: number | null;
  min_aligned_cosine: number | null;
  /** Rows farthest from B after the rotation (lowest cosine of a·R with b). */
  most_drifted_aligned: RowDrift[];
}

export interface EmbeddingMatrixDrift {
  name: string;
  kind: EmbeddingKind;
  shape_a: number[] | null;
  shape_b: number[] | null;
  /** False when only one side has it or the shapes differ (`reason`). */
  compared: boolean;
  reason?: string;
  rows?: number;
  dim?: number;
  rows_changed?: number;
  /** Over rows whose cosine exists (identical rows count as 1). */
  min_row_cosine?: number | null;
  mean_row_cosine?: number | null;
  /** Rows with a zero norm on a side (cosine undefined) and rows holding NaN/Inf. */
  undefined_cosine_rows?: number;
  non_finite_rows?: number;
  mean_norm_a?: number;
  mean_norm_b?: number;
  /** Norm drift: mean and max of | ‖b_i‖ − ‖a_i‖ |. */
  mean_abs_norm_change?: number;
  max_abs_norm_change?: number;
  max_row_rel_change?: number | null;
  most_drifted?: RowDrift[];
  knn?: NeighbourOverlap | null;
  knn_skipped?: string;
  procrustes?: ProcrustesDrift | null;
  procrustes_skipped?: string;
}

export interface EmbeddingData extends Record<string, unknown> {
  applicable: true;
  matrices: EmbeddingMatrixDrift[];
  tie: HeadTie | null;
  /** B's LM head against B's token embedding, row by row, when B keeps them apart. */
  head_vs_embedding_b: { min_row_cosine: number | null; mean_row_cosine: number | null; rows_differing: number } | null;
  tokenizer: { path: string; warning?: string } | null;
}

export type EmbeddingResult = EmbeddingData | NotApplicable;

export interface ClusteringSide {
  inertia: number;
  iterations: number;
  converged: boolean;
  /** Points per cluster, largest first. */
  sizes: number[];
}

export interface ClusteringData extends Record<string, unknown> {
  applicable: true;
  layer: string;
  /** How the layer was chosen: `option` (--cluster-layer), `embedding`, `largest_weight`. */
  chosen_by: string;
  rows: number;
  row_length: number;
  /** Rows clustered: a seeded sample when the layer has more (or its rows are long). */
  sample: { size: number; sampled: boolean; seed: number; dropped_non_finite: number };
  k: number;
  adjusted_rand_index: number;
  normalized_mutual_info: number;
  model_a: ClusteringSide;
  model_b: ClusteringSide;
}

export type ClusteringResult = ClusteringData | NotApplicable;
