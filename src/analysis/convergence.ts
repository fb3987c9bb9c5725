/**
 * Convergence analysis (--convergence-analysis): per layer, the update size ||dW||/||W|| along
 * the checkpoints, and its trend.
 */
import { fmt, groupBy, isParameter, layerOf, relChange, sumCompare } from './helpers.js';
import type { Collected, SequenceAnalysis } from './types.js';

/** A step r_{k+1}/r_k below 1/STEP_RATIO counts as down, above STEP_RATIO as up, otherwise flat. */
export const STEP_RATIO = 1.1;

export function trendOf(seq: Array<number | null>): 'shrinking' | 'steady' | 'growing' | 'oscillating' | 'insufficient' {
  const xs = seq.filter((x): x is number => x !== null);
  if (xs.length < 2) return 'insufficient';
  let up = 0;
  let down = 0;
  for (let k = 0; k + 1 < xs.length; k++) {
    const q = xs[k]! > 0 ? xs[k + 1]! / xs[k]! : xs[k + 1]! > 0 ? Infinity : 1;
    if (q > STEP_RATIO) up++;
    else if (q < 1 / STEP_RATIO) down++;
  }
  if (up === 0 && down === 0) return 'steady';
  if (up === 0) return 'shrinking';
  if (down === 0) return 'growing';
  return 'oscillating';
}

export function convergenceAnalysis(c: Collected) {
  const layers = new Map<string, Array<number | null>>();
  const overall: Array<number | null> = [];
  c.pairs.forEach((p, k) => {
    const compared = p.tensors.filter((t) => t.cmp && isParameter(t.a));
    overall.push(compared.length > 0 ? relChange(sumCompare(compared.map((t) => t.cmp!))) : null);
    for (const [layer, ts] of groupBy(compared, (t) => layerOf(t.name))) {
      const seq = layers.get(layer) ?? new Array<number | null>(k).fill(null);
      seq.push(relChange(sumCompare(ts.map((t) => t.cmp!))));
      layers.set(layer, seq);
    }
    for (const seq of layers.values()) if (seq.length < k + 1) seq.push(null);
  });
  const perLayer = [...layers].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([layer, seq]) => ({ layer, rel_updates: seq, trend: trendOf(seq) }));
  const trends: Record<string, number> = {};
  for (const l of perLayer) trends[l.trend] = (trends[l.trend] ?? 0) + 1;
  const data = {
    models: c.models.map((m) => m.path),
    step_ratio: STEP_RATIO,
    rel_updates: overall,
    trend: trendOf(overall),
    layer_trends: trends,
    layers: perLayer,
  };
  const seqText = (xs: Array<number | null>) => xs.map(fmt).join(' -> ');
  const summary = `checkpoints=${c.models.length}, trend=${data.trend}, rel_updates=${seqText(overall)}, layers=${Object.entries(trends)
    .map(([t, n]) => `${t}:${n}`)
    .join(' ')}`;
  const details = perLayer.map((l) => `${l.layer}: ${l.trend}, ${seqText(l.rel_updates)}`);
  // One point per consecutive pair, labelled by checkpoint numbers (1-based).
  const x = c.pairs.map((_, k) => `${k + 1}->${k + 2}`);
  const series = [{ name: 'model', x, values: overall }, ...perLayer.map((l) => ({ name: l.layer, x, values: l.rel_updates }))];
  return { summary, details, data, series };
}

export type ConvergenceData = ReturnType<typeof convergenceAnalysis>['data'];

const plugin: SequenceAnalysis<ConvergenceData> = {
  key: 'ConvergenceAnalysis',
  label: 'convergence_analysis',
  scope: 'sequence',
  analyze: convergenceAnalysis,
};
export default plugin;
