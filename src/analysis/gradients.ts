/**
 * Gradient analysis (--gradient-analysis): per layer norms of the optimizer state (exp_avg,
 * exp_avg_sq, momentum) when a checkpoint holds it; otherwise the update dW = B − A, labelled so.
 */
import type { ModelDescription } from '../formats/types.js';
import { fmt, groupBy, layerOf, pairData, pairLabel, parameterTensors, relChange, statsOfModel, sumCompare, type ModelTensor } from './helpers.js';
import { mapStateToParameters, optimizerBuffers } from './optimizer-state.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export interface StateEntry {
  index: number;
  param: string | null;
  norms: Record<string, number | null>;
}

/** The optimizer buffers of one model, and how (or why not) their indexes map to parameters. */
export interface OptimizerState {
  entries: StateEntry[];
  /** Set when the indexes could not be mapped to parameters: why. */
  refused: string | null;
}

/** Optimizer buffer norms by state index, mapped to parameter names (src/analysis/optimizer-state.ts). */
function optimizerState(model: ModelDescription, tensors: ModelTensor[]): OptimizerState {
  const stats = new Map(tensors.map((t) => [t.desc.name, t.stats]));
  const found = optimizerBuffers(model);
  if (!found) return { entries: [], refused: null };
  const entries = found.entries
    .map((e) => ({ e, norms: Object.fromEntries([...e.buffers].flatMap(([kind, d]) => (stats.has(d.name) ? [[kind, stats.get(d.name)!.l2_norm]] : []))) }))
    .filter((x) => Object.keys(x.norms).length > 0);
  if (entries.length === 0) return { entries: [], refused: null };
  const shapes = entries.map(({ e }) => ({ index: e.index, shape: [...e.buffers.values()][0]!.shape }));
  const { params, refused } = mapStateToParameters(model, found.prefix, shapes);
  return { entries: entries.map(({ e, norms }) => ({ index: e.index, param: params.get(e.index) ?? null, norms })), refused };
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
  const optA = optimizerState(p.a, statsOfModel([p], p.ia));
  const optB = optimizerState(p.b, statsOfModel([p], p.ib));
  const stateA = optA.entries;
  const stateB = optB.entries;
  if (stateA.length > 0 || stateB.length > 0) {
    const la = layerNorms(stateA);
    const lb = layerNorms(stateB);
    const names = [...new Set([...la.keys(), ...lb.keys()])].sort();
    const buffers = [...new Set([...stateA, ...stateB].flatMap((e) => Object.keys(e.norms)))].sort();
    const layers = names.map((layer) => ({ layer, a: la.get(layer) ?? null, b: lb.get(layer) ?? null }));
    const mapped = Math.max(stateA.filter((e) => e.param).length, stateB.filter((e) => e.param).length);
    const refused = optB.refused ?? optA.refused;
    const data = {
      ...pairData(p),
      source: 'optimizer_state',
      buffers,
      mapped_to_parameters: mapped,
      state_entries: Math.max(stateA.length, stateB.length),
      mapping_refused: refused,
      state_a: stateA,
      state_b: stateB,
      layers,
    };
    const summary = `${summaryFields([
      ['source', 'optimizer_state'],
      ['buffers', buffers.join('+')],
      ['layers', `${names.length}`],
      ['mapped_to_parameters', `${mapped}/${data.state_entries}`],
    ])}${pairLabel(c, p)}`;
    const details = [
      ...(refused ? [`not mapped to parameters: ${refused}; reported by state index`] : []),
      ...layers.map((l) => `${l.layer}: ${buffers.map((k) => `${k}_norm=${fmt(l.a?.[k])}->${fmt(l.b?.[k])}`).join(', ')}`),
    ];
    const table = {
      columns: ['layer', ...buffers.flatMap((k) => [`${k}_norm_a`, `${k}_norm_b`])],
      rows: layers.map((l) => [l.layer, ...buffers.flatMap((k) => [l.a?.[k] ?? null, l.b?.[k] ?? null])]),
    };
    return { summary, details, data, table };
  }
  // No optimizer state: the update ΔW = B − A per layer, labelled as such.
  const compared = parameterTensors(p).filter((t) => t.cmp);
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
  const summary = `${summaryFields([
    ['source', 'parameter_update'],
    ['update_norm', data.update_norm],
    ['rel_update', data.rel_update],
  ])}${pairLabel(c, p)}`;
  const details = ['no optimizer state in either file: these are the updates dW = B - A, not gradients'];
  details.push(...layers.map((l) => `${l.layer}: update_norm=${fmt(l.update_norm)}, rel_update=${fmt(l.rel_update)}, max_abs_update=${fmt(l.max_abs_update)}`));
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
