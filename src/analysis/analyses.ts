/**
 * The ML analyses (docs/analyses.md): each turns what the diff pass measured into one
 * entry with a summary line, detail lines and a JSON object. Definitions and thresholds
 * are the documented ones; no number here is a constant or comes from a file name.
 */
import { dtypeInfo, isFloat } from '../dtypes.js';
import type { ComparePartial } from '../engine/partials.js';
import type { TensorDescriptor } from '../formats/types.js';
import type { TensorStats } from '../diff/types.js';
import {
  type Collected, type PairData, type PairTensor, bytesOf, isOptimizerState, isParameter, layerOf, statsOfModel, sumCompare,
} from './collect.js';

export interface AnalysisEntry {
  /** JSON/YAML key, e.g. `QuantizationAnalysis`. */
  key: string;
  /** Text label, e.g. `quantization_analysis`. */
  label: string;
  summary: string;
  details: string[];
  data: Record<string, unknown>;
}

// ------------------------------------------------------------------------------ helpers

/** 4 decimals, or 4 significant digits in exponent form for small magnitudes. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'none';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(3);
  if (Math.abs(x) >= 1e7) return x.toExponential(4);
  return x.toFixed(4);
}

function pct(x: number | null): string {
  return x === null ? 'none' : `${(x * 100).toFixed(2)}%`;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

function relChange(c: ComparePartial): number | null {
  return c.sumAA > 0 ? Math.sqrt(c.sumSqDiff / c.sumAA) : c.sumSqDiff === 0 ? 0 : null;
}

function cosine(c: ComparePartial): number | null {
  return c.sumAA > 0 && c.sumBB > 0 ? Math.min(1, Math.max(-1, c.sumAB / Math.sqrt(c.sumAA * c.sumBB))) : null;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it); else m.set(k, [it]);
  }
  return m;
}

function pairLabel(c: Collected, p: PairData): string {
  return c.models.length > 2 ? ` (${p.a.path} -> ${p.b.path})` : '';
}

function pairData(p: PairData): Record<string, unknown> {
  return { a: p.a.path, b: p.b.path };
}

function sorted<T>(xs: T[], by: (t: T) => number): T[] {
  return [...xs].sort((x, y) => by(y) - by(x));
}

// ------------------------------------------------------------------------------ quantization

/** SQNR thresholds (dB), highest first: the precision-loss category of an SQNR. */
export const PRECISION_LOSS: Array<[number, string]> = [[60, 'negligible'], [40, 'minimal'], [25, 'moderate'], [10, 'significant'], [-Infinity, 'severe']];

export function precisionLoss(sqnr: number | null, lossless: boolean): string {
  if (lossless) return 'lossless';
  if (sqnr === null) return 'unknown';
  return PRECISION_LOSS.find(([t]) => sqnr >= t)![1];
}

function sqnrOf(c: ComparePartial): number | null {
  return c.sumSqDiff > 0 && c.sumAA > 0 ? 10 * Math.log10(c.sumAA / c.sumSqDiff) : null;
}

