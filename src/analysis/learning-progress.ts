/**
 * Learning progress (--learning-progress): how far the parameters moved from the first
 * checkpoint, how directly they got there (path efficiency), the update per stored epoch or
 * step, and the stored loss and metrics beside them. The trend comes from the stored loss
 * when every checkpoint has one, else from the update sizes (and says which).
 */
import type { ComparePartial } from '../engine/partials.js';
import { checkpointPositions, trendOf } from './convergence.js';
import { fmt, groupBy, layerOf, parameterTensors, relChange, statsOfModel, sumCompare } from './helpers.js';
import { notApplicable, summaryFields, type NotApplicable } from './summary.js';
import type { Collected, SequenceAnalysis } from './types.js';

/** A change of the stored loss within ±LOSS_TOLERANCE (relative) over the last interval is a plateau. */
export const LOSS_TOLERANCE = 0.01;

/** Names the loss is stored under, preferred first. */
export const LOSS_KEYS = ['loss', 'val_loss', 'eval_loss', 'valid_loss', 'test_loss', 'train_loss'];

/** Top-level numbers of a checkpoint that are positions, not metrics. */
const COUNTERS = new Set(['epoch', 'step', 'global_step']);

/** The trend words when only the update sizes are known (from convergence's trendOf). */
export const UPDATE_TRENDS = {
  shrinking: 'settling',
  steady: 'steady',
  growing: 'accelerating',
  oscillating: 'oscillating',
  insufficient: 'insufficient',
} as const;

/**
 * Stored metrics of model `m`: top-level numeric entries of the checkpoint (`loss`,
 * `accuracy`, `best_acc` …, not `epoch`/`step`/`global_step`) and checkpoint scalars (a 0-d
 * `loss` tensor, role `scalar`), the latter's value as the engine read it.
 */
export function storedMetrics(c: Collected, m: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(c.models[m]!.leaves)) if (!key.includes('.') && !COUNTERS.has(key) && typeof value === 'number') out[key] = value;
  for (const t of statsOfModel(c.pairs, m)) if (t.role === 'scalar' && t.stats.mean !== null && !COUNTERS.has(t.desc.name)) out[t.desc.name] = t.stats.mean;
  return out;
}

/** Loss trend over the last interval that has a loss at both ends. */
function lossTrend(losses: Array<number | null>): { trend: 'improving' | 'plateau' | 'worsening'; change: number } | null {
  const known = losses.filter((x): x is number => x !== null);
  if (known.length < 2 || known.length < losses.length) return null;
  const prev = known.at(-2)!;
  const last = known.at(-1)!;
  const change = prev !== 0 ? (last - prev) / Math.abs(prev) : last === 0 ? 0 : Math.sign(last) * Infinity;
  return { trend: change < -LOSS_TOLERANCE ? 'improving' : change > LOSS_TOLERANCE ? 'worsening' : 'plateau', change };
}

const norm = (c: ComparePartial) => Math.sqrt(c.sumSqDiff);

/** ‖W_T − W_0‖ / Σ‖W_{k+1} − W_k‖ over the given names (1 for a straight path, null when nothing moved). */
function pathEfficiency(total: ComparePartial[], steps: ComparePartial[][]): number | null {
  const travelled = steps.reduce((s, parts) => s + norm(sumCompare(parts)), 0);
  return travelled > 0 ? norm(sumCompare(total)) / travelled : null;
}

