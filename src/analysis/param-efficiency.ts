/**
 * Parameter efficiency (--param-efficiency-analysis): per model, parameters (each tie once,
 * buffers apart), embedding vs non-embedding parameters, bytes per parameter, and per weight
 * matrix the stable rank ‖W‖²_F/‖W‖²₂ (‖W‖₂ by power iteration over the engine's matvec) and
 * the effective rank where all singular values are computable (src/analysis/spectra.ts).
 */
import type { ModelDescription } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { isAnyEmbedding } from './embeddings.js';
import { fmt, pairData, pairLabel, statsOfModel } from './helpers.js';
import { matrixDims } from './linear-operator.js';
import { GRAM_MAX_DIM } from './gram-spectrum.js';
import { weightMatrices } from './spectra.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export interface MatrixRank {
  name: string;
  /** [rows, cols] of W viewed as [shape0, rest]. */
  matrix: [number, number];
  frobenius_norm: number | null;
  spectral_norm: number | null;
  /** ‖W‖²_F / ‖W‖²₂: between 1 and min(rows, cols). */
  stable_rank: number | null;
  /** exp(entropy of σ_i/Σσ) (Roy & Vetterli 2007); null when min(rows, cols) > GRAM_MAX_DIM. */
  effective_rank: number | null;
  max_rank: number;
  /** How ‖W‖₂ was found: `gram` (every singular value) or `power_iteration`. */
  method: 'gram' | 'power_iteration' | null;
  power_iterations: number | null;
  converged: boolean | null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function modelEfficiency(c: Collected, model: ModelDescription, m: number) {
  const view = modelViewOf(model);
  const totals = view.totals();
  const params = model.tensors.filter((t) => view.entries.get(t.name)?.role === 'parameter' && view.entries.get(t.name)?.tiedTo === undefined);
  const embedding = params.filter((t) => isAnyEmbedding(model, t.name)).reduce((s, t) => s + t.numel, 0);
  const stats = new Map(statsOfModel(c.pairs, m).map((t) => [t.desc.name, t.stats]));
  const spectral = c.passes.spectralNorms?.get(m);
  const matrices: MatrixRank[] = weightMatrices(model).map((w) => {
    const [rows, cols] = matrixDims(w);
    const fro = stats.get(w.name)?.l2_norm ?? null;
    const s = spectral?.get(w.name);
    const sigma = s?.sigma ?? null;
    return {
      name: w.name,
      matrix: [rows, cols],
      frobenius_norm: fro,
      spectral_norm: sigma,
      stable_rank: fro !== null && sigma ? (fro * fro) / (sigma * sigma) : null,
      effective_rank: s?.effectiveRank ?? null,
      method: s?.method ?? null,
      max_rank: Math.min(rows, cols),
      power_iterations: s?.iterations ?? null,
      converged: s?.converged ?? null,
    };
  });
  const stable = matrices.flatMap((x) => (x.stable_rank === null ? [] : [x.stable_rank]));
  const parameters = totals.parameter.elements;
  return {
    file: model.path,
    params: parameters,
    embedding_params: embedding,
    non_embedding_params: parameters - embedding,
    buffer_elements: totals.buffer.elements,
    param_bytes: totals.parameter.bytes,
    bytes_per_param: parameters > 0 ? totals.parameter.bytes / parameters : null,
    weight_matrices: matrices.length,
    median_stable_rank: median(stable),
    /** Median of stable rank / max rank: the share of each matrix's possible rank its energy spreads over. */
    median_stable_rank_ratio: median(matrices.flatMap((x) => (x.stable_rank === null ? [] : [x.stable_rank / x.max_rank]))),
    matrices,
  };
}

export function paramEfficiency(c: Collected, p: PairData) {
  const a = modelEfficiency(c, p.a, p.ia);
  const b = modelEfficiency(c, p.b, p.ib);
  const data = {
    ...pairData(p),
    model_a: a,
    model_b: b,
    params_ratio: a.params > 0 ? b.params / a.params : null,
    bytes_ratio: a.param_bytes > 0 ? b.param_bytes / a.param_bytes : null,
    effective_rank_max_dim: GRAM_MAX_DIM,
  };
  const arrow = (x: number | null, y: number | null, int = false) => (int ? `${x}->${y}` : `${fmt(x)}->${fmt(y)}`);
  const summary = `${summaryFields([
    ['params', arrow(a.params, b.params, true)],
    ['non_embedding', arrow(a.non_embedding_params, b.non_embedding_params, true)],
    ['bytes_per_param', arrow(a.bytes_per_param, b.bytes_per_param)],
    ['median_stable_rank', arrow(a.median_stable_rank, b.median_stable_rank)],
  ])}${pairLabel(c, p)}`;
  const details: string[] = [];
  for (const m of [a, b]) {
    details.push(
      `${m.file}: params=${m.params} (embedding ${m.embedding_params}, non-embedding ${m.non_embedding_params}), buffers=${m.buffer_elements} elements, ${fmt(m.bytes_per_param)} bytes/param, ${m.weight_matrices} weight matrices, median stable rank ${fmt(m.median_stable_rank)} (${fmt(m.median_stable_rank_ratio)} of the maximum)`,
    );
  }
  const names = [...new Set([...a.matrices, ...b.matrices].map((x) => x.name))].sort();
  const find = (m: typeof a, n: string) => m.matrices.find((x) => x.name === n);
  for (const n of names) {
    const x = find(a, n);
    const y = find(b, n);
    details.push(
      `${n}: stable_rank=${fmt(x?.stable_rank)}->${fmt(y?.stable_rank)}, effective_rank=${fmt(x?.effective_rank)}->${fmt(y?.effective_rank)}, max_rank=${(y ?? x)!.max_rank}`,
    );
  }
  if (!c.passes.spectralNorms) details.push('ranks not computed: tensor values were not read (--shape-only)');
  const table = {
    columns: ['matrix', 'stable_rank_a', 'stable_rank_b', 'effective_rank_a', 'effective_rank_b', 'max_rank'],
    rows: names.map((n) => [
      n,
      find(a, n)?.stable_rank ?? null,
      find(b, n)?.stable_rank ?? null,
      find(a, n)?.effective_rank ?? null,
      find(b, n)?.effective_rank ?? null,
      (find(b, n) ?? find(a, n))!.max_rank,
    ]),
    chart: { columns: ['stable_rank_a', 'stable_rank_b'] },
  };
  return { summary, details, data, table };
}

export type ParamEfficiencyData = ReturnType<typeof paramEfficiency>['data'];

const plugin: PairAnalysis<ParamEfficiencyData> = {
  key: 'ParamEfficiencyAnalysis',
  label: 'param_efficiency_analysis',
  scope: 'pair',
  needs: ['spectralNorms'],
  analyze: paramEfficiency,
};
export default plugin;
