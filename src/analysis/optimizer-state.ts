/**
 * Optimizer state as stored in a checkpoint (`<optimizer>.state.<index>.<buffer>`) and the
 * mapping of its indexes to parameter names, shared by --gradient-analysis and
 * --learning-rate-analysis (docs/analyses.md, "Mapping state to parameters").
 */
import { isFloat } from '../dtypes.js';
import type { Executor } from '../engine/executor.js';
import type { AdamStepResult } from '../engine/ops/adam-step.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import type { OptimizerHyperparameters, ParamGroup } from '../model/hyperparameters.js';
import { modelViewOf } from '../model/view.js';
import { statsOfModel } from './helpers.js';
import type { PairData } from './types.js';

export const STATE_BUFFER = /^(.*)\.state\.(\d+)\.(exp_avg|exp_avg_sq|max_exp_avg_sq|momentum_buffer|square_avg|acc_delta|sum)$/;

/** The buffers of one state index of the first optimizer found in a file. */
export interface StateBuffers {
  index: number;
  /** Buffer kind (`exp_avg`, `momentum_buffer` …) → its tensor. */
  buffers: Map<string, TensorDescriptor>;
}

export interface OptimizerBuffers {
  /** Dotted path of the optimizer state_dict ('' at top level). */
  prefix: string;
  entries: StateBuffers[];
  /** Its param_groups etc., when stored. */
  hyperparameters?: OptimizerHyperparameters;
}

/** The state buffers (role optimizer_state) of the file's first optimizer, by index; undefined without any. */
export function optimizerBuffers(model: ModelDescription): OptimizerBuffers | undefined {
  const view = modelViewOf(model);
  const entries = new Map<number, StateBuffers>();
  let prefix: string | undefined;
  for (const desc of model.tensors) {
    const m = STATE_BUFFER.exec(desc.name);
    if (!m || view.entries.get(desc.name)?.role !== 'optimizer_state') continue;
    prefix ??= m[1]!;
    if (m[1] !== prefix) continue; // one optimizer per file is mapped; others stay by index
    const index = Number(m[2]);
    const e = entries.get(index) ?? { index, buffers: new Map() };
    e.buffers.set(m[3]!, desc);
    entries.set(index, e);
  }
  if (prefix === undefined) return undefined;
  const hyperparameters = view.hyperparameters.optimizers.find((o) => o.path === prefix);
  return { prefix, entries: [...entries.values()].sort((x, y) => x.index - y.index), ...(hyperparameters ? { hyperparameters } : {}) };
}

/**
 * State index → parameter name. torch numbers the parameters an optimizer holds by their
 * position in the concatenated `param_groups[].params`; the optimizer was built from
 * `model.parameters()`, whose order is the state_dict's order of parameters (buffers left
 * out, a shared parameter once). The mapping holds only when the optimizer lists exactly as
 * many parameters as the model has, the file keeps the state_dict order (PyTorch pickles do;
 * safetensors sorts), and every buffer's shape matches its parameter. Otherwise nothing is
 * mapped and `refused` says why: an optimizer built over a subset (frozen layers left out)
 * cannot be told apart from one built over other parameters.
 */
export function mapStateToParameters(
  model: ModelDescription,
  prefix: string,
  entries: Array<{ index: number; shape: number[] }>,
): { params: Map<number, string>; refused: string | null } {
  const params = new Map<number, string>();
  const refuse = (refused: string) => ({ params: new Map<number, string>(), refused });
  const view = modelViewOf(model);
  const optimizer = view.hyperparameters.optimizers.find((o) => o.path === prefix);
  if (!optimizer || optimizer.paramGroups.length === 0)
    return refuse(`no param_groups beside ${prefix}.state: the parameter each state index belongs to is not recorded`);
  if (model.format !== 'pytorch') return refuse(`a ${model.format} file does not keep the state_dict order of the parameters`);
  const order = optimizer.paramGroups.flatMap((g) => g.params);
  const list = model.tensors.filter((t) => view.entries.get(t.name)?.role === 'parameter' && view.entries.get(t.name)?.tiedTo === undefined);
  if (order.length !== list.length) {
    return refuse(
      `the optimizer holds ${order.length} parameters and the model ${list.length}: it was built over a subset (frozen layers left out?) and the file does not say which`,
    );
  }
  const position = new Map(order.map((id, k) => [id, k]));
  for (const e of entries) {
    const k = position.get(e.index);
    const p = k === undefined ? undefined : list[k];
    if (!p) return refuse(`state index ${e.index} is not listed in param_groups`);
    if (p.shape.join() !== e.shape.join())
      return refuse(`state index ${e.index} has shape [${e.shape.join(', ')}] but parameter ${p.name} has [${p.shape.join(', ')}]`);
    params.set(e.index, p.name);
  }
  return { params, refused: null };
}