export function quantizationAnalysis(c: Collected, p: PairData): AnalysisEntry {
  // Re-typed or re-quantized tensors, and tensors whose values were snapped to a grid in place.
  const requantized = p.tensors.filter((t) => t.a && t.b && (t.grid !== undefined || t.a.dtype !== t.b.dtype || JSON.stringify(t.a.quantization ?? null) !== JSON.stringify(t.b.quantization ?? null)));
  const tensors = requantized.map((t) => {
    const a = t.a!;
    const b = t.b!;
    const cmp = t.cmp;
    const lossless = cmp !== undefined && cmp.sumSqDiff === 0 && cmp.mismatched === 0;
    const sqnr = cmp ? sqnrOf(cmp) : null;
    return {
      name: t.name,
      dtype_a: a.dtype, dtype_b: b.dtype,
      scheme_a: a.quantization?.scheme ?? null,
      scheme_b: b.quantization?.scheme ?? (t.grid ? `${t.grid.scheme}_int${t.grid.bits}_grid` : null),
      bits_a: dtypeInfo(a.dtype).bits, bits_b: dtypeInfo(b.dtype).bits,
      /** Bits of information per value when B was snapped to a grid (its storage is unchanged). */
      effective_bits_b: t.grid ? t.grid.bits : dtypeInfo(b.dtype).bits,
      grid: t.grid ? { bits: t.grid.bits, scheme: t.grid.scheme, step: t.grid.step, residual_steps: t.grid.residual } : null,
      bytes_a: bytesOf(a), bytes_b: bytesOf(b),
      max_abs_error: cmp && cmp.pairs > 0 ? cmp.maxAbs : null,
      rmse: cmp && cmp.pairs > 0 ? Math.sqrt(cmp.sumSqDiff / cmp.pairs) : null,
      sqnr_db: sqnr,
      cosine_similarity: cmp ? cosine(cmp) : null,
      nonfinite_mismatches: cmp ? cmp.mismatched : null,
      precision_loss: cmp ? precisionLoss(sqnr, lossless) : 'unknown',
      _cmp: cmp,
    };
  });
  const bytesA = tensors.reduce((s, t) => s + t.bytes_a, 0);
  const bytesB = tensors.reduce((s, t) => s + t.bytes_b, 0);
  const compared = tensors.filter((t) => t._cmp).map((t) => t._cmp!);
  const all = sumCompare(compared);
  const lossless = compared.length > 0 && all.sumSqDiff === 0 && all.mismatched === 0;
  const sqnr = compared.length > 0 ? sqnrOf(all) : null;
  const worst = [...tensors].filter((t) => t._cmp).sort((x, y) => (x.sqnr_db ?? Infinity) - (y.sqnr_db ?? Infinity)).slice(0, 3).map((t) => t.name);
  const transitions: Record<string, number> = {};
  for (const t of tensors) {
    const k = `${t.scheme_a ?? t.dtype_a}->${t.scheme_b ?? t.dtype_b}`;
    transitions[k] = (transitions[k] ?? 0) + 1;
  }
  const data = {
    ...pairData(p),
    tensors_requantized: tensors.length,
    transitions,
    bytes_a: bytesA, bytes_b: bytesB,
    compression_ratio: bytesB > 0 ? bytesA / bytesB : null,
    size_ratio: bytesA > 0 ? bytesB / bytesA : null,
    max_abs_error: compared.length > 0 && all.pairs > 0 ? all.maxAbs : null,
    rmse: all.pairs > 0 ? Math.sqrt(all.sumSqDiff / all.pairs) : null,
    sqnr_db: sqnr,
    cosine_similarity: compared.length > 0 ? cosine(all) : null,
    precision_loss: compared.length > 0 ? precisionLoss(sqnr, lossless) : 'unknown',
    worst_tensors: worst,
    tensors: tensors.map(({ _cmp, ...rest }) => rest),
  };
  if (tensors.length === 0) {
    return { key: 'QuantizationAnalysis', label: 'quantization_analysis', summary: `no tensor changed dtype or quantization, and none was snapped to a grid${pairLabel(c, p)}`, details: [], data };
  }
  const summary = `compression=${fmt(data.compression_ratio)}x, size_ratio=${fmt(data.size_ratio)}, bytes=${bytesA}->${bytesB}, sqnr=${sqnr === null ? 'none' : sqnr.toFixed(2) + 'dB'}, precision_loss=${data.precision_loss}, tensors=${tensors.length}${pairLabel(c, p)}`;
  const details = [
    `transitions: ${Object.entries(transitions).map(([k, v]) => `${k} (${v})`).join(', ')}`,
    ...[...data.tensors].sort((x, y) => (x.sqnr_db ?? Infinity) - (y.sqnr_db ?? Infinity)).map((t) =>
      `${t.name}: ${t.dtype_a}->${t.dtype_b} (${t.bits_a}->${t.grid ? `${t.grid.bits} effective bits, ${t.grid.scheme} grid step=${fmt(t.grid.step)}` : `${t.bits_b} bits`}), bytes=${t.bytes_a}->${t.bytes_b}, max_abs_error=${fmt(t.max_abs_error)}, rmse=${fmt(t.rmse)}, sqnr=${t.sqnr_db === null ? 'none' : t.sqnr_db.toFixed(2) + 'dB'}, cosine=${fmt(t.cosine_similarity)}, precision_loss=${t.precision_loss}`),
    `worst: ${worst.join(', ') || 'none'}`,
  ];
  return { key: 'QuantizationAnalysis', label: 'quantization_analysis', summary, details, data };
}

// ------------------------------------------------------------------------------ layer impact

