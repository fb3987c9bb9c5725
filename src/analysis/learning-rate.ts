/**
 * Learning-rate analysis (--learning-rate-analysis): the step the optimizer state of each
 * checkpoint says the optimizer takes, and the displacement per step measured between A and B
 * against it. Adam/AdamW: lr·m̂/(√v̂+ε) with torch's bias correction from the stored `step`;
 * SGD with momentum: lr·momentum_buffer. Without optimizer state it is not applicable: the
 * weight change alone is not a learning rate.
 */
import type { AdamStepResult } from '../engine/ops/adam-step.js';
import type { ModelDescription } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { fmt, layerOf, pairData, pairLabel, statsOfModel } from './helpers.js';
import {
  groupOf,
  mapStateToParameters,
  optimizerBuffers,
  optimizerKind,
  scalarValues,
  stepOf,
  type OptimizerBuffers,
  type OptimizerKind,
} from './optimizer-state.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export interface LayerStep {
  layer: string;
  /** ‖lr·u‖ over the layer's parameters (u: m̂/(√v̂+ε), or the momentum buffer). */
  effective_step_norm: number;
  /** effective_step_norm / √(elements). */
  effective_step_rms: number;
  weight_norm: number | null;
  /** effective_step_norm / weight_norm: the relative change one step makes. */
  relative_to_weight: number | null;
}

export interface SideSteps {
  file: string;
  optimizer: OptimizerKind;
  /** The checkpoint's step count: the optimizer's largest per-parameter `step`, else the stored global_step/step. */
  step: number | null;
  lr: number[];
  betas: number[] | null;
  eps: number | null;
  weight_decay: number | null;
  momentum: number | null;
  nesterov: boolean | null;
  effective_step_norm: number;
  effective_step_rms: number;
  relative_to_weight: number | null;
  /** Parameters whose state was used, and those left out (no step count, non-finite moments …). */
  parameters: number;
  skipped: string[];
  layers: LayerStep[];
}

interface ParamStep {
  name: string;
  sumSq: number;
  count: number;
}

/** The effective step of one checkpoint, or why it cannot be computed. */
function sideSteps(c: Collected, model: ModelDescription, m: number): SideSteps | { reason: string } {
  const found = optimizerBuffers(model);
  if (!found) return { reason: `${model.path} holds no optimizer state` };
  const kind = optimizerKind(found);
  if (typeof kind !== 'string') return kind;
  const shapes = found.entries.map((e) => ({ index: e.index, shape: [...e.buffers.values()][0]!.shape }));
  const { params, refused } = mapStateToParameters(model, found.prefix, shapes);
  if (refused) return { reason: `${model.path}: optimizer state not mapped to parameters: ${refused}` };
  const stats = new Map(statsOfModel(c.pairs, m).map((t) => [t.desc.name, t.stats]));
  const adam = c.passes.adamSteps?.get(m);
  const steps: ParamStep[] = [];
  const skipped: string[] = [];
  for (const e of found.entries) {
    const name = params.get(e.index)!;
    const group = groupOf(found, e.index);
    const lr = group?.lr;
    if (lr === undefined) {
      skipped.push(`${name}: no lr`);
      continue;
    }
    if (kind === 'adam') {
      const r: AdamStepResult | undefined = adam?.get(e.index);
      if (!r) skipped.push(`${name}: no step count or moments`);
      else if (r.nonFinite > 0) skipped.push(`${name}: ${r.nonFinite} non-finite moments`);
      else steps.push({ name, sumSq: lr * lr * r.sumSq, count: r.count });
    } else {
      const buf = e.buffers.get('momentum_buffer');
      const norm = buf ? stats.get(buf.name)?.l2_norm : undefined;
      if (!buf || norm === undefined || norm === null) skipped.push(`${name}: no momentum buffer read`);
      else steps.push({ name, sumSq: (lr * norm) ** 2, count: buf.numel });
    }
  }
  const weightNorm = (names: string[]) => {
    let s = 0;
    for (const n of names) {
      const v = stats.get(n)?.l2_norm;
      if (v === undefined || v === null) return null;
      s += v * v;
    }
    return Math.sqrt(s);
  };
  const byLayer = new Map<string, ParamStep[]>();
  for (const s of steps) byLayer.set(layerOf(s.name), [...(byLayer.get(layerOf(s.name)) ?? []), s]);
  const aggregate = (list: ParamStep[]) => {
    const sumSq = list.reduce((a, s) => a + s.sumSq, 0);
    const count = list.reduce((a, s) => a + s.count, 0);
    const w = weightNorm(list.map((s) => s.name));
    const norm = Math.sqrt(sumSq);
    return { effective_step_norm: norm, effective_step_rms: count > 0 ? Math.sqrt(sumSq / count) : 0, weight_norm: w, relative_to_weight: w ? norm / w : null };
  };
  const groups = found.hyperparameters?.paramGroups ?? [];
  const first = groups[0];
  const total = aggregate(steps);
  return {
    file: model.path,
    optimizer: kind,
    step: checkpointStep(found, model, scalarValues(c.pairs, m)),
    lr: [...new Set(groups.flatMap((g) => (g.lr === undefined ? [] : [g.lr])))],
    betas: first?.betas ?? null,
    eps: first?.eps ?? null,
    weight_decay: first?.weight_decay ?? null,
    momentum: first?.momentum ?? null,
    nesterov: typeof first?.other.nesterov === 'boolean' ? first.other.nesterov : null,
    effective_step_norm: total.effective_step_norm,
    effective_step_rms: total.effective_step_rms,
    relative_to_weight: total.relative_to_weight,
    parameters: steps.length,
    skipped,
    layers: [...byLayer].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([layer, list]) => ({ layer, ...aggregate(list) })),
  };
}

