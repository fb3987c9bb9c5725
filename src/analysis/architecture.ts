/**
 * Architecture comparison (--architecture-comparison): parameter counts, layers, depth and the
 * family inferred from tensor names and shapes, and the layers added, removed or reshaped.
 */
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { bytesOf, groupBy, layerOf, pairData, pairLabel, sideTensors } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

const FAMILY_PATTERNS: Array<[string, RegExp, string]> = [
  [
    'transformer',
    /(^|\.)(attn|attention|self_attn|self_attention|cross_attn|q_proj|k_proj|v_proj|o_proj|c_attn|query|key|value|in_proj_weight|wte|wpe|embed_positions|position_embeddings|pos_embedding|word_embeddings|embed_tokens|ln_\d|layernorm|layer_norm)(\.|$)/i,
    'attention/embedding/layer-norm names',
  ],
  ['rnn', /(^|\.)(lstm|gru|rnn|weight_ih_l\d+|weight_hh_l\d+|bias_ih_l\d+|bias_hh_l\d+)/i, 'recurrent names (lstm/gru/weight_ih/weight_hh)'],
  ['cnn', /(^|\.)(conv\w*|downsample|bn\d*)(\.|$)/i, 'convolution names'],
];

/** A numbered child: `0` (nn.Sequential, ModuleList: `layer1.0`, `h.11`, `model.layers.31`) or torchvision ViT's `encoder_layer_5`. */
const INDEX = /^(\d+|(?:\w+_)?(?:layer|block)s?_\d+)$/;
/** Shortcut projections of residual blocks (torchvision `downsample`, others' `shortcut`): off the main path. */
const SHORTCUT = /(^|\.)(downsample|shortcut|skip)(\.|$)/;

/** The block a tensor belongs to: its name up to the outermost numbered component (`layer2.1`, `transformer.h.3`). */
function blockOf(name: string): { container: string; block: string } | undefined {
  const parts = name.split('.');
  for (let i = 0; i < parts.length - 1; i++) {
    if (INDEX.test(parts[i]!)) return { container: parts.slice(0, i).join('.'), block: parts.slice(0, i + 1).join('.') };
  }
  return undefined;
}

/** A weight of the model: a parameter, or a quantized stand-in under the float name it replaces (`fc1.weight`). */
interface Weight {
  name: string;
  shape: number[];
}

function byRole(model: ModelDescription, tensors: TensorDescriptor[]) {
  const view = modelViewOf(model);
  const entry = (t: TensorDescriptor) => view.entries.get(t.name);
  const params = tensors.filter((t) => entry(t)?.role === 'parameter');
  const quantized = tensors.filter((t) => entry(t)?.role === 'quantized' && entry(t)?.linkedTo !== undefined);
  const weights: Weight[] = [
    ...params.map((t) => ({ name: t.name, shape: t.shape })),
    ...quantized.map((t) => ({ name: entry(t)!.linkedTo!, shape: t.shape })),
  ];
  return {
    params,
    quantized,
    weights,
    buffers: tensors.filter((t) => entry(t)?.role === 'buffer'),
    optimizer: tensors.filter((t) => entry(t)?.role === 'optimizer_state'),
  };
}