export function layerImpact(c: Collected, p: PairData): AnalysisEntry {
  const groups = groupBy(p.tensors.filter((t) => isParameter(t.a ?? t.b)), (t) => layerOf(t.name));
  const comparedAll = p.tensors.filter((t) => t.cmp && isParameter(t.a));
  const total = sumCompare(comparedAll.map((t) => t.cmp!));
  const layers = [...groups].map(([layer, ts]) => {
    const compared = ts.filter((t) => t.cmp);
    const cmp = sumCompare(compared.map((t) => t.cmp!));
    const structural = ts.filter((t) => !t.a || !t.b || JSON.stringify(t.a.shape) !== JSON.stringify(t.b.shape)).map((t) => t.name);
    return {
      layer,
      rel_l2_change: compared.length > 0 ? relChange(cmp) : null,
      share: total.sumSqDiff > 0 && compared.length > 0 ? cmp.sumSqDiff / total.sumSqDiff : null,
      l2_change: compared.length > 0 ? Math.sqrt(cmp.sumSqDiff) : null,
      params: ts.reduce((s, t) => s + (t.b ?? t.a)!.numel, 0),
      changed_elements: cmp.changed,
      tensors: ts.map((t) => t.name),
      not_compared: structural,
    };
  });
  const ranked = layers.sort((x, y) => (y.share ?? -1) - (x.share ?? -1) || (y.rel_l2_change ?? -1) - (x.rel_l2_change ?? -1) || (x.layer < y.layer ? -1 : 1));
  const changed = ranked.filter((l) => l.changed_elements > 0 || l.not_compared.length > 0);
  const modelRel = comparedAll.length > 0 ? relChange(total) : null;
  const data = { ...pairData(p), layers_total: ranked.length, layers_changed: changed.length, model_rel_l2_change: modelRel, layers: ranked };
  const summary = `layers=${ranked.length}, changed=${changed.length}, model_rel_l2_change=${fmt(modelRel)}, most_affected=${changed[0]?.layer ?? 'none'}${pairLabel(c, p)}`;
  const details = ranked.map((l) => `${l.layer}: rel_l2_change=${fmt(l.rel_l2_change)}, share=${fmt(l.share)}, params=${l.params}, changed_elements=${l.changed_elements}${l.not_compared.length > 0 ? `, not compared (added/removed/reshaped): ${l.not_compared.join(', ')}` : ''}`);
  return { key: 'LayerImpactAnalysis', label: 'layer_impact', summary, details, data };
}

// ------------------------------------------------------------------------------ architecture

const FAMILY_PATTERNS: Array<[string, RegExp, string]> = [
  ['transformer', /(^|\.)(attn|attention|self_attn|cross_attn|q_proj|k_proj|v_proj|o_proj|c_attn|query|key|value|wte|wpe|embed_positions|position_embeddings|ln_\d|layernorm|layer_norm)(\.|$)/i, 'attention/embedding/layer-norm names'],
  ['rnn', /(^|\.)(lstm|gru|rnn|weight_ih_l\d+|weight_hh_l\d+|bias_ih_l\d+|bias_hh_l\d+)/i, 'recurrent names (lstm/gru/weight_ih/weight_hh)'],
  ['cnn', /(^|\.)(conv\w*|downsample|bn\d*)(\.|$)/i, 'convolution names'],
];

function describeArchitecture(tensors: TensorDescriptor[]) {
  const params = tensors.filter((t) => isParameter(t));
  const optimizer = tensors.filter((t) => isOptimizerState(t.name));
  const layers = new Set(params.map((t) => layerOf(t.name)));
  // Numbered blocks: containers whose children are indexed (`layers.0.`, `h.11.`).
  const containers = new Map<string, Set<string>>();
  for (const t of params) {
    const re = /(?:^|\.)(\d+)\./g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(t.name)) !== null) {
      const prefix = t.name.slice(0, m.index);
      const set = containers.get(prefix) ?? new Set<string>();
      set.add(m[1]!);
      containers.set(prefix, set);
    }
  }
  const stack = [...containers].sort((x, y) => y[1].size - x[1].size || (x[0] < y[0] ? -1 : 1))[0];
  const weightLayers = new Set(params.filter((t) => t.shape.length >= 2).map((t) => layerOf(t.name)));
  const evidence: string[] = [];
  const scores: Record<string, number> = {};
  for (const [family, re, what] of FAMILY_PATTERNS) {
    const hits = params.filter((t) => re.test(t.name));
    scores[family] = hits.length;
    if (hits.length > 0) evidence.push(`${family}: ${hits.length} tensors with ${what} (e.g. ${hits[0]!.name})`);
  }
  const convKernels = params.filter((t) => t.shape.length >= 3 && /weight$/.test(t.name));
  if (convKernels.length > 0) {
    scores.cnn = (scores.cnn ?? 0) + convKernels.length;
    evidence.push(`cnn: ${convKernels.length} weight tensors with 3+ dimensions (convolution kernels, e.g. ${convKernels[0]!.name} ${JSON.stringify(convKernels[0]!.shape)})`);
  }
  const matrices = params.filter((t) => t.shape.length === 2);
  let family = (['transformer', 'rnn', 'cnn'] as const).reduce<string | undefined>((best, f) => ((scores[f] ?? 0) > 0 && (best === undefined || (scores[f] ?? 0) > (scores[best] ?? 0)) ? f : best), undefined);
  if (family === undefined) {
    if (matrices.length > 0) {
      family = 'mlp';
      evidence.push(`mlp: ${matrices.length} weight matrices (2-D), no attention, recurrent or convolution evidence`);
    } else family = 'unknown';
  }
  return {
    family,
    evidence,
    tensors: tensors.length,
    parameter_tensors: params.length,
    optimizer_state_tensors: optimizer.length,
    params: params.reduce((s, t) => s + t.numel, 0),
    param_bytes: params.reduce((s, t) => s + bytesOf(t), 0),
    total_bytes: tensors.reduce((s, t) => s + bytesOf(t), 0),
    layers: layers.size,
    weight_layers: weightLayers.size,
    block_container: stack ? stack[0] || '(root)' : null,
    blocks: stack ? stack[1].size : 0,
    depth: stack ? stack[1].size : weightLayers.size,
  };
}

