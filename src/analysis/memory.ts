/**
 * Memory analysis (--memory-analysis): bytes by dtype, the delta, inference weight memory and the
 * largest tensors of each model.
 */
import { isFloat } from '../dtypes.js';
import type { TensorDescriptor } from '../formats/types.js';
import { bytesOf, humanBytes, isOptimizerState, isParameter, pairData, pairLabel, pct, sorted } from './helpers.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

function memoryOf(tensors: TensorDescriptor[]) {
  const byDtype: Record<string, number> = {};
  for (const t of tensors) byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + bytesOf(t);
  const params = tensors.filter((t) => isParameter(t) || (!isOptimizerState(t.name) && !isFloat(t.dtype)));
  return {
    total_bytes: tensors.reduce((s, t) => s + bytesOf(t), 0),
    bytes_by_dtype: Object.fromEntries(Object.entries(byDtype).sort()),
    inference_weight_bytes: params.reduce((s, t) => s + bytesOf(t), 0),
    optimizer_state_bytes: tensors.filter((t) => isOptimizerState(t.name)).reduce((s, t) => s + bytesOf(t), 0),
    largest_tensors: sorted(tensors, bytesOf)
      .slice(0, 5)
      .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: bytesOf(t) })),
  };
}

export function memoryAnalysis(c: Collected, p: PairData) {
  const a = memoryOf(p.tensors.filter((t) => t.a).map((t) => t.a!));
  const b = memoryOf(p.tensors.filter((t) => t.b).map((t) => t.b!));
  const delta = b.total_bytes - a.total_bytes;
  const data = { ...pairData(p), model_a: a, model_b: b, delta_bytes: delta, delta_ratio: a.total_bytes > 0 ? delta / a.total_bytes : null };
  const sign = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
  const summary = `total=${a.total_bytes}->${b.total_bytes} bytes (${sign(delta)}, ${data.delta_ratio === null ? 'none' : (data.delta_ratio >= 0 ? '+' : '') + pct(data.delta_ratio)}), inference_weights=${humanBytes(a.inference_weight_bytes)}->${humanBytes(b.inference_weight_bytes)}${pairLabel(c, p)}`;
  const dt = (m: typeof a) =>
    Object.entries(m.bytes_by_dtype)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  const largest = (m: typeof a) => m.largest_tensors.map((t) => `${t.name} (${t.dtype} ${JSON.stringify(t.shape)}, ${t.bytes})`).join(', ');
  const details = [
    `a: ${dt(a)}; inference weights ${a.inference_weight_bytes} bytes, optimizer state ${a.optimizer_state_bytes} bytes`,
    `b: ${dt(b)}; inference weights ${b.inference_weight_bytes} bytes, optimizer state ${b.optimizer_state_bytes} bytes`,
    `largest in a: ${largest(a) || 'none'}`,
    `largest in b: ${largest(b) || 'none'}`,
  ];
  const dtypes = [...new Set([...Object.keys(a.bytes_by_dtype), ...Object.keys(b.bytes_by_dtype)])].sort();
  const table = {
    columns: ['dtype', 'bytes_a', 'bytes_b'],
    rows: dtypes.map((k) => [k, a.bytes_by_dtype[k] ?? 0, b.bytes_by_dtype[k] ?? 0]),
    chart: { columns: ['bytes_a', 'bytes_b'], title: 'Memory by dtype (bytes)' },
  };
  return { summary, details, data, table };
}

export type MemoryData = ReturnType<typeof memoryAnalysis>['data'];

const plugin: PairAnalysis<MemoryData> = {
  key: 'MemoryAnalysis',
  label: 'memory_analysis',
  scope: 'pair',
  analyze: memoryAnalysis,
};
export default plugin;
