/**
 * Attention analysis (--attention-analysis): per attention layer and head, the Frobenius and
 * spectral norms of the query–key circuit W_QKʰ = W_Qʰᵀ W_Kʰ and the output–value circuit
 * W_OVʰ = W_Oʰ W_Vʰ (Elhage et al. 2021) in A and B, and the norm of their change. A key
 * bias is reported as softmax-invariant, never as an anomaly.
 */
import { attentionOf, headName, type CircuitNorms, type LayerMeasure } from './attention-heads.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

/** A number, or null where NaN/Inf in the weights left none. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function circuit(a: CircuitNorms, b: CircuitNorms, change: number) {
  return {
    frobenius_a: finite(a.frobenius),
    frobenius_b: finite(b.frobenius),
    spectral_a: finite(a.spectral),
    spectral_b: finite(b.spectral),
    change: finite(change),
    rel_change: a.frobenius > 0 ? finite(change / a.frobenius) : null,
  };
}

/** √Σ x² over heads. */
function rss(xs: number[]): number {
  return Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
}

function layerSummary(l: LayerMeasure) {
  const heads = l.measures.map((m) => ({
    head: m.head,
    kv_head: m.kvHead,
    qk: circuit(m.qkA, m.qkB, m.qkChange),
    ov: circuit(m.ovA, m.ovB, m.ovChange),
    changed: !m.identical,
    non_finite: m.nonFinite,
  }));
  const qkA = rss(l.measures.map((m) => m.qkA.frobenius));
  const ovA = rss(l.measures.map((m) => m.ovA.frobenius));
  const qkChange = rss(l.measures.map((m) => m.qkChange));
  const ovChange = rss(l.measures.map((m) => m.ovChange));
  return {
    layer: l.layer,
    layout: l.layout,
    heads: l.heads,
    kv_heads: l.kvHeads,
    d_head: l.dHead,
    d_model: l.dModel,
    qk_frobenius_a: finite(qkA),
    qk_frobenius_b: finite(rss(l.measures.map((m) => m.qkB.frobenius))),
    qk_rel_change: qkA > 0 ? finite(qkChange / qkA) : null,
    ov_frobenius_a: finite(ovA),
    ov_frobenius_b: finite(rss(l.measures.map((m) => m.ovB.frobenius))),
    ov_rel_change: ovA > 0 ? finite(ovChange / ovA) : null,
    changed_heads: heads.filter((h) => h.changed).length,
    non_finite_heads: heads.filter((h) => h.non_finite).length,
    key_bias: l.keyBias
      ? {
          tensor: l.keyBias.tensor,
          norm_a: l.keyBias.normA,
          norm_b: l.keyBias.normB,
          change: l.keyBias.change,
          softmax_invariant: true,
        }
      : null,
    per_head: heads,
  };
}