export function architectureComparison(c: Collected, p: PairData): AnalysisEntry {
  const tensorsA = p.tensors.filter((t) => t.a).map((t) => t.a!);
  const tensorsB = p.tensors.filter((t) => t.b).map((t) => t.b!);
  const a = describeArchitecture(tensorsA);
  const b = describeArchitecture(tensorsB);
  const layersA = groupBy(tensorsA.filter((t) => isParameter(t)), (t) => layerOf(t.name));
  const layersB = groupBy(tensorsB.filter((t) => isParameter(t)), (t) => layerOf(t.name));
  const added = [...layersB.keys()].filter((l) => !layersA.has(l)).sort();
  const removed = [...layersA.keys()].filter((l) => !layersB.has(l)).sort();
  const reshaped = [...layersA.keys()].filter((l) => {
    const tb = layersB.get(l);
    if (!tb) return false;
    const shapes = (ts: TensorDescriptor[]) => JSON.stringify(ts.map((t) => [t.name, t.shape]).sort());
    return shapes(layersA.get(l)!) !== shapes(tb);
  }).sort();
  const data = { ...pairData(p), model_a: a, model_b: b, params_delta: b.params - a.params, layers_added: added, layers_removed: removed, layers_reshaped: reshaped };
  const summary = `family=${a.family}->${b.family}, params=${a.params}->${b.params} (${b.params - a.params >= 0 ? '+' : ''}${b.params - a.params}), layers=${a.layers}->${b.layers}, depth=${a.depth}->${b.depth}${pairLabel(c, p)}`;
  const line = (which: string, m: typeof a) => `${which}: ${m.family}, params=${m.params}, param_bytes=${m.param_bytes}, tensors=${m.tensors} (optimizer state ${m.optimizer_state_tensors}), layers=${m.layers}, weight_layers=${m.weight_layers}, blocks=${m.blocks}${m.block_container ? ` in ${m.block_container}` : ''}, depth=${m.depth}`;
  const details = [
    line('a', a), ...a.evidence.map((e) => `  evidence: ${e}`),
    line('b', b), ...b.evidence.map((e) => `  evidence: ${e}`),
    `layers added: ${added.join(', ') || 'none'}`,
    `layers removed: ${removed.join(', ') || 'none'}`,
    `layers reshaped: ${reshaped.join(', ') || 'none'}`,
  ];
  return { key: 'ArchitectureComparison', label: 'architecture_comparison', summary, details, data };
}

// ------------------------------------------------------------------------------ memory

function memoryOf(tensors: TensorDescriptor[]) {
  const byDtype: Record<string, number> = {};
  for (const t of tensors) byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + bytesOf(t);
  const params = tensors.filter((t) => isParameter(t) || (!isOptimizerState(t.name) && !isFloat(t.dtype)));
  return {
    total_bytes: tensors.reduce((s, t) => s + bytesOf(t), 0),
    bytes_by_dtype: Object.fromEntries(Object.entries(byDtype).sort()),
    inference_weight_bytes: params.reduce((s, t) => s + bytesOf(t), 0),
    optimizer_state_bytes: tensors.filter((t) => isOptimizerState(t.name)).reduce((s, t) => s + bytesOf(t), 0),
    largest_tensors: sorted(tensors, bytesOf).slice(0, 5).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: bytesOf(t) })),
  };
}

