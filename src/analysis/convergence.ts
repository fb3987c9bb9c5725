/**
 * Convergence analysis (--convergence-analysis): per layer, the update size ||dW||/||W|| along
 * the checkpoints, per epoch or step when the checkpoints store one, and its trend.
 */
import type { ModelDescription } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { fmt, groupBy, layerOf, parameterTensors, relChange, sumCompare } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, SequenceAnalysis } from './types.js';

export type Spacing = 'epoch' | 'step' | 'checkpoint';

/** What each trend means for training, as the summary's `status` and `action`. */
export const CONVERGENCE_STATUS = {
  shrinking: { status: 'converging', action: 'Continue training' },
  steady: { status: 'stable', action: 'Continue training' },
  growing: { status: 'diverging', action: 'Lower the learning rate' },
  oscillating: { status: 'oscillating', action: 'Lower the learning rate or decay it' },
  insufficient: { status: 'insufficient', action: 'Give three or more checkpoints' },
} as const;

/**
 * Where the checkpoints sit: their stored epochs when every one has an epoch and they
 * increase, else their stored steps (`global_step`/`step`) under the same condition, else
 * their positions in the list (1, 2, 3 …).
 */
export function checkpointPositions(models: ModelDescription[]): { spacing: Spacing; positions: number[] } {
  const increasing = (xs: Array<number | undefined>): xs is number[] => xs.every((x, i) => x !== undefined && (i === 0 || x > xs[i - 1]!));
  const epochs = models.map((m) => modelViewOf(m).hyperparameters.epoch);
  if (increasing(epochs)) return { spacing: 'epoch', positions: epochs };
  const steps = models.map((m) => modelViewOf(m).hyperparameters.globalStep);
  if (increasing(steps)) return { spacing: 'step', positions: steps };
  return { spacing: 'checkpoint', positions: models.map((_, i) => i + 1) };
}

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
  const { spacing, positions } = checkpointPositions(c.models);
  const gaps = c.pairs.map((_, k) => positions[k + 1]! - positions[k]!);
  const perUnit = (xs: Array<number | null>) => xs.map((x, k) => (x === null ? null : x / gaps[k]!));
  const layers = new Map<string, Array<number | null>>();
  const overall: Array<number | null> = [];
  c.pairs.forEach((p, k) => {
    const compared = parameterTensors(p).filter((t) => t.cmp);
    overall.push(compared.length > 0 ? relChange(sumCompare(compared.map((t) => t.cmp!))) : null);
    for (const [layer, ts] of groupBy(compared, (t) => layerOf(t.name))) {
      const seq = layers.get(layer) ?? new Array<number | null>(k).fill(null);
      seq.push(relChange(sumCompare(ts.map((t) => t.cmp!))));
      layers.set(layer, seq);
    }
    for (const seq of layers.values()) if (seq.length < k + 1) seq.push(null);
  });
  const perLayer = [...layers]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .map(([layer, seq]) => ({ layer, rel_updates: seq, rel_updates_per_unit: perUnit(seq), trend: trendOf(perUnit(seq)) }));
  const trends: Record<string, number> = {};
  for (const l of perLayer) trends[l.trend] = (trends[l.trend] ?? 0) + 1;
  const overallPerUnit = perUnit(overall);
  const trend = trendOf(overallPerUnit);
  const { status, action } = CONVERGENCE_STATUS[trend];
  const lastUpdate = overallPerUnit.filter((x): x is number => x !== null).at(-1) ?? null;
  const data = {
    models: c.models.map((m) => m.path),
    status,
    stability: lastUpdate,
    action,
    spacing,
    positions,
    step_ratio: STEP_RATIO,
    rel_updates: overall,
    rel_updates_per_unit: overallPerUnit,
    trend,
    layer_trends: trends,
    layers: perLayer,
  };
  const seqText = (xs: Array<number | null>) => xs.map(fmt).join(' -> ');
  const unit = spacing === 'checkpoint' ? 'per checkpoint' : `per ${spacing}`;
  const summary = summaryFields([
    ['status', status],
    ['stability', lastUpdate],
    ['action', { quoted: action }],
  ]);
  const details = [
    `checkpoints=${c.models.length} at ${spacing === 'checkpoint' ? 'positions' : `${spacing}s`} ${positions.join(', ')}${spacing === 'checkpoint' ? ' (no stored epoch or step: the trend is per checkpoint, give equally spaced ones)' : ''}`,
    `trend=${trend} of the relative update ${unit}: ${seqText(overallPerUnit)}; layers ${Object.entries(trends)
      .map(([t, n]) => `${t}:${n}`)
      .join(' ')}`,
    ...perLayer.map((l) => `${l.layer}: ${l.trend}, ${seqText(l.rel_updates_per_unit)} ${unit}`),
  ];
  // One point per consecutive pair, labelled by the checkpoints' epochs, steps or numbers (1-based).
  const x = c.pairs.map((_, k) => `${positions[k]}->${positions[k + 1]}`);
  const series = [{ name: 'model', x, values: overallPerUnit }, ...perLayer.map((l) => ({ name: l.layer, x, values: l.rel_updates_per_unit }))];
  return { summary, details, data, series };
}

export type ConvergenceData = ReturnType<typeof convergenceAnalysis>['data'];

const plugin: SequenceAnalysis<ConvergenceData> = {
  key: 'ConvergenceAnalysis',
  label: 'convergence_analysis',
  marker: '+',
  scope: 'sequence',
  analyze: convergenceAnalysis,
};
export default plugin;