export function attentionAnalysis(c: Collected, p: PairData) {
  const m = attentionOf(c.passes, p);
  if (!m.applicable) return notApplicable(m.reason);
  const layers = m.layers.map(layerSummary);
  const heads = layers.flatMap((l) => l.per_head.map((h) => ({ layer: l.layer, ...h })));
  const changed = heads.filter((h) => h.changed);
  let most: { layer: string; head: number; circuit: 'qk' | 'ov'; rel_change: number } | null = null;
  for (const h of heads) {
    for (const circuitName of ['qk', 'ov'] as const) {
      const r = h[circuitName].rel_change;
      if (r !== null && r > 0 && (most === null || r > most.rel_change)) most = { layer: h.layer, head: h.head, circuit: circuitName, rel_change: r };
    }
  }
  const maxRel = (k: 'qk' | 'ov') => heads.reduce<number | null>((mx, h) => (h[k].rel_change === null ? mx : Math.max(mx ?? 0, h[k].rel_change!)), null);
  const data = {
    applicable: true as const,
    ...pairData(p),
    layouts: m.layouts,
    head_count_source: m.headCountSource,
    layers_total: layers.length,
    layers_changed: layers.filter((l) => l.changed_heads > 0).length,
    heads_total: heads.length,
    heads_changed: changed.length,
    max_qk_rel_change: maxRel('qk'),
    max_ov_rel_change: maxRel('ov'),
    most_changed: most,
    circuits: 'W_QK = W_Q^T W_K (no 1/sqrt(d_head) scale, biases apart); W_OV = W_O W_V; norms from d_head-sized factors, no d_model x d_model matrix formed',
    key_bias_note:
      'a key bias adds the same amount to every key of a query, which softmax cancels: its size and change do not affect attention (softmax-invariant), and it is not an anomaly',
    layers,
    skipped: m.skipped,
    working_set_bytes: m.workingSetBytes,
  };
  const summary = `${summaryFields([
    ['layers', `${layers.length}`],
    ['heads', `${heads.length}`],
    ['changed_heads', `${changed.length}`],
    ['layers_changed', `${data.layers_changed}`],
    ['max_qk_change', data.max_qk_rel_change],
    ['max_ov_change', data.max_ov_rel_change],
    ['most_changed', most ? `${headName(most.layer, most.head)}.${most.circuit}` : 'none'],
  ])}${pairLabel(c, p)}`;
  const details = [`layouts: ${m.layouts.join(', ')}; heads from ${m.headCountSource}`];
  for (const l of layers) {
    details.push(
      `${l.layer}: ${l.heads} heads (${l.kv_heads} kv) × ${l.d_head}, qk ${fmt(l.qk_frobenius_a)} -> ${fmt(l.qk_frobenius_b)} (rel change ${fmt(l.qk_rel_change)}), ov ${fmt(l.ov_frobenius_a)} -> ${fmt(l.ov_frobenius_b)} (rel change ${fmt(l.ov_rel_change)}), changed_heads=${l.changed_heads}`,
    );
    for (const h of l.per_head) {
      if (!h.changed) continue;
      if (h.non_finite) details.push(`  ${headName(l.layer, h.head)}: weights hold NaN/Inf; its circuits have no norms`);
      else
        details.push(
          `  ${headName(l.layer, h.head)}: qk ${fmt(h.qk.frobenius_a)} -> ${fmt(h.qk.frobenius_b)} (spectral ${fmt(h.qk.spectral_a)} -> ${fmt(h.qk.spectral_b)}, rel change ${fmt(h.qk.rel_change)}), ov ${fmt(h.ov.frobenius_a)} -> ${fmt(h.ov.frobenius_b)} (spectral ${fmt(h.ov.spectral_a)} -> ${fmt(h.ov.spectral_b)}, rel change ${fmt(h.ov.rel_change)})`,
        );
    }
    if (l.key_bias) {
      details.push(
        `  key bias ${l.key_bias.tensor}: norm ${fmt(l.key_bias.norm_a)} -> ${fmt(l.key_bias.norm_b)}, change ${fmt(l.key_bias.change)}: softmax-invariant (no effect on attention; not an anomaly)`,
      );
    }
  }
  for (const s of m.skipped) details.push(`skipped ${s.layer}: ${s.reason}`);
  const table = {
    columns: ['head', 'qk_frobenius_a', 'qk_frobenius_b', 'qk_rel_change', 'ov_frobenius_a', 'ov_frobenius_b', 'ov_rel_change'],
    rows: heads.map((h) => [
      headName(h.layer, h.head),
      h.qk.frobenius_a,
      h.qk.frobenius_b,
      h.qk.rel_change,
      h.ov.frobenius_a,
      h.ov.frobenius_b,
      h.ov.rel_change,
    ]),
    chart: { columns: ['qk_rel_change', 'ov_rel_change'], title: 'Relative change of the attention circuits by head' },
  };
  return { summary, details, data, table };
}

export type AttentionAnalysisData = ReturnType<typeof attentionAnalysis>['data'];

const plugin: PairAnalysis<AttentionAnalysisData> = {
  key: 'AttentionAnalysis',
  label: 'attention_analysis',
  scope: 'pair',
  needs: ['attentionHeads'],
  analyze: attentionAnalysis,
};
export default plugin;
