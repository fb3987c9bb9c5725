/**
 * Typed results of a diff and the stats/comparison objects of the output contract
 * (DESIGN §5). Renderers and analyses read only these.
 */
import type { DType } from '../dtypes.js';
import type { LeafValue, ModelDescription } from '../formats/types.js';

/** Statistics of one part (real or imaginary) of a complex tensor. */
export interface PartStats {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

export interface TensorStats extends PartStats {
  shape: number[];
  dtype: DType;
  total_params: number;
  nan_count: number | null;
  posinf_count: number | null;
  neginf_count: number | null;
  zero_count: number | null;
  l2_norm: number | null;
  /** Complex tensors only. */
  real?: PartStats;
  imag?: PartStats;
  /** Quantized tensors only: statistics above are of the dequantized values. */
  quantization?: { scheme: string; scale: number; zero_point: number };
}

export interface Comparison {
  max_abs_diff: number | null;
  mean_abs_diff: number | null;
  /** ‖b − a‖₂ / ‖a‖₂. */
  rel_l2_change: number | null;
  cosine_similarity: number | null;
  changed_elements: number;
}

export type DiffResult = (
  | { kind: 'TensorStatsChanged'; name: string; a: TensorStats; b: TensorStats; comparison: Comparison }
  | { kind: 'TensorShapeChanged'; name: string; a: number[]; b: number[] }
  | { kind: 'TensorDtypeChanged'; name: string; a: DType; b: DType }
  | { kind: 'TensorAdded'; name: string; stats: TensorStats }
  | { kind: 'TensorRemoved'; name: string; stats: TensorStats }
  | { kind: 'Added'; name: string; value: LeafValue }
  | { kind: 'Removed'; name: string; value: LeafValue }
  | { kind: 'Modified'; name: string; a: LeafValue; b: LeafValue }
  /** `name` shares its partner's storage on one side only (`partner` is that side's tie-group representative). */
  | { kind: 'TieChanged'; name: string; partner: string; a: TieState; b: TieState }
) & {
  /** With key remapping (--strip-prefix, --rename): the names in the files, per side present. */
  original?: { a?: string; b?: string };
};

export type TieState = 'tied' | 'untied';

export type DiffKind = DiffResult['kind'];

/**
 * A two-file diff (no analyses) whose differences arrive as they are found: windows in name
 * order (differ.ts diffWindows). The command line prints each window and drops it, so a
 * million changed tensors are never held at once; renderers that can print it so implement
 * Renderer.pairChunks.
 */
export interface PairStream {
  a: ModelDescription;
  b: ModelDescription;
  windows: AsyncIterable<DiffResult[]>;
}