function checkpointStep(found: OptimizerBuffers, model: ModelDescription, values: Map<string, number>): number | null {
  const steps = found.entries.map((e) => stepOf(found, e.index, (n) => values.get(n))).filter((x): x is number => x !== undefined);
  if (steps.length > 0) return Math.max(...steps);
  return modelViewOf(model).hyperparameters.globalStep ?? null;
}

export function learningRateAnalysis(c: Collected, p: PairData) {
  const a = sideSteps(c, p.a, p.ia);
  const b = sideSteps(c, p.b, p.ib);
  const sa = 'optimizer' in a ? a : null;
  const sb = 'optimizer' in b ? b : null;
  if (!sa && !sb) {
    const ra = (a as { reason: string }).reason;
    const rb = (b as { reason: string }).reason;
    const none = ra.endsWith('holds no optimizer state') && rb.endsWith('holds no optimizer state');
    return notApplicable(
      none ? 'no optimizer state in either file: the weight change alone is not a learning rate' : ra === rb || ra.endsWith('no optimizer state') ? rb : ra,
    );
  }
  const main = (sb ?? sa)!;
  // The measured displacement per step between A and B, against B's effective step (the state that made B's last update).
  const dt = sa?.step !== null && sa?.step !== undefined && sb?.step !== null && sb?.step !== undefined ? sb.step - sa.step : null;
  const cmp = new Map(p.tensors.filter((t) => t.cmp).map((t) => [t.name, t.cmp!]));
  const displacementOf = (layer: string | null) => {
    if (!sb || !dt || dt <= 0) return null;
    const names = [...cmp.keys()].filter((n) => (layer === null ? sb.layers.some((l) => l.layer === layerOf(n)) : layerOf(n) === layer));
    if (names.length === 0) return null;
    return Math.sqrt(names.reduce((s, n) => s + cmp.get(n)!.sumSqDiff, 0)) / dt;
  };
  const displacement = displacementOf(null);
  const ratio = (d: number | null, step: number) => (d !== null && step > 0 ? d / step : null);
  const layers = (sb?.layers ?? []).map((l) => {
    const d = displacementOf(l.layer);
    return { layer: l.layer, displacement_per_step: d, displacement_to_step: ratio(d, l.effective_step_norm) };
  });
  const lrText = sa && sb && sa.lr.join() !== sb.lr.join() ? `${sa.lr.map(fmt).join('+')}->${sb.lr.map(fmt).join('+')}` : main.lr.map(fmt).join('+');
  const data = {
    ...pairData(p),
    a: sa ?? { file: p.a.path, applicable: false, reason: (a as { reason: string }).reason },
    b: sb ?? { file: p.b.path, applicable: false, reason: (b as { reason: string }).reason },
    steps_between: dt,
    displacement_per_step: displacement,
    displacement_to_step: ratio(displacement, sb?.effective_step_norm ?? 0),
    layers,
  };
  const summary = `${summaryFields([
    ['optimizer', main.optimizer],
    ['lr', lrText],
    ['step_rms', main.effective_step_rms],
    ['rel_step', main.relative_to_weight],
    ['steps', dt === null ? 'none' : `${dt}`],
    ['displacement_to_step', data.displacement_to_step],
  ])}${pairLabel(c, p)}`;
  const details: string[] = [];
  for (const s of [sa, sb]) {
    if (!s) continue;
    details.push(
      `${s.file}: ${s.optimizer} at step ${s.step ?? 'none'}, lr=${s.lr.map(fmt).join('+')}, effective step norm=${fmt(s.effective_step_norm)}, rms=${fmt(s.effective_step_rms)}, relative to weights=${fmt(s.relative_to_weight)}`,
    );
    if (s.optimizer === 'adam' && (s.weight_decay ?? 0) > 0)
      details.push(
        `  weight_decay=${fmt(s.weight_decay)}: the file does not say Adam (decay inside m and v) or AdamW (an extra lr·λ·W per step, not included)`,
      );
    if (s.optimizer === 'sgd' && s.nesterov) details.push('  nesterov: the step is lr·(g + μ·buf); the gradient g is not stored, so lr·buf is shown');
    for (const k of s.skipped) details.push(`  skipped ${k}`);
  }
  for (const r of [a, b]) if ('reason' in r) details.push(`not computed: ${r.reason}`);
  for (const l of main.layers) {
    const d = layers.find((x) => x.layer === l.layer);
    details.push(
      `${l.layer}: step_rms=${fmt(l.effective_step_rms)}, rel_step=${fmt(l.relative_to_weight)}${d ? `, displacement_per_step=${fmt(d.displacement_per_step)}, displacement_to_step=${fmt(d.displacement_to_step)}` : ''}`,
    );
  }
  const table = {
    columns: ['layer', 'effective_step_rms', 'relative_to_weight', 'displacement_to_step'],
    rows: main.layers.map((l) => [l.layer, l.effective_step_rms, l.relative_to_weight, layers.find((x) => x.layer === l.layer)?.displacement_to_step ?? null]),
  };
  return { summary, details, data, table };
}

export type LearningRateData = ReturnType<typeof learningRateAnalysis>['data'];

const plugin: PairAnalysis<LearningRateData> = {
  key: 'LearningRateAnalysis',
  label: 'learning_rate_analysis',
  scope: 'pair',
  needs: ['adamSteps'],
  analyze: learningRateAnalysis,
};
export default plugin;
