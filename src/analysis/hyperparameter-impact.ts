/**
 * Hyperparameter impact (--hyperparameter-impact): the stored hyperparameters that differ
 * between A and B (optimizer param_groups, per-parameter step counts, epoch, global step,
 * argparse `args`, a Hugging Face config.json) beside the measured per-layer change. It
 * reports what differs and how much the weights moved; it makes no causal claim.
 */
import type { LeafValue, ModelDescription } from '../formats/types.js';
import { readHuggingFaceConfig, type Hyperparameters } from '../model/hyperparameters.js';
import { modelViewOf } from '../model/view.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { layerImpact } from './layer-impact.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData, PairTensor } from './types.js';

type Value = LeafValue | Record<string, unknown> | unknown[];

/**
 * The hyperparameters of one model as flat `name → value`: `<optimizer>.param_groups.<i>.<field>`
 * (lr, betas, eps, weight_decay, momentum and every other stored field; not the parameter
 * index lists), `<optimizer>.step` (the largest per-parameter step count, read from the 0-d
 * step tensors through the diff pass), `epoch`, `global_step`, `args.<name>`, `config.<key>`.
 */
export function flatHyperparameters(model: ModelDescription, hp: Hyperparameters, stepValue: (name: string) => number | undefined): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const o of hp.optimizers) {
    const prefix = o.path === '' ? '' : `${o.path}.`;
    for (const g of o.paramGroups) {
      const fields: Record<string, Value | undefined> = {
        lr: g.lr,
        betas: g.betas,
        eps: g.eps,
        weight_decay: g.weight_decay,
        momentum: g.momentum,
        ...g.other,
      };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) out.set(`${prefix}param_groups.${g.index}.${k}`, v);
    }
    const steps = o.steps.map((s) => s.value ?? (s.tensor === undefined ? undefined : stepValue(s.tensor))).filter((x): x is number => x !== undefined);
    if (steps.length > 0) out.set(`${prefix}step`, Math.max(...steps));
  }
  if (hp.epoch !== undefined) out.set('epoch', hp.epoch);
  if (hp.globalStep !== undefined) out.set('global_step', hp.globalStep);
  for (const [k, v] of Object.entries(hp.args ?? {})) out.set(`args.${k}`, v);
  const config = readHuggingFaceConfig(model.path);
  for (const [k, v] of Object.entries(config?.values ?? {})) out.set(`config.${k}`, v as Value);
  return out;
}

export interface HyperparameterChange {
  name: string;
  a: Value | null;
  b: Value | null;
  change: 'changed' | 'added' | 'removed';
  /** b / a when both are nonzero numbers. */
  ratio: number | null;
}

function stepReader(tensors: PairTensor[], side: 'a' | 'b'): (name: string) => number | undefined {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return (name) => {
    const s = byName.get(name)?.[side === 'a' ? 'statsA' : 'statsB'];
    return s?.max ?? undefined;
  };
}

export function hyperparameterImpact(c: Collected, p: PairData) {
  const ha = flatHyperparameters(p.a, modelViewOf(p.a).hyperparameters, stepReader(p.tensors, 'a'));
  const hb = flatHyperparameters(p.b, modelViewOf(p.b).hyperparameters, stepReader(p.tensors, 'b'));
  const names = [...new Set([...ha.keys(), ...hb.keys()])].sort();
  const changes: HyperparameterChange[] = [];
  for (const name of names) {
    const a = ha.get(name);
    const b = hb.get(name);
    if (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b)) continue;
    const ratio = typeof a === 'number' && typeof b === 'number' && a !== 0 ? b / a : null;
    changes.push({ name, a: a ?? null, b: b ?? null, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed', ratio });
  }
  const impact = layerImpact(c, p).data;
  const layers = impact.layers.map((l) => ({ layer: l.layer, rel_l2_change: l.rel_l2_change, share: l.share }));
  const data = {
    ...pairData(p),
    hyperparameters_a: ha.size,
    hyperparameters_b: hb.size,
    hyperparameters_changed: changes.length,
    changes,
    model_rel_l2_change: impact.model_rel_l2_change,
    layers,
    note: 'differences in stored hyperparameters beside the measured weight change; no causal attribution',
  };
  const summary = `${summaryFields([
    ['changed', `${changes.length}`],
    // short names (`lr`, `epoch`); the details and JSON give the full paths
    ['hyperparameters', changes.length > 0 ? [...new Set(changes.map((x) => x.name.slice(x.name.lastIndexOf('.') + 1)))].join('+') : 'none'],
    ['model_rel_l2_change', impact.model_rel_l2_change],
    ['most_changed_layer', layers.find((l) => (l.share ?? 0) > 0)?.layer ?? 'none'],
  ])}${pairLabel(c, p)}`;
  const show = (v: Value | null) => (v === null ? 'absent' : JSON.stringify(v));
  const details = [
    ha.size + hb.size === 0
      ? 'no stored hyperparameters in either file (optimizer param_groups, epoch, step, args, config.json)'
      : `stored hyperparameters: ${ha.size} in A, ${hb.size} in B`,
    ...changes.map((x) => `${x.name}: ${show(x.a)} -> ${show(x.b)}${x.ratio === null ? '' : ` (x${fmt(x.ratio)})`}`),
    ...layers.map((l) => `${l.layer}: rel_l2_change=${fmt(l.rel_l2_change)}, share=${fmt(l.share)}`),
    data.note,
  ];
  const table = { columns: ['hyperparameter', 'a', 'b', 'ratio'], rows: changes.map((x) => [x.name, show(x.a), show(x.b), x.ratio]) };
  return { summary, details, data, table };
}

export type HyperparameterImpactData = ReturnType<typeof hyperparameterImpact>['data'];

const plugin: PairAnalysis<HyperparameterImpactData> = {
  key: 'HyperparameterImpact',
  label: 'hyperparameter_impact',
  scope: 'pair',
  analyze: hyperparameterImpact,
};
export default plugin;