/** The update rules --learning-rate-analysis knows, told apart by the state buffers and param_groups keys torch stores. */
export type OptimizerKind = 'adam' | 'sgd';

/**
 * Adam/AdamW: `exp_avg` and `exp_avg_sq` with `amsgrad` in param_groups (RAdam and NAdam
 * keep the same buffers but no `amsgrad`, and step differently). SGD: `momentum_buffer`
 * without `square_avg` (RMSprop's) and with `nesterov` in param_groups. Otherwise the reason.
 */
export function optimizerKind(found: OptimizerBuffers): OptimizerKind | { reason: string } {
  const kinds = new Set(found.entries.flatMap((e) => [...e.buffers.keys()]));
  const groups = found.hyperparameters?.paramGroups ?? [];
  if (groups.length === 0) return { reason: `no param_groups beside ${found.prefix}.state: the learning rate is not stored` };
  const has = (key: string) => groups.every((g) => key in g.other);
  if (kinds.has('exp_avg') && kinds.has('exp_avg_sq')) {
    if (has('amsgrad')) return 'adam';
    return { reason: 'exp_avg/exp_avg_sq without amsgrad in param_groups: not Adam or AdamW (RAdam, NAdam?), whose step is not lr·m̂/(√v̂+ε)' };
  }
  if (kinds.has('momentum_buffer') && !kinds.has('square_avg') && has('nesterov')) return 'sgd';
  return { reason: `optimizer state ${[...kinds].sort().join('+')}: only Adam/AdamW and SGD with momentum are analysed` };
}

/** The param group holding state index `index`. */
export function groupOf(found: OptimizerBuffers, index: number): ParamGroup | undefined {
  return found.hyperparameters?.paramGroups.find((g) => g.params.includes(index));
}

/** The stored step count of state index `index` (a number, or a 0-d tensor whose value `tensorValue` gives). */
export function stepOf(found: OptimizerBuffers, index: number, tensorValue: (tensor: string) => number | undefined): number | undefined {
  const s = found.hyperparameters?.steps.find((x) => x.param === index);
  if (!s) return undefined;
  return s.value ?? (s.tensor === undefined ? undefined : tensorValue(s.tensor));
}

/** The buffer Adam divides by: max_exp_avg_sq under amsgrad, else exp_avg_sq. */
export function adamSecondMoment(e: StateBuffers, group: ParamGroup): TensorDescriptor | undefined {
  return group.other.amsgrad === true ? e.buffers.get('max_exp_avg_sq') : e.buffers.get('exp_avg_sq');
}

/**
 * The `adamSteps` pass: for every Adam/AdamW parameter state with a step count ≥ 1, the sums
 * of u = (m/bc1)/(√v/√bc2 + ε) over its elements (engine op `adamStep`), bc_i = 1 − β_i^step.
 */
export async function adamSteps(models: ModelDescription[], pairs: PairData[], executor: Executor): Promise<Map<number, Map<number, AdamStepResult>>> {
  const out = new Map<number, Map<number, AdamStepResult>>();
  for (let m = 0; m < models.length; m++) {
    const per = new Map<number, AdamStepResult>();
    out.set(m, per);
    const found = optimizerBuffers(models[m]!);
    if (!found || optimizerKind(found) !== 'adam') continue;
    const values = scalarValues(pairs, m);
    for (const e of found.entries) {
      const group = groupOf(found, e.index);
      const mom = e.buffers.get('exp_avg');
      const sec = group && adamSecondMoment(e, group);
      const t = stepOf(found, e.index, (n) => values.get(n));
      const [b1, b2] = group?.betas ?? [];
      if (!group || !mom || !sec || t === undefined || !(t >= 1) || b1 === undefined || b2 === undefined || group.eps === undefined) continue;
      if (mom.numel !== sec.numel || !isFloat(mom.dtype) || !isFloat(sec.dtype)) continue;
      const params = { invBc1: 1 / (1 - b1 ** t), invSqrtBc2: 1 / Math.sqrt(1 - b2 ** t), eps: group.eps };
      per.set(e.index, mom.numel === 0 ? { sumSq: 0, maxAbs: 0, nonFinite: 0, count: 0 } : await executor.run('adamStep', [mom, sec], params));
    }
  }
  return out;
}

/** Values of the single-element tensors of model `m` as the diff pass read them (0-d step counts). */
export function scalarValues(pairs: PairData[], m: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const { desc, stats } of statsOfModel(pairs, m)) if (desc.numel === 1 && stats.max !== null) out.set(desc.name, stats.max);
  return out;
}