export function memoryAnalysis(c: Collected, p: PairData): AnalysisEntry {
  const a = memoryOf(p.tensors.filter((t) => t.a).map((t) => t.a!));
  const b = memoryOf(p.tensors.filter((t) => t.b).map((t) => t.b!));
  const delta = b.total_bytes - a.total_bytes;
  const data = { ...pairData(p), model_a: a, model_b: b, delta_bytes: delta, delta_ratio: a.total_bytes > 0 ? delta / a.total_bytes : null };
  const sign = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
  const summary = `total=${a.total_bytes}->${b.total_bytes} bytes (${sign(delta)}, ${data.delta_ratio === null ? 'none' : (data.delta_ratio >= 0 ? '+' : '') + pct(data.delta_ratio)}), inference_weights=${humanBytes(a.inference_weight_bytes)}->${humanBytes(b.inference_weight_bytes)}${pairLabel(c, p)}`;
  const dt = (m: typeof a) => Object.entries(m.bytes_by_dtype).map(([k, v]) => `${k}=${v}`).join(', ');
  const largest = (m: typeof a) => m.largest_tensors.map((t) => `${t.name} (${t.dtype} ${JSON.stringify(t.shape)}, ${t.bytes})`).join(', ');
  const details = [
    `a: ${dt(a)}; inference weights ${a.inference_weight_bytes} bytes, optimizer state ${a.optimizer_state_bytes} bytes`,
    `b: ${dt(b)}; inference weights ${b.inference_weight_bytes} bytes, optimizer state ${b.optimizer_state_bytes} bytes`,
    `largest in a: ${largest(a) || 'none'}`,
    `largest in b: ${largest(b) || 'none'}`,
  ];
  return { key: 'MemoryAnalysis', label: 'memory_analysis', summary, details, data };
}

// ------------------------------------------------------------------------------ anomalies

export const ANOMALY_THRESHOLDS = {
  /** ‖B‖/‖A‖ of the same tensor: warning at ≥ 10 (≤ 0.1), critical at ≥ 1000 (≤ 0.001). */
  normRatioWarning: 10,
  normRatioCritical: 1000,
  /** RMS against the median RMS of comparable tensors in the same model (≥ 3 of them). */
  peerRatio: 100,
  peerMinGroup: 3,
  /** Relative L2 change ‖B − A‖/‖A‖: warning above 1, critical above 10. */
  suddenWarning: 1,
  suddenCritical: 10,
};

export interface Finding {
  type: 'nan_inf' | 'all_zero_tensor' | 'dead_units' | 'exploding' | 'vanishing' | 'sudden_change';
  severity: 'critical' | 'warning' | 'info';
  model: string;
  tensors: string[];
  detail: string;
  value?: number;
}

