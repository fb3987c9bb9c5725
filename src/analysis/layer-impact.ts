/**
 * Layer impact (--show-layer-impact): per layer, the relative L2 change and its share of the
 * model's total change, ranked.
 */
import { bufferChanges, fmt, groupBy, layerOf, pairData, pairLabel, parameterTensors, relChange, sumCompare } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export function layerImpact(c: Collected, p: PairData) {
  const params = parameterTensors(p);
  const groups = groupBy(params, (t) => layerOf(t.name));
  const comparedAll = params.filter((t) => t.cmp);
  const buffers = bufferChanges(p);
  const total = sumCompare(comparedAll.map((t) => t.cmp!));
  const layers = [...groups].map(([layer, ts]) => {
    const compared = ts.filter((t) => t.cmp);
    const cmp = sumCompare(compared.map((t) => t.cmp!));
    const structural = ts.filter((t) => !t.a || !t.b || JSON.stringify(t.a.shape) !== JSON.stringify(t.b.shape)).map((t) => t.name);
    return {
      layer,
      rel_l2_change: compared.length > 0 ? relChange(cmp) : null,
      share: total.sumSqDiff > 0 && compared.length > 0 ? cmp.sumSqDiff / total.sumSqDiff : null,
      l2_change: compared.length > 0 ? Math.sqrt(cmp.sumSqDiff) : null,
      params: ts.reduce((s, t) => s + (t.b ?? t.a)!.numel, 0),
      changed_elements: cmp.changed,
      tensors: ts.map((t) => t.name),
      not_compared: structural,
    };
  });
  const ranked = layers.sort((x, y) => (y.share ?? -1) - (x.share ?? -1) || (y.rel_l2_change ?? -1) - (x.rel_l2_change ?? -1) || (x.layer < y.layer ? -1 : 1));
  const changed = ranked.filter((l) => l.changed_elements > 0 || l.not_compared.length > 0);
  const modelRel = comparedAll.length > 0 ? relChange(total) : null;
  const data = {
    ...pairData(p),
    layers_total: ranked.length,
    layers_changed: changed.length,
    model_rel_l2_change: modelRel,
    layers: ranked,
    buffers_changed: buffers.length,
    buffers,
  };
  const summary = `${summaryFields([
    ['layers', `${ranked.length}`],
    ['changed', `${changed.length}`],
    ['model_rel_l2_change', modelRel],
    ['most_affected', changed[0]?.layer ?? 'none'],
    ['buffers_changed', `${buffers.length}`],
  ])}${pairLabel(c, p)}`;
  const details = ranked.map(
    (l) =>
      `${l.layer}: rel_l2_change=${fmt(l.rel_l2_change)}, share=${fmt(l.share)}, params=${l.params}, changed_elements=${l.changed_elements}${l.not_compared.length > 0 ? `, not compared (added/removed/reshaped): ${l.not_compared.join(', ')}` : ''}`,
  );
  for (const b of buffers)
    details.push(`buffer ${b.name}: ${b.change}${b.rel_l2_change === null ? '' : `, rel_l2_change=${fmt(b.rel_l2_change)}`} (not a weight)`);
  const table = {
    columns: ['layer', 'rel_l2_change', 'share', 'params', 'changed_elements'],
    rows: ranked.map((l) => [l.layer, l.rel_l2_change, l.share, l.params, l.changed_elements]),
  };
  return { summary, details, data, table };
}

export type LayerImpactData = ReturnType<typeof layerImpact>['data'];

const plugin: PairAnalysis<LayerImpactData> = {
  key: 'LayerImpactAnalysis',
  label: 'layer_impact',
  scope: 'pair',
  analyze: layerImpact,
};
export default plugin;
