/**
 * The review view of a pair diff (`--review-friendly`): what a human reviewer reads first.
 * Structural and tie changes, the changes that carry most of the total change, changed
 * tensors grouped by block, identical tensors as a count and a one-line scope. Derived only
 * from the report's numbers (a tensor's change ‖B − A‖ is its rel_l2_change × ‖A‖); shares
 * are of the model tensors' total ‖B − A‖², optimizer state apart.
 */
import type { DiffResult } from '../diff/types.js';
import { isOptimizerState } from '../model/roles.js';
import type { PairReport } from './types.js';

/** How many of the largest changes the review lists. */
export const REVIEW_TOP = 10;
/** Tensor results a reviewer must see before value changes. */
const STRUCTURAL = new Set<DiffResult['kind']>(['TensorShapeChanged', 'TensorDtypeChanged', 'TieChanged', 'TensorAdded', 'TensorRemoved']);
const METADATA = new Set<DiffResult['kind']>(['Added', 'Removed', 'Modified']);

export interface ReviewChange {
  name: string;
  block: string;
  /** ‖B − A‖² of this tensor over Σ‖B − A‖² of all changed tensors (null when nothing is measurable). */
  share: number | null;
  rel_l2_change: number | null;
  max_abs_diff: number | null;
  cosine_similarity: number | null;
}

export interface ReviewBlock {
  block: string;
  /** Tensors of this block with any change (values or structure). */
  changed: string[];
  share: number | null;
}

export interface ReviewView {
  /** One line: `23 of 148 tensors changed, all in blocks.3 and lm_head`. */
  scope: string;
  /** Tensors in A or B (null when the models are not at hand, as in a directory diff). */
  totalTensors: number | null;
  changedTensors: number;
  identicalTensors: number | null;
  structural: DiffResult[];
  /** Largest value changes of model tensors (not optimizer state) by share of the total, at most REVIEW_TOP. */
  top: ReviewChange[];
  /** Blocks with changes, largest share first. */
  blocks: ReviewBlock[];
  metadata: DiffResult[];
}

/**
 * The block a tensor belongs to: its path up to the first numeric component
 * (`blocks.3.attn.q.weight` → `blocks.3`), else its layer (`lm_head.weight` → `lm_head`).
 */
export function blockOf(name: string): string {
  const parts = name.split('.');
  const layer = parts.length > 1 ? parts.slice(0, -1) : parts;
  const numeric = layer.findIndex((p, i) => i > 0 && /^\d+$/.test(p));
  return (numeric > 0 ? layer.slice(0, numeric + 1) : layer).join('.');
}

/** ‖B − A‖ of a value change, from its relative change and ‖A‖ (‖B‖ when A is all zero). */
function changeNorm(r: Extract<DiffResult, { kind: 'TensorStatsChanged' }>): number | null {
  const rel = r.comparison.rel_l2_change;
  const normA = r.a.l2_norm;
  if (normA === 0) return r.b.l2_norm;
  return rel === null || normA === null ? null : rel * normA;
}

function andList(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

export function reviewPair(report: PairReport): ReviewView {
  const names = new Set([...report.a.tensors.map((t) => t.name), ...report.b.tensors.map((t) => t.name)]);
  return reviewResults(report.results, names.size);
}

/** The review of a list of differences; `totalTensors` (A ∪ B) gives the identical count when known. */
export function reviewResults(results: DiffResult[], totalTensors: number | null = null): ReviewView {
  const tensorResults = results.filter((r) => !METADATA.has(r.kind));
  const changedNames = [...new Set(tensorResults.map((r) => r.name))];
  const values = tensorResults.filter((r): r is Extract<DiffResult, { kind: 'TensorStatsChanged' }> => r.kind === 'TensorStatsChanged');
  // Shares are of the model's change: optimizer state (Adam's step counts, moments) moves on its own scale.
  const squares = new Map(values.filter((r) => !isOptimizerState(r.name)).map((r) => [r.name, changeNorm(r)] as const));
  const total = [...squares.values()].reduce((s: number, n) => s + (n === null ? 0 : n * n), 0);
  const shareOf = (name: string) => {
    const n = squares.get(name);
    return n === undefined || n === null || !(total > 0) ? null : (n * n) / total;
  };
  const top: ReviewChange[] = values
    .filter((r) => squares.has(r.name))
    .map((r) => ({
      name: r.name,
      block: blockOf(r.name),
      share: shareOf(r.name),
      rel_l2_change: r.comparison.rel_l2_change,
      max_abs_diff: r.comparison.max_abs_diff,
      cosine_similarity: r.comparison.cosine_similarity,
    }))
    .sort((x, y) => (y.share ?? -1) - (x.share ?? -1) || (y.rel_l2_change ?? -1) - (x.rel_l2_change ?? -1) || (x.name < y.name ? -1 : 1))
    .slice(0, REVIEW_TOP);
  const byBlock = new Map<string, ReviewBlock>();
  for (const name of changedNames) {
    const block = blockOf(name);
    const entry = byBlock.get(block) ?? { block, changed: [], share: null };
    entry.changed.push(name);
    const s = shareOf(name);
    if (s !== null) entry.share = (entry.share ?? 0) + s;
    byBlock.set(block, entry);
  }
  const blocks = [...byBlock.values()].sort((x, y) => (y.share ?? -1) - (x.share ?? -1) || y.changed.length - x.changed.length || (x.block < y.block ? -1 : 1));
  const structural = tensorResults.filter((r) => STRUCTURAL.has(r.kind));
  const metadata = results.filter((r) => METADATA.has(r.kind));
  const changed = changedNames.length;
  return {
    scope: scopeLine(totalTensors, changed, changedNames.filter(isOptimizerState).length, blocks, metadata.length),
    totalTensors,
    changedTensors: changed,
    identicalTensors: totalTensors === null ? null : totalTensors - changed,
    structural,
    top,
    blocks,
    metadata,
  };
}

function scopeLine(total: number | null, changed: number, optimizer: number, blocks: ReviewBlock[], metadata: number): string {
  const meta = metadata > 0 ? `; ${metadata} metadata ${metadata === 1 ? 'entry' : 'entries'} changed` : '';
  if (changed === 0) return `no tensor changed${total !== null ? ` (${total} tensors)` : ''}${meta}`;
  const where =
    blocks.length <= 3
      ? `all in ${andList(blocks.map((b) => b.block))}`
      : `in ${blocks.length} blocks, most in ${blocks[0]!.block}${blocks[0]!.share !== null ? ` (${(blocks[0]!.share * 100).toFixed(1)}% of the change)` : ''}`;
  const opt = optimizer > 0 ? ` (${optimizer} optimizer state)` : '';
  return `${changed}${total !== null ? ` of ${total}` : ''} tensor${changed === 1 && total === null ? '' : 's'} changed${opt}, ${where}${meta}`;
}