function rms(s: TensorStats): number | null {
  const n = s.total_params - (s.nan_count ?? 0) - (s.posinf_count ?? 0) - (s.neginf_count ?? 0);
  return s.l2_norm !== null && n > 0 ? s.l2_norm / Math.sqrt(n) : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function modelFindings(path: string, tensors: Array<{ desc: TensorDescriptor; stats: TensorStats }>, zeroRows: Map<string, number[]> | undefined): Finding[] {
  const out: Finding[] = [];
  const T = ANOMALY_THRESHOLDS;
  for (const { desc, stats } of tensors) {
    const nan = stats.nan_count ?? 0;
    const pinf = stats.posinf_count ?? 0;
    const ninf = stats.neginf_count ?? 0;
    if (nan + pinf + ninf > 0) {
      out.push({ type: 'nan_inf', severity: 'critical', model: path, tensors: [desc.name], detail: `nan=${nan}, posinf=${pinf}, neginf=${ninf} of ${desc.numel} elements`, value: nan + pinf + ninf });
    }
    if (!isParameter(desc) || desc.numel === 0) continue;
    if (stats.zero_count === desc.numel) {
      out.push({ type: 'all_zero_tensor', severity: desc.shape.length >= 2 ? 'warning' : 'info', model: path, tensors: [desc.name], detail: `all ${desc.numel} elements are zero${desc.shape.length < 2 ? ' (a zero vector, e.g. a freshly initialised bias, is often intended)' : ''}` });
    } else {
      const rows = zeroRows?.get(desc.name);
      if (rows && rows.length > 0) {
        out.push({ type: 'dead_units', severity: 'warning', model: path, tensors: [desc.name], detail: `${rows.length} of ${desc.shape[0]} rows all zero (rows ${rows.slice(0, 10).join(', ')}${rows.length > 10 ? ', …' : ''})`, value: rows.length });
      }
    }
  }
  // Scale against comparable tensors of the same model: same last name component and rank.
  const peers = groupBy(tensors.filter((t) => isParameter(t.desc) && rms(t.stats)), (t) => `${t.desc.name.slice(t.desc.name.lastIndexOf('.') + 1)}/${t.desc.shape.length}`);
  for (const group of peers.values()) {
    if (group.length < T.peerMinGroup) continue;
    const med = median(group.map((t) => rms(t.stats)!));
    for (const t of group) {
      const ratio = rms(t.stats)! / med;
      if (ratio >= T.peerRatio || ratio <= 1 / T.peerRatio) {
        out.push({ type: ratio > 1 ? 'exploding' : 'vanishing', severity: 'warning', model: path, tensors: [t.desc.name], detail: `rms ${fmt(rms(t.stats))} is ${fmt(ratio)}x the median rms ${fmt(med)} of ${group.length} comparable tensors in this model`, value: ratio });
      }
    }
  }
  return out;
}

export function anomalyDetection(c: Collected, p: PairData): AnalysisEntry {
  const T = ANOMALY_THRESHOLDS;
  const statsA = statsOfModel([p], p.ia);
  const statsB = statsOfModel([p], p.ib);
  const findings: Finding[] = [
    ...modelFindings(p.a.path, statsA, c.zeroRows.get(p.ia)),
    ...modelFindings(p.b.path, statsB, c.zeroRows.get(p.ib)),
  ];
  for (const t of p.tensors) {
    if (!t.cmp || !isParameter(t.a) || !t.statsA || !t.statsB) continue;
    const na = t.statsA.l2_norm ?? 0;
    const nb = t.statsB.l2_norm ?? 0;
    if (na > 0 && nb > 0) {
      const ratio = nb / na;
      const up = ratio >= T.normRatioWarning;
      const down = ratio <= 1 / T.normRatioWarning;
      if (up || down) {
        const critical = up ? ratio >= T.normRatioCritical : ratio <= 1 / T.normRatioCritical;
        findings.push({ type: up ? 'exploding' : 'vanishing', severity: critical ? 'critical' : 'warning', model: p.b.path, tensors: [t.name], detail: `l2 norm ${fmt(na)} -> ${fmt(nb)} (x${fmt(ratio)}) relative to the same tensor in ${p.a.path}`, value: ratio });
      }
    }
    const rel = relChange(t.cmp);
    if (rel !== null && rel > T.suddenWarning) {
      findings.push({ type: 'sudden_change', severity: rel > T.suddenCritical ? 'critical' : 'warning', model: p.b.path, tensors: [t.name], detail: `relative L2 change ${fmt(rel)} (threshold ${T.suddenWarning})`, value: rel });
    }
  }
  const order = { critical: 0, warning: 1, info: 2 };
  findings.sort((x, y) => order[x.severity] - order[y.severity] || (x.tensors[0]! < y.tensors[0]! ? -1 : x.tensors[0]! > y.tensors[0]! ? 1 : 0));
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const checked = [...statsA, ...statsB].filter((t) => t.stats.nan_count !== null).length;
  const data = { ...pairData(p), tensors_checked: checked, findings_total: findings.length, critical: count('critical'), warning: count('warning'), info: count('info'), findings };
  const summary = findings.length === 0
    ? `no anomalies found (${checked} tensors checked${checked === 0 ? ': values not read' : ''})${pairLabel(c, p)}`
    : `findings=${findings.length} (critical=${data.critical}, warning=${data.warning}, info=${data.info})${pairLabel(c, p)}`;
  const details = findings.map((f) => `[${f.severity}] ${f.type}: ${f.tensors.join(', ')} in ${f.model}: ${f.detail}`);
  return { key: 'AnomalyDetection', label: 'anomaly_detection', summary, details, data };
}

// ------------------------------------------------------------------------------ change summary

export function changeSummary(c: Collected, p: PairData): AnalysisEntry {
  const counts: Record<string, number> = {};
  for (const r of p.results) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  const compared = p.tensors.filter((t) => t.cmp);
  const unchanged = compared.filter((t) => t.cmp!.changed === 0).length;
  const elements = compared.reduce((s, t) => s + (t.a?.numel ?? 0), 0);
  const changedElements = compared.reduce((s, t) => s + t.cmp!.changed, 0);
  const paramsA = p.tensors.reduce((s, t) => s + (isParameter(t.a) ? t.a!.numel : 0), 0);
  const paramsB = p.tensors.reduce((s, t) => s + (isParameter(t.b) ? t.b!.numel : 0), 0);
  // Parameters of B in tensors that changed values, or were added, reshaped (not compared).
  const paramsInChanged = p.tensors.filter((t) => isParameter(t.b) && (t.cmp ? t.cmp.changed > 0 : true)).reduce((s, t) => s + t.b!.numel, 0);
  const top = sorted(compared.filter((t) => t.cmp!.changed > 0), (t) => relChange(t.cmp!) ?? Infinity).slice(0, 5)
    .map((t) => ({ name: t.name, rel_l2_change: relChange(t.cmp!), changed_elements: t.cmp!.changed, total_params: t.a!.numel }));
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
  };
  const k = (name: string) => counts[name] ?? 0;
  const summary = `tensors_changed=${k('TensorStatsChanged')}, added=${k('TensorAdded')}, removed=${k('TensorRemoved')}, reshaped=${k('TensorShapeChanged')}, retyped=${k('TensorDtypeChanged')}, unchanged=${unchanged}, elements_changed=${changedElements}/${elements} (${pct(data.elements_changed_ratio)}), other_entries_changed=${k('Added') + k('Removed') + k('Modified')}${pairLabel(c, p)}`;
  const details = [
    `params: ${paramsA} -> ${paramsB}; in changed, added or reshaped tensors: ${paramsInChanged}`,
    ...top.map((t, i) => `top ${i + 1}: ${t.name}: rel_l2_change=${fmt(t.rel_l2_change)}, changed_elements=${t.changed_elements}/${t.total_params}`),
  ];
  return { key: 'ChangeSummary', label: 'change_summary', summary, details, data };
}

