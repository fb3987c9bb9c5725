/**
 * Memory analysis (--memory-analysis): bytes by role and dtype, the delta, the memory the
 * weights need for inference, parameters per megabyte, and the largest tensors of each model.
 * Tied names share one storage and count once.
 */
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { bytesOf, humanBytes, pairData, pairLabel, pct, sideTensors, sorted } from './helpers.js';
import { megabytes, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

/** What `gpu_est` counts, stated in the JSON and the details. */
export const GPU_ESTIMATE_ASSUMES =
  'weights only: parameters, buffers and quantized weights of B at their stored precision, each tie once; no activations, gradients, optimizer state or framework overhead';

function memoryOf(model: ModelDescription, tensors: TensorDescriptor[]) {
  const view = modelViewOf(model);
  const role = (t: TensorDescriptor) => view.entries.get(t.name)?.role ?? 'parameter';
  const bytesWhere = (keep: (t: TensorDescriptor) => boolean) => tensors.filter(keep).reduce((s, t) => s + bytesOf(t), 0);
  const byDtype: Record<string, number> = {};
  for (const t of tensors) byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + bytesOf(t);
  const inference = (t: TensorDescriptor) => role(t) === 'parameter' || role(t) === 'buffer' || role(t) === 'quantized';
  // Weights a forward pass uses: parameters and the quantized weights that replace them (not their scale/zero_point).
  const weights = tensors.filter((t) => role(t) === 'parameter' || (role(t) === 'quantized' && view.entries.get(t.name)?.linkedTo !== undefined));
  return {
    total_bytes: bytesWhere(() => true),
    bytes_by_dtype: Object.fromEntries(Object.entries(byDtype).sort()),
    parameter_bytes: bytesWhere((t) => role(t) === 'parameter'),
    buffer_bytes: bytesWhere((t) => role(t) === 'buffer'),
    quantized_bytes: bytesWhere((t) => role(t) === 'quantized'),
    inference_weight_bytes: bytesWhere(inference),
    optimizer_state_bytes: bytesWhere((t) => role(t) === 'optimizer_state'),
    weights: weights.reduce((s, t) => s + t.numel, 0),
    largest_tensors: sorted(tensors, bytesOf)
      .slice(0, 5)
      .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: bytesOf(t) })),
  };
}

export function memoryAnalysis(c: Collected, p: PairData) {
  const a = memoryOf(p.a, sideTensors(p, 'a'));
  const b = memoryOf(p.b, sideTensors(p, 'b'));
  const delta = b.total_bytes - a.total_bytes;
  const perMb = (m: typeof a) => (m.inference_weight_bytes > 0 ? m.weights / (m.inference_weight_bytes / 1e6) : null);
  const [pa, pb] = [perMb(a), perMb(b)];
  const data = {
    ...pairData(p),
    model_a: a,
    model_b: b,
    delta_bytes: delta,
    delta_ratio: a.total_bytes > 0 ? delta / a.total_bytes : null,
    gpu_est_bytes: b.inference_weight_bytes,
    gpu_est_assumes: GPU_ESTIMATE_ASSUMES,
    weights_per_mb_a: pa,
    weights_per_mb_b: pb,
    efficiency: pa !== null && pb !== null && pa > 0 ? pb / pa : null,
  };
  const summary = `${summaryFields([
    ['delta', megabytes(delta, true)],
    ['gpu_est', megabytes(b.inference_weight_bytes)],
    ['efficiency', data.efficiency],
  ])}${pairLabel(c, p)}`;
  const dt = (m: typeof a) =>
    Object.entries(m.bytes_by_dtype)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  const largest = (m: typeof a) => m.largest_tensors.map((t) => `${t.name} (${t.dtype} ${JSON.stringify(t.shape)}, ${t.bytes})`).join(', ');
  const sign = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
  const details = [
    `total=${a.total_bytes}->${b.total_bytes} bytes (${sign(delta)}, ${data.delta_ratio === null ? 'none' : (data.delta_ratio >= 0 ? '+' : '') + pct(data.delta_ratio)}), inference_weights=${humanBytes(a.inference_weight_bytes)}->${humanBytes(b.inference_weight_bytes)}`,
    `gpu_est=${b.inference_weight_bytes} bytes: ${GPU_ESTIMATE_ASSUMES}`,
    `efficiency: ${data.weights_per_mb_b === null ? 'none' : data.weights_per_mb_b.toFixed(0)} weights per MB in b against ${data.weights_per_mb_a === null ? 'none' : data.weights_per_mb_a.toFixed(0)} in a`,
    `a: ${dt(a)}; parameters ${a.parameter_bytes}, buffers ${a.buffer_bytes}, quantized ${a.quantized_bytes}, optimizer state ${a.optimizer_state_bytes} bytes`,
    `b: ${dt(b)}; parameters ${b.parameter_bytes}, buffers ${b.buffer_bytes}, quantized ${b.quantized_bytes}, optimizer state ${b.optimizer_state_bytes} bytes`,
    `largest in a: ${largest(a) || 'none'}`,
    `largest in b: ${largest(b) || 'none'}`,
  ];
  const dtypes = [...new Set([...Object.keys(a.bytes_by_dtype), ...Object.keys(b.bytes_by_dtype)])].sort();
  const table = {
    columns: ['dtype', 'bytes_a', 'bytes_b'],
    rows: dtypes.map((k) => [k, a.bytes_by_dtype[k] ?? 0, b.bytes_by_dtype[k] ?? 0]),
  };
  return { summary, details, data, table };
}

export type MemoryData = ReturnType<typeof memoryAnalysis>['data'];

const plugin: PairAnalysis<MemoryData> = {
  key: 'MemoryAnalysis',
  label: 'memory_analysis',
  marker: '🧠',
  scope: 'pair',
  analyze: memoryAnalysis,
};
export default plugin;
