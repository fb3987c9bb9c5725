/**
 * What the attention pass (src/analysis/attention-heads.ts) measures per layer and head: plain
 * data, apart from the pass so that the shared analysis types can name it without a cycle.
 */
import type { LayoutName } from './attention-layout.js';

export interface CircuitNorms {
  frobenius: number;
  spectral: number;
}

export interface HeadMeasure {
  head: number;
  /** The key/value head this query head reads (grouped-query attention). */
  kvHead: number;
  qkA: CircuitNorms;
  qkB: CircuitNorms;
  /** ‖W_QKʰ(B) − W_QKʰ(A)‖_F. */
  qkChange: number;
  ovA: CircuitNorms;
  ovB: CircuitNorms;
  ovChange: number;
  /** φ of the top-r left (query-side) and right (key-side) singular subspaces of W_QKʰ; null when a side has rank 0. */
  phiQuery: number | null;
  phiKey: number | null;
  /** The r used: patternRank(d_head), lowered to the numerical rank of either side. */
  rank: number;
  /** Every projection slice of the head equal in A and B. */
  identical: boolean;
  /** A slice of A or B holds NaN or ±Inf: the circuits' numbers are then null. */
  nonFinite: boolean;
}

export interface KeyBiasMeasure {
  tensor: string;
  normA: number;
  normB: number;
  change: number;
}

export interface LayerMeasure {
  layer: string;
  layout: LayoutName;
  heads: number;
  kvHeads: number;
  dHead: number;
  dModel: number;
  measures: HeadMeasure[];
  keyBias?: KeyBiasMeasure;
}

export type AttentionHeads =
  | {
      applicable: true;
      layouts: LayoutName[];
      headCountSource: string;
      layers: LayerMeasure[];
      /** Layers not measured, with the reason (in one file only, different shapes, over the budget, filtered out). */
      skipped: Array<{ layer: string; reason: string }>;
      /** The largest float64 bytes of projections held at once. */
      workingSetBytes: number;
    }
  | { applicable: false; reason: string };