// ------------------------------------------------------------------------------ convergence

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

export function convergenceAnalysis(c: Collected): AnalysisEntry {
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
  const data = { models: c.models.map((m) => m.path), step_ratio: STEP_RATIO, rel_updates: overall, trend: trendOf(overall), layer_trends: trends, layers: perLayer };
  const seqText = (xs: Array<number | null>) => xs.map(fmt).join(' -> ');
  const summary = `checkpoints=${c.models.length}, trend=${data.trend}, rel_updates=${seqText(overall)}, layers=${Object.entries(trends).map(([t, n]) => `${t}:${n}`).join(' ')}`;
  const details = perLayer.map((l) => `${l.layer}: ${l.trend}, ${seqText(l.rel_updates)}`);
  return { key: 'ConvergenceAnalysis', label: 'convergence_analysis', summary, details, data };
}

// ------------------------------------------------------------------------------ gradients

const BUFFER = /^(.*)\.(\d+)\.(exp_avg|exp_avg_sq|max_exp_avg_sq|momentum_buffer|square_avg|acc_delta|sum)$/;

interface StateEntry { index: number; param: string | null; norms: Record<string, number | null> }

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

export function gradientAnalysis(c: Collected, p: PairData): AnalysisEntry {
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
    return { key: 'GradientAnalysis', label: 'gradient_analysis', summary, details, data };
  }
  // No optimizer state: the update ΔW = B − A per layer, labelled as such.
  const compared = p.tensors.filter((t) => t.cmp && isParameter(t.a));
  const layers = [...groupBy(compared, (t) => layerOf(t.name))].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([layer, ts]) => {
    const cmp = sumCompare(ts.map((t) => t.cmp!));
    return { layer, update_norm: Math.sqrt(cmp.sumSqDiff), rel_update: relChange(cmp), max_abs_update: cmp.pairs > 0 ? cmp.maxAbs : null };
  });
  const total = sumCompare(compared.map((t) => t.cmp!));
  const data = { ...pairData(p), source: 'parameter_update', update_norm: compared.length > 0 ? Math.sqrt(total.sumSqDiff) : null, rel_update: compared.length > 0 ? relChange(total) : null, layers };
  const summary = `source=parameter_update (no optimizer state in either file; these are dW = B - A, not gradients), update_norm=${fmt(data.update_norm)}, rel_update=${fmt(data.rel_update)}${pairLabel(c, p)}`;
  const details = layers.map((l) => `${l.layer}: update_norm=${fmt(l.update_norm)}, rel_update=${fmt(l.rel_update)}, max_abs_update=${fmt(l.max_abs_update)}`);
  return { key: 'GradientAnalysis', label: 'gradient_analysis', summary, details, data };
}