export function learningProgress(c: Collected) {
  const n = c.models.length;
  const baseline = c.passes.baselineCompare!;
  const last = baseline.get(`0,${n - 1}`) ?? new Map<string, ComparePartial>();
  if (last.size === 0) return notApplicable('no parameter tensor is in the first and the last file with the same shape');
  const { spacing, positions } = checkpointPositions(c.models);
  const unit = spacing === 'checkpoint' ? 'checkpoint' : spacing;
  const span = positions[n - 1]! - positions[0]!;
  // Consecutive updates over parameters; path efficiency over the names every step and the endpoints compare.
  const steps = c.pairs.map((p) => new Map(parameterTensors(p).flatMap((t) => (t.cmp ? [[t.name, t.cmp] as const] : []))));
  const common = [...last.keys()].filter((name) => steps.every((s) => s.has(name)));
  const distances = c.models.map((_, j) => (j === 0 ? 0 : relChange(sumCompare(baseline.get(`0,${j}`)?.values() ?? []))));
  const magnitude = distances[n - 1]!;
  const speed = magnitude === null ? null : magnitude / span;
  // Two checkpoints make one straight step: its efficiency would be 1 by definition, so it is not reported.
  const efficiency =
    n > 2
      ? pathEfficiency(
          common.map((name) => last.get(name)!),
          steps.map((s) => common.map((name) => s.get(name)!)),
        )
      : null;
  const updateNorms = steps.map((s) => norm(sumCompare(s.values())));
  const relUpdates = steps.map((s) => relChange(sumCompare(s.values())));
  const perUnit = relUpdates.map((r, k) => (r === null ? null : r / (positions[k + 1]! - positions[k]!)));

  const metrics = c.models.map((_, m) => storedMetrics(c, m));
  const lossKey = LOSS_KEYS.find((k) => metrics.some((ms) => k in ms)) ?? null;
  const losses = metrics.map((ms) => (lossKey !== null && lossKey in ms ? ms[lossKey]! : null));
  const fromLoss = lossTrend(losses);
  const trend = fromLoss ? fromLoss.trend : UPDATE_TRENDS[trendOf(perUnit)];
  const trendSource = fromLoss ? 'loss' : 'update_size';

  const layers = [...groupBy(common, layerOf)]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .map(([layer, names]) => ({
      layer,
      distance_from_first: relChange(sumCompare(names.map((name) => last.get(name)!))),
      path_efficiency:
        n > 2
          ? pathEfficiency(
              names.map((name) => last.get(name)!),
              steps.map((s) => names.map((name) => s.get(name)!)),
            )
          : null,
    }));

  const data = {
    models: c.models.map((m) => m.path),
    trend,
    trend_source: trendSource,
    magnitude,
    speed,
    speed_unit: `per ${unit}`,
    path_efficiency: efficiency,
    spacing,
    positions,
    distance_from_first: distances,
    update_norms: updateNorms,
    rel_updates: relUpdates,
    rel_updates_per_unit: perUnit,
    loss_key: lossKey,
    losses,
    loss_change_last: fromLoss?.change ?? null,
    metrics,
    layers,
  };
  const seq = (xs: Array<number | null>) => xs.map(fmt).join(' -> ');
  const summary = summaryFields([
    ['trend', trend],
    ['magnitude', magnitude],
    ['speed', speed],
    ['efficiency', efficiency],
  ]);
  const details = [
    `checkpoints=${n} at ${spacing === 'checkpoint' ? 'positions' : `${spacing}s`} ${positions.join(', ')}; speed is the distance from the first per ${unit}`,
    fromLoss
      ? `trend from the stored ${lossKey}: ${seq(losses)} (last interval ${fmt(fromLoss.change)} relative)`
      : `trend from the update sizes per ${unit} (${lossKey === null ? 'no stored loss' : `${lossKey} not stored in every checkpoint`}): ${seq(perUnit)}`,
    `distance from the first ||W_t - W_0||/||W_0||: ${seq(distances)}`,
    `update ||dW|| per interval: ${seq(updateNorms)}; relative per ${unit}: ${seq(perUnit)}`,
    n === 2
      ? 'path efficiency: none for two checkpoints (one straight step is 1 by definition); give intermediate ones to measure it'
      : `path efficiency ||W_T - W_0|| / sum ||dW_k|| = ${fmt(efficiency)}`,
    ...layers.map((l) => `${l.layer}: distance ${fmt(l.distance_from_first)}, efficiency ${fmt(l.path_efficiency)}`),
  ];
  const x = positions.map(String);
  const series = [{ name: 'distance_from_first', x, values: distances }, ...(lossKey === null ? [] : [{ name: lossKey, x, values: losses }])];
  return { summary, details, data, series };
}

export type LearningProgressData = Exclude<ReturnType<typeof learningProgress>['data'], NotApplicable> | NotApplicable;

const plugin: SequenceAnalysis<LearningProgressData> = {
  key: 'LearningProgress',
  label: 'learning_progress',
  marker: '+',
  scope: 'sequence',
  needs: ['baselineCompare'],
  analyze: learningProgress,
};
export default plugin;
