/**
 * Attention pattern diff (--attention-pattern-diff): without inputs, how far each head's
 * query–key circuit W_QKʰ turned between A and B: the subspace similarity φ of Hu et al.
 * 2021 between the top-r left (query-side) and right (key-side) singular subspaces of
 * W_QKʰ in A and in B. An unchanged head scores 1; orthogonal subspaces score 0. It
 * compares what the weights can attend to, not attention maps measured on data.
 */
import { attentionOf, headName } from './attention-heads.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

function mean(xs: number[]): number | null {
  return xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : null;
}

export function attentionPatternDiff(c: Collected, p: PairData) {
  const m = attentionOf(c.passes, p);
  if (!m.applicable) return notApplicable(m.reason);
  const layers = m.layers.map((l) => {
    const heads = l.measures.map((h) => ({
      head: h.head,
      rank: h.rank,
      phi_query: h.phiQuery,
      phi_key: h.phiKey,
      similarity: h.phiQuery !== null && h.phiKey !== null ? (h.phiQuery + h.phiKey) / 2 : null,
      identical_weights: h.identical,
      non_finite: h.nonFinite,
    }));
    const sims = heads.flatMap((h) => (h.similarity === null ? [] : [h.similarity]));
    return { layer: l.layer, mean_similarity: mean(sims), min_similarity: sims.length > 0 ? Math.min(...sims) : null, per_head: heads };
  });
  const all = layers.flatMap((l) => l.per_head.map((h) => ({ layer: l.layer, ...h })));
  const scored = all.filter((h) => h.similarity !== null);
  const lowest = scored.reduce<(typeof scored)[number] | null>((lo, h) => (lo === null || h.similarity! < lo.similarity! ? h : lo), null);
  const data = {
    applicable: true as const,
    ...pairData(p),
    measure:
      'phi = ||U_A^T U_B||_F^2 / r (Hu et al. 2021) of the top-r singular subspaces of W_QK^h, query side and key side; similarity = their mean; r = min(8, ceil(d_head/2)), lowered to the numerical rank',
    note: 'from the weights alone: compares the subspaces each head can attend through, not attention maps on data',
    heads_total: all.length,
    unchanged_heads: all.filter((h) => h.identical_weights).length,
    mean_similarity: mean(scored.map((h) => h.similarity!)),
    min_similarity: lowest?.similarity ?? null,
    lowest: lowest ? { layer: lowest.layer, head: lowest.head, similarity: lowest.similarity } : null,
    layers,
  };
  const summary = `${summaryFields([
    ['heads', `${all.length}`],
    ['mean_similarity', data.mean_similarity],
    ['min_similarity', data.min_similarity],
    ['lowest', lowest ? headName(lowest.layer, lowest.head) : 'none'],
    ['unchanged_heads', `${data.unchanged_heads}`],
  ])}${pairLabel(c, p)}`;
  const details = layers.map(
    (l) =>
      `${l.layer}: mean ${fmt(l.mean_similarity)}, min ${fmt(l.min_similarity)}; ${l.per_head.map((h) => `[${h.head}] ${fmt(h.similarity)} (q ${fmt(h.phi_query)}, k ${fmt(h.phi_key)}, r=${h.rank})`).join(', ')}`,
  );
  const table = {
    columns: ['head', 'similarity', 'phi_query', 'phi_key', 'rank'],
    rows: all.map((h) => [headName(h.layer, h.head), h.similarity, h.phi_query, h.phi_key, h.rank]),
    chart: { columns: ['similarity'], title: 'Subspace similarity of W_QK by head (1 = unchanged)' },
  };
  return { summary, details, data, table };
}

export type AttentionPatternDiffData = ReturnType<typeof attentionPatternDiff>['data'];

const plugin: PairAnalysis<AttentionPatternDiffData> = {
  key: 'AttentionPatternDiff',
  label: 'attention_pattern_diff',
  scope: 'pair',
  needs: ['attentionHeads'],
  analyze: attentionPatternDiff,
};
export default plugin;
