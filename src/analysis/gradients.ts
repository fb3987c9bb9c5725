/**
 * Gradient analysis (--gradient-analysis): per layer norms of the optimizer state (exp_avg,
 * exp_avg_sq, momentum) when a checkpoint holds it; otherwise the update dW = B − A, labelled so.
 */
import type { TensorStats } from '../diff/types.js';
import type { TensorDescriptor } from '../formats/types.js';
import { fmt, groupBy, isOptimizerState, isParameter, layerOf, pairData, pairLabel, relChange, statsOfModel, sumCompare } from './helpers.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

const BUFFER = /^(.*)\.(\d+)\.(exp_avg|exp_avg_sq|max_exp_avg_sq|momentum_buffer|square_avg|acc_delta|sum)$/;

export interface StateEntry {
  index: number;
  param: string | null;
  norms: Record<string, number | null>;
}

/** Optimizer buffers of one model by state index, mapped to parameters by order and shape. */
function optimizerState(tensors: Array<{ desc: TensorDescriptor; stats: TensorStats }>, order: TensorDescriptor[]): StateEntry[] {
  const entries = new Map<number, StateEntry & { shape: number[] }>();
  for (const { desc, stats } of tensors) {
    const m = BUFFER.exec(desc.name);
    if (!m || !isOptimizerState(desc.name)) continue;
    const index = Number(m[2]);
    const e = entries.get(index) ?? { index, param: null, norms: {}, shape: desc.shape };
    e.norms[m[3]!] = stats.l2_norm;
    entries.set(index, e);
  }
  // torch numbers parameters in model.parameters() order: the float tensors of the state
  // dict that are not buffers (running statistics). A mapping is kept only if shapes agree.
  const params = order.filter((t) => isParameter(t) && !/(running_mean|running_var)$/.test(t.name));
  for (const e of entries.values()) {
    const p = params[e.index];
    if (p && JSON.stringify(p.shape) === JSON.stringify(e.shape)) e.param = p.name;
  }
  return [...entries.values()].sort((x, y) => x.index - y.index).map(({ shape: _s, ...rest }) => rest);
}

function layerNorms(entries: StateEntry[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const e of entries) {
    const layer = e.param ? layerOf(e.param) : `state.${e.index}`;
    const acc = out.get(layer) ?? {};
    for (const [k, v] of Object.entries(e.norms)) if (v !== null) acc[k] = (acc[k] ?? 0) + v * v;
    out.set(layer, acc);
  }
  for (const acc of out.values()) for (const k of Object.keys(acc)) acc[k] = Math.sqrt(acc[k]!);
  return out;
}

export function gradientAnalysis(c: Collected, p: PairData) {
  const order = (m: 'a' | 'b') => (m === 'a' ? p.a : p.b).tensors;
  const stateA = optimizerState(statsOfModel([p], p.ia), order('a'));
  const stateB = optimizerState(statsOfModel([p], p.ib), order('b'));
  if (stateA.length > 0 || stateB.length > 0) {
    const la = layerNorms(stateA);
    const lb = layerNorms(stateB);
    const names = [...new Set([...la.keys(), ...lb.keys()])].sort();
    const buffers = [...new Set([...stateA, ...stateB].flatMap((e) => Object.keys(e.norms)))].sort();
    const layers = names.map((layer) => ({ layer, a: la.get(layer) ?? null, b: lb.get(layer) ?? null }));
    const data = { ...pairData(p), source: 'optimizer_state', buffers, state_a: stateA, state_b: stateB, layers };
    const summary = `source=optimizer_state (${buffers.join(', ')}), layers=${names.length}, mapped_to_parameters=${stateB.filter((e) => e.param).length || stateA.filter((e) => e.param).length}/${Math.max(stateA.length, stateB.length)}${pairLabel(c, p)}`;
    const details = layers.map((l) => `${l.layer}: ${buffers.map((k) => `${k}_norm=${fmt(l.a?.[k])}->${fmt(l.b?.[k])}`).join(', ')}`);
    const table = {
      columns: ['layer', ...buffers.flatMap((k) => [`${k}_norm_a`, `${k}_norm_b`])],
      rows: layers.map((l) => [l.layer, ...buffers.flatMap((k) => [l.a?.[k] ?? null, l.b?.[k] ?? null])]),
    };
    return { summary, details, data, table };
  }
  // No optimizer state: the update ΔW = B − A per layer, labelled as such.
  const compared = p.tensors.filter((t) => t.cmp && isParameter(t.a));
  const layers = [...groupBy(compared, (t) => layerOf(t.name))]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .map(([layer, ts]) => {
      const cmp = sumCompare(ts.map((t) => t.cmp!));
      return { layer, update_norm: Math.sqrt(cmp.sumSqDiff), rel_update: relChange(cmp), max_abs_update: cmp.pairs > 0 ? cmp.maxAbs : null };
    });
  const total = sumCompare(compared.map((t) => t.cmp!));
  const data = {
    ...pairData(p),
    source: 'parameter_update',
    update_norm: compared.length > 0 ? Math.sqrt(total.sumSqDiff) : null,
    rel_update: compared.length > 0 ? relChange(total) : null,
    layers,
  };
  const summary = `source=parameter_update (no optimizer state in either file; these are dW = B - A, not gradients), update_norm=${fmt(data.update_norm)}, rel_update=${fmt(data.rel_update)}${pairLabel(c, p)}`;
  const details = layers.map((l) => `${l.layer}: update_norm=${fmt(l.update_norm)}, rel_update=${fmt(l.rel_update)}, max_abs_update=${fmt(l.max_abs_update)}`);
  const table = {
    columns: ['layer', 'update_norm', 'rel_update', 'max_abs_update'],
    rows: layers.map((l) => [l.layer, l.update_norm, l.rel_update, l.max_abs_update]),
  };
  return { summary, details, data, table };
}

export type GradientData = ReturnType<typeof gradientAnalysis>['data'];

const plugin: PairAnalysis<GradientData> = {
  key: 'GradientAnalysis',
  label: 'gradient_analysis',
  scope: 'pair',
  analyze: gradientAnalysis,
};
export default plugin;