/** Family, blocks, depth and counts of one model's tensors (also read by --inference-speed-estimate). */
export function describeArchitecture(model: ModelDescription, tensors: TensorDescriptor[]) {
  const { params, quantized, weights, buffers, optimizer } = byRole(model, tensors);
  const layers = new Set(weights.map((t) => layerOf(t.name)));
  const weightLayers = new Set(weights.filter((t) => t.shape.length >= 2).map((t) => layerOf(t.name)));
  // Blocks: numbered children holding two or more weight layers (a residual block, a
  // transformer layer), not single layers numbered inside an nn.Sequential.
  const blockLayers = new Map<string, { container: string; layers: Set<string> }>();
  for (const l of weightLayers) {
    const b = blockOf(`${l}.weight`);
    if (!b) continue;
    const e = blockLayers.get(b.block) ?? { container: b.container, layers: new Set<string>() };
    e.layers.add(l);
    blockLayers.set(b.block, e);
  }
  const containers = new Map<string, number>();
  for (const b of blockLayers.values()) if (b.layers.size >= 2) containers.set(b.container || '(root)', (containers.get(b.container || '(root)') ?? 0) + 1);
  const blocks = [...containers.values()].reduce((s, n) => s + n, 0);
  const evidence: string[] = [];
  const scores: Record<string, number> = {};
  for (const [family, re, what] of FAMILY_PATTERNS) {
    const hits = weights.filter((t) => re.test(t.name));
    scores[family] = hits.length;
    if (hits.length > 0) evidence.push(`${family}: ${hits.length} tensors with ${what} (e.g. ${hits[0]!.name})`);
  }
  const convKernels = weights.filter((t) => t.shape.length >= 3 && /weight$/.test(t.name));
  if (convKernels.length > 0) {
    scores.cnn = (scores.cnn ?? 0) + convKernels.length;
    evidence.push(
      `cnn: ${convKernels.length} weight tensors with 3+ dimensions (convolution kernels, e.g. ${convKernels[0]!.name} ${JSON.stringify(convKernels[0]!.shape)})`,
    );
  }
  const matrices = weights.filter((t) => t.shape.length === 2);
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
  // Depth: a transformer's number of layers (its blocks); otherwise the weight layers on the
  // main path (resnet18: 17 convolutions + fc = 18; shortcut projections are not counted).
  const mainPath = [...weightLayers].filter((l) => !SHORTCUT.test(l)).length;
  const depth = family === 'transformer' && blocks > 0 ? blocks : mainPath;
  const biggest = [...containers].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0];
  return {
    family,
    evidence,
    tensors: tensors.length,
    parameter_tensors: params.length,
    optimizer_state_tensors: optimizer.length,
    params: params.reduce((s, t) => s + t.numel, 0),
    quantized_params: quantized.reduce((s, t) => s + t.numel, 0),
    buffer_elements: buffers.reduce((s, t) => s + t.numel, 0),
    param_bytes: params.reduce((s, t) => s + bytesOf(t), 0),
    total_bytes: tensors.reduce((s, t) => s + bytesOf(t), 0),
    layers: layers.size,
    weight_layers: weightLayers.size,
    block_container: biggest ? biggest[0] : null,
    block_containers: Object.fromEntries([...containers].sort((x, y) => (x[0] < y[0] ? -1 : 1))),
    blocks,
    depth,
  };
}

export function architectureComparison(c: Collected, p: PairData) {
  const tensorsA = sideTensors(p, 'a');
  const tensorsB = sideTensors(p, 'b');
  const a = describeArchitecture(p.a, tensorsA);
  const b = describeArchitecture(p.b, tensorsB);
  // Layers of weights (parameters, and quantized stand-ins under the float names they replace).
  const layersA = groupBy(byRole(p.a, tensorsA).weights, (t) => layerOf(t.name));
  const layersB = groupBy(byRole(p.b, tensorsB).weights, (t) => layerOf(t.name));
  const added = [...layersB.keys()].filter((l) => !layersA.has(l)).sort();
  const removed = [...layersA.keys()].filter((l) => !layersB.has(l)).sort();
  const reshaped = [...layersA.keys()]
    .filter((l) => {
      const tb = layersB.get(l);
      if (!tb) return false;
      const shapes = (ts: Weight[]) => JSON.stringify(ts.map((t) => [t.name, t.shape]).sort());
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
    differences: added.length + removed.length + reshaped.length,
  };
  const summary = `${summaryFields([
    ['type1', a.family],
    ['type2', b.family],
    ['differences', `${data.differences}`],
  ])}${pairLabel(c, p)}`;
  const line = (which: string, m: typeof a) =>
    `${which}: ${m.family}, params=${m.params}${m.quantized_params > 0 ? ` (+${m.quantized_params} quantized)` : ''}${m.buffer_elements > 0 ? `, buffer_elements=${m.buffer_elements}` : ''}, param_bytes=${m.param_bytes}, tensors=${m.tensors} (optimizer state ${m.optimizer_state_tensors}), layers=${m.layers}, weight_layers=${m.weight_layers}, blocks=${m.blocks}${
      m.blocks > 0
        ? ` (${Object.entries(m.block_containers)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', ')})`
        : ''
    }, depth=${m.depth}`;
  const details = [
    `params=${a.params}->${b.params} (${b.params - a.params >= 0 ? '+' : ''}${b.params - a.params}), layers=${a.layers}->${b.layers}, depth=${a.depth}->${b.depth}`,
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
  marker: '🏗️',
  scope: 'pair',
  analyze: architectureComparison,
};
export default plugin;
