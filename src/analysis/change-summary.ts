/**
 * Change summary (--change-summary): counts by kind, elements changed, and the tensors that
 * changed most relative to their size.
 */
import { bufferChanges, fmt, isParameter, pairData, pairLabel, pct, rankByChange, relChange, sideTensors } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export function changeSummary(c: Collected, p: PairData) {
  const counts: Record<string, number> = {};
  for (const r of p.results) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  const compared = p.tensors.filter((t) => t.cmp);
  const unchanged = compared.filter((t) => t.cmp!.changed === 0).length;
  const elements = compared.reduce((s, t) => s + (t.a?.numel ?? 0), 0);
  const changedElements = compared.reduce((s, t) => s + t.cmp!.changed, 0);
  // Learnable parameters (buffers, optimizer state, scalars apart), each tie group once.
  const paramsA = sideTensors(p, 'a').reduce((s, t) => s + (isParameter(p.a, t) ? t.numel : 0), 0);
  const paramsB = sideTensors(p, 'b').reduce((s, t) => s + (isParameter(p.b, t) ? t.numel : 0), 0);
  // Parameters of B in tensors that changed values, or were added, reshaped (not compared).
  const changedB = new Set(p.tensors.filter((t) => t.b && (t.cmp ? t.cmp.changed > 0 : true)).map((t) => t.b));
  const paramsInChanged = sideTensors(p, 'b')
    .filter((d) => isParameter(p.b, d) && changedB.has(d))
    .reduce((s, t) => s + t.numel, 0);
  const top = rankByChange(compared.filter((t) => t.cmp!.changed > 0 && isParameter(p.a, t.a)))
    .slice(0, 5)
    .map((t) => ({
      name: t.name,
      rel_l2_change: relChange(t.cmp!),
      l2_change: Math.sqrt(t.cmp!.sumSqDiff),
      from_zero: t.cmp!.sumAA === 0,
      changed_elements: t.cmp!.changed,
      total_params: t.a!.numel,
    }));
  const buffers = bufferChanges(p);
  const data = {
    ...pairData(p),
    counts_by_kind: counts,
    tensors_compared: compared.length,
    tensors_unchanged: unchanged,
    elements_compared: elements,
    elements_changed: changedElements,
    elements_changed_ratio: elements > 0 ? changedElements / elements : null,
    params_a: paramsA,
    params_b: paramsB,
    params_in_changed_tensors: paramsInChanged,
    top_changes: top,
    buffers_changed: buffers.length,
    buffers,
  };
  const k = (name: string) => counts[name] ?? 0;
  const summary = `${summaryFields([
    ['tensors_changed', `${k('TensorStatsChanged')}`],
    ['added', `${k('TensorAdded')}`],
    ['removed', `${k('TensorRemoved')}`],
    ['reshaped', `${k('TensorShapeChanged')}`],
    ['retyped', `${k('TensorDtypeChanged')}`],
    ['unchanged', `${unchanged}`],
    ['elements_changed', `${changedElements}/${elements} (${pct(data.elements_changed_ratio)})`],
    ['other_entries_changed', `${k('Added') + k('Removed') + k('Modified')}`],
  ])}${pairLabel(c, p)}`;
  const details = [
    `params: ${paramsA} -> ${paramsB}; in changed, added or reshaped tensors: ${paramsInChanged}`,
    ...top.map(
      (t, i) =>
        `top ${i + 1}: ${t.name}: ${t.from_zero ? `from zero, l2_change=${fmt(t.l2_change)}` : `rel_l2_change=${fmt(t.rel_l2_change)}`}, changed_elements=${t.changed_elements}/${t.total_params}`,
    ),
    ...buffers.map((b) => `buffer ${b.name}: ${b.change}${b.rel_l2_change === null ? '' : `, rel_l2_change=${fmt(b.rel_l2_change)}`} (not a weight)`),
  ];
  const table = {
    columns: ['tensor', 'rel_l2_change', 'changed_elements', 'total_params'],
    rows: top.map((t) => [t.name, t.rel_l2_change, t.changed_elements, t.total_params]),
  };
  return { summary, details, data, table };
}

export type ChangeSummaryData = ReturnType<typeof changeSummary>['data'];

const plugin: PairAnalysis<ChangeSummaryData> = {
  key: 'ChangeSummary',
  label: 'change_summary',
  scope: 'pair',
  analyze: changeSummary,
};
export default plugin;
