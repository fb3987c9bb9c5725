/**
 * Head importance (--head-importance): a weight-norm proxy, ‖W_OVʰ‖_F = ‖W_Oʰ W_Vʰ‖_F, the
 * size of what head h can write into the residual stream, with its share of the layer and
 * its change A → B. A proxy: true importance (the loss change when a head is masked,
 * Michel et al. 2019) needs data this tool never sees.
 */
import { attentionOf, headName } from './attention-heads.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export function headImportance(c: Collected, p: PairData) {
  const m = attentionOf(c.passes, p);
  if (!m.applicable) return notApplicable(m.reason);
  const layers = m.layers.map((l) => {
    const totalA = l.measures.reduce((s, h) => s + h.ovA.frobenius, 0);
    const totalB = l.measures.reduce((s, h) => s + h.ovB.frobenius, 0);
    const heads = l.measures.map((h) => {
      const shareA = totalA > 0 ? h.ovA.frobenius / totalA : null;
      const shareB = totalB > 0 ? h.ovB.frobenius / totalB : null;
      return {
        head: h.head,
        importance_a: h.ovA.frobenius,
        importance_b: h.ovB.frobenius,
        change: h.ovB.frobenius - h.ovA.frobenius,
        rel_change: h.ovA.frobenius > 0 ? (h.ovB.frobenius - h.ovA.frobenius) / h.ovA.frobenius : null,
        share_a: shareA,
        share_b: shareB,
        share_change: shareA !== null && shareB !== null ? shareB - shareA : null,
      };
    });
    const ranked = [...heads].sort((x, y) => y.importance_b - x.importance_b || x.head - y.head);
    return { layer: l.layer, heads: l.heads, ranking_b: ranked.map((h) => h.head), per_head: heads };
  });
  const all = layers.flatMap((l) => l.per_head.map((h) => ({ layer: l.layer, ...h })));
  const top = all.reduce<(typeof all)[number] | null>((best, h) => (h.share_b !== null && (best === null || h.share_b > best.share_b!) ? h : best), null);
  const shift = all.reduce<(typeof all)[number] | null>(
    (best, h) => (h.share_change !== null && h.share_change !== 0 && (best === null || Math.abs(h.share_change) > Math.abs(best.share_change!)) ? h : best),
    null,
  );
  const data = {
    applicable: true as const,
    ...pairData(p),
    proxy: true,
    measure: "weight-norm proxy ||W_O^h W_V^h||_F; share = its fraction of the sum over the layer's heads",
    note: 'a proxy from the weights alone: true head importance is the loss change when a head is masked and needs data (Michel et al. 2019)',
    heads_total: all.length,
    top_head: top ? { layer: top.layer, head: top.head, share_b: top.share_b } : null,
    largest_share_change: shift ? { layer: shift.layer, head: shift.head, share_change: shift.share_change } : null,
    layers,
  };
  const summary = `${summaryFields([
    ['proxy', 'weight_norm'],
    ['heads', `${all.length}`],
    ['top', top ? headName(top.layer, top.head) : 'none'],
    ['top_share', top?.share_b ?? null],
    ['largest_shift', shift ? headName(shift.layer, shift.head) : 'none'],
    ['share_change', shift?.share_change ?? null],
  ])}${pairLabel(c, p)}`;
  const details = ['proxy: ||W_OV^h||_F from the weights (true importance needs data, Michel et al. 2019)'];
  for (const l of layers) {
    details.push(
      `${l.layer}: ${l.per_head.map((h) => `[${h.head}] ${fmt(h.importance_a)} -> ${fmt(h.importance_b)} (share ${fmt(h.share_a)} -> ${fmt(h.share_b)})`).join(', ')}`,
    );
  }
  const table = {
    columns: ['head', 'importance_a', 'importance_b', 'share_a', 'share_b', 'share_change'],
    rows: all.map((h) => [headName(h.layer, h.head), h.importance_a, h.importance_b, h.share_a, h.share_b, h.share_change]),
    chart: { columns: ['share_a', 'share_b'], title: 'Share of the layer (weight-norm proxy) by head' },
  };
  return { summary, details, data, table };
}

export type HeadImportanceData = ReturnType<typeof headImportance>['data'];

const plugin: PairAnalysis<HeadImportanceData> = {
  key: 'HeadImportance',
  label: 'head_importance',
  scope: 'pair',
  needs: ['attentionHeads'],
  analyze: headImportance,
};
export default plugin;
