/**
 * Architecture comparison (--architecture-comparison): parameter counts, layers, depth and the
 * family inferred from tensor names and shapes, and the layers added, removed or reshaped.
 */
import type { TensorDescriptor } from '../formats/types.js';
import { bytesOf, groupBy, isOptimizerState, isParameter, layerOf, pairData, pairLabel } from './helpers.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

const FAMILY_PATTERNS: Array<[string, RegExp, string]> = [
  [
    'transformer',
    /(^|\.)(attn|attention|self_attn|cross_attn|q_proj|k_proj|v_proj|o_proj|c_attn|query|key|value|wte|wpe|embed_positions|position_embeddings|ln_\d|layernorm|layer_norm)(\.|$)/i,
    'attention/embedding/layer-norm names',
  ],
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
    evidence.push(
      `cnn: ${convKernels.length} weight tensors with 3+ dimensions (convolution kernels, e.g. ${convKernels[0]!.name} ${JSON.stringify(convKernels[0]!.shape)})`,
    );
  }
  const matrices = params.filter((t) => t.shape.length === 2);
  let family = (['transformer', 'rnn', 'cnn'] as const).reduce<string | undefined>(
    (best, f) => ((scores[f] ?? 0) > 0 && (best === undefined || (scores[f] ?? 0) > (scores[best] ?? 0)) ? f : best),
    undefined,
  );
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

export function architectureComparison(c: Collected, p: PairData) {
  const tensorsA = p.tensors.filter((t) => t.a).map((t) => t.a!);
  const tensorsB = p.tensors.filter((t) => t.b).map((t) => t.b!);
  const a = describeArchitecture(tensorsA);
  const b = describeArchitecture(tensorsB);
  const layersA = groupBy(
    tensorsA.filter((t) => isParameter(t)),
    (t) => layerOf(t.name),
  );
  const layersB = groupBy(
    tensorsB.filter((t) => isParameter(t)),
    (t) => layerOf(t.name),
  );
  const added = [...layersB.keys()].filter((l) => !layersA.has(l)).sort();
  const removed = [...layersA.keys()].filter((l) => !layersB.has(l)).sort();
  const reshaped = [...layersA.keys()]
    .filter((l) => {
      const tb = layersB.get(l);
      if (!tb) return false;
      const shapes = (ts: TensorDescriptor[]) => JSON.stringify(ts.map((t) => [t.name, t.shape]).sort());
      return shapes(layersA.get(l)!) !== shapes(tb);
    })
    .sort();
  const data = {
    ...pairData(p),
    model_a: a,
    model_b: b,
    params_delta: b.params - a.params,
    layers_added: added,
    layers_removed: removed,
    layers_reshaped: reshaped,
  };
  const summary = `family=${a.family}->${b.family}, params=${a.params}->${b.params} (${b.params - a.params >= 0 ? '+' : ''}${b.params - a.params}), layers=${a.layers}->${b.layers}, depth=${a.depth}->${b.depth}${pairLabel(c, p)}`;
  const line = (which: string, m: typeof a) =>
    `${which}: ${m.family}, params=${m.params}, param_bytes=${m.param_bytes}, tensors=${m.tensors} (optimizer state ${m.optimizer_state_tensors}), layers=${m.layers}, weight_layers=${m.weight_layers}, blocks=${m.blocks}${m.block_container ? ` in ${m.block_container}` : ''}, depth=${m.depth}`;
  const details = [
    line('a', a),
    ...a.evidence.map((e) => `  evidence: ${e}`),
    line('b', b),
    ...b.evidence.map((e) => `  evidence: ${e}`),
    `layers added: ${added.join(', ') || 'none'}`,
    `layers removed: ${removed.join(', ') || 'none'}`,
    `layers reshaped: ${reshaped.join(', ') || 'none'}`,
  ];
  const metrics = ['family', 'params', 'param_bytes', 'tensors', 'optimizer_state_tensors', 'layers', 'weight_layers', 'blocks', 'depth'] as const;
  const table = { columns: ['metric', 'a', 'b'], rows: metrics.map((k) => [k, a[k], b[k]]) };
  return { summary, details, data, table };
}

export type ArchitectureData = ReturnType<typeof architectureComparison>['data'];

const plugin: PairAnalysis<ArchitectureData> = {
  key: 'ArchitectureComparison',
  label: 'architecture_comparison',
  scope: 'pair',
  analyze: architectureComparison,
};
export default plugin;