// ------------------------------------------------------------------------------ similarity

export function similarityMatrix(c: Collected): AnalysisEntry {
  const n = c.models.length;
  const overall: Array<Array<number | null>> = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  const perLayer = new Map<string, Array<Array<number | null>>>();
  const norms = c.models.map((_, m) => new Map(statsOfModel(c.pairs, m).map((t) => [t.desc.name, t.stats.l2_norm])));
  for (let i = 0; i < n; i++) {
    // A model against itself: Σa²/(‖a‖‖a‖), from its own stats.
    const own = [...norms[i]!].filter(([name]) => isParameter(c.models[i]!.tensors.find((t) => t.name === name)));
    const sq = own.reduce((s, [, v]) => s + (v ?? 0) ** 2, 0);
    overall[i]![i] = sq > 0 ? sq / (Math.sqrt(sq) * Math.sqrt(sq)) : null;
  }
  const layerMatrix = (layer: string) => {
    let mtx = perLayer.get(layer);
    if (!mtx) { mtx = Array.from({ length: n }, () => new Array<number | null>(n).fill(null)); perLayer.set(layer, mtx); }
    return mtx;
  };
  for (const [key, per] of c.pairCompare) {
    const [i, j] = key.split(',').map(Number) as [number, number];
    const cos = per.size > 0 ? cosine(sumCompare(per.values())) : null;
    overall[i]![j] = cos;
    overall[j]![i] = cos;
    for (const [layer, names] of groupBy([...per.keys()], layerOf)) {
      const cmp = sumCompare(names.map((nm) => per.get(nm)!));
      const mtx = layerMatrix(layer);
      mtx[i]![j] = cosine(cmp);
      mtx[j]![i] = cosine(cmp);
      const self = (m: number, sumSq: number) => { mtx[m]![m] = sumSq > 0 ? sumSq / (Math.sqrt(sumSq) * Math.sqrt(sumSq)) : null; };
      self(i, cmp.sumAA);
      self(j, cmp.sumBB);
    }
  }
  const layers = Object.fromEntries([...perLayer].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
  let low: [number, number, number] | undefined;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const v = overall[i]![j];
    if (v !== null && v !== undefined && (!low || v < low[2])) low = [i, j, v];
  }
  const data = { models: c.models.map((m) => m.path), overall, per_layer: layers, lowest: low ? { a: low[0], b: low[1], cosine_similarity: low[2] } : null };
  const table = (m: Array<Array<number | null>>) => [
    '      ' + c.models.map((_, j) => `[${j + 1}]`.padStart(9)).join(''),
    ...m.map((row, i) => `  [${i + 1}] ` + row.map((v) => fmt(v).padStart(9)).join('')),
  ];
  const summary = `models=${n}, overall cosine similarity of parameters, lowest=${low ? `${fmt(low[2])} ([${low[0] + 1}] vs [${low[1] + 1}])` : 'none'}`;
  const details = [
    ...c.models.map((m, i) => `[${i + 1}] ${m.path}`),
    'overall:', ...table(overall),
    ...Object.entries(layers).flatMap(([layer, m]) => [`${layer}:`, ...table(m)]),
  ];
  return { key: 'SimilarityMatrix', label: 'similarity_matrix', summary, details, data };
}

/** Every requested analysis, in a fixed order: pairwise ones per consecutive pair, then sequence ones. */
export function runAnalyses(c: Collected, wanted: Set<string>): AnalysisEntry[] {
  const out: AnalysisEntry[] = [];
  const pairwise: Array<[string, (c: Collected, p: PairData) => AnalysisEntry]> = [
    ['changeSummary', changeSummary], ['layerImpact', layerImpact], ['quantization', quantizationAnalysis],
    ['architecture', architectureComparison], ['memory', memoryAnalysis], ['anomalies', anomalyDetection], ['gradients', gradientAnalysis],
  ];
  for (const [name, fn] of pairwise) if (wanted.has(name)) for (const p of c.pairs) out.push(fn(c, p));
  if (wanted.has('convergence')) out.push(convergenceAnalysis(c));
  if (wanted.has('similarity')) out.push(similarityMatrix(c));
  return out;
}

export type { PairTensor };
