/**
 * Inference speed estimate (--inference-speed-estimate): FLOPs from the architecture the
 * weights describe, the bytes of weights a forward pass reads, and a roofline time
 * max(FLOPs / peak, bytes / bandwidth) (Williams, Waterman & Patterson, "Roofline", CACM 2009)
 * on a device profile (src/analysis/device-profiles.ts).
 *
 *  - transformer: per token, 2·N + 2·n_layer·n_ctx·d_attn FLOPs with N the non-embedding
 *    parameters (Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1);
 *  - torchvision ResNet: per input of --input-shape N,C,H,W, the MACs of every convolution
 *    (weight elements × output positions) and of the classifier, with the spatial sizes
 *    propagated through torchvision's strides (the weights do not store strides: this layout
 *    is assumed from the names and said so); other convolutional layouts are refused;
 *  - MLP: every weight matrix applied once per sample.
 */
import type { DType } from '../dtypes.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { readHuggingFaceConfig } from '../model/hyperparameters.js';
import { modelViewOf } from '../model/view.js';
import { describeArchitecture } from './architecture.js';
import { DEFAULT_DEVICE, DEVICE_PROFILES, type ComputeClass } from './device-profiles.js';
import { isAnyEmbedding } from './embeddings.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, InferenceOptions, PairAnalysis, PairData } from './types.js';

interface Work {
  method: 'transformer_kaplan' | 'torchvision_resnet' | 'mlp';
  /** What one estimate covers: one token, or one input batch of --input-shape. */
  unit: 'token' | 'batch';
  macs: number;
  flops: number;
  assumptions: string[];
  detail: Record<string, unknown>;
}

type Refusal = { reason: string };

/** Attention width: q projection rows, or a fused qkv projection's third. */
const ATTENTION: Array<[RegExp, (s: number[]) => number]> = [
  [/(^|\.)(q_proj|query|q_lin|wq|to_q)\.weight$/, (s) => s[0]!],
  [/(^|\.)c_attn\.weight$/, (s) => s[1]! / 3], // GPT-2 Conv1D [d, 3d]
  [/(^|\.)(in_proj_weight|qkv\.weight|query_key_value\.weight|Wqkv\.weight)$/, (s) => s[0]! / 3],
];
const POSITION_TABLE = /(^|\.)(wpe|position_embeddings|embed_positions)\.weight$/;

function transformerWork(model: ModelDescription, params: TensorDescriptor[], blocks: number, options: InferenceOptions): Work | Refusal {
  if (blocks === 0) return { reason: 'no numbered transformer blocks found: n_layer is unknown' };
  let dAttn: number | undefined;
  for (const [re, width] of ATTENTION) {
    const t = params.find((p) => re.test(p.name) && p.shape.length === 2);
    if (t) {
      dAttn = width(t.shape);
      break;
    }
  }
  if (dAttn === undefined) return { reason: 'no attention projection (q_proj, query, c_attn, in_proj_weight, qkv …) found: d_attn is unknown' };
  const assumptions: string[] = [];
  let nCtx = options.contextLength;
  if (nCtx === undefined) {
    const config = readHuggingFaceConfig(model.path)?.values ?? {};
    const key = ['n_ctx', 'n_positions', 'max_position_embeddings'].find((k) => typeof config[k] === 'number');
    const table = params.find((p) => POSITION_TABLE.test(p.name) && p.shape.length === 2);
    if (key) {
      nCtx = config[key] as number;
      assumptions.push(`context ${nCtx} from config.json ${key} (give --context-length to choose)`);
    } else if (table) {
      nCtx = table.shape[0]!;
      assumptions.push(`context ${nCtx}: the rows of ${table.name} (give --context-length to choose)`);
    } else return { reason: 'the context length is not stored (no config.json, no learned position table): give --context-length' };
  }
  const total = params.reduce((s, p) => s + p.numel, 0);
  const embedding = params.filter((p) => isAnyEmbedding(model, p.name)).reduce((s, p) => s + p.numel, 0);
  const n = total - embedding;
  const flops = 2 * n + 2 * blocks * nCtx * dAttn;
  assumptions.push('forward pass per token at the full context; embeddings and the output projection to the vocabulary are not counted (Kaplan et al. 2020)');
  return {
    method: 'transformer_kaplan',
    unit: 'token',
    flops,
    macs: flops / 2,
    assumptions,
    detail: { non_embedding_params: n, n_layer: blocks, n_ctx: nCtx, d_attn: dAttn, attention_flops: 2 * blocks * nCtx * dAttn },
  };
}

const conv = (size: number, k: number, stride: number, pad: number) => Math.floor((size + 2 * pad - k) / stride) + 1;

/**
 * torchvision's ResNet (resnet18 … 152, wide_resnet, resnext): stem conv 7×7/2 padding 3 and
 * max-pool 3×3/2 padding 1; stride 2 in the first block of layer2–4 (on conv1 of a BasicBlock,
 * conv2 of a Bottleneck, and on its downsample.0); padding (k − 1)/2 elsewhere.
 */
function resnetWork(params: TensorDescriptor[], input: number[] | undefined): Work | Refusal {
  const byName = new Map(params.map((p) => [p.name, p]));
  const stem = params.find((p) => p.name.endsWith('conv1.weight') && byName.has(p.name.replace(/conv1\.weight$/, 'layer1.0.conv1.weight')));
  if (stem?.shape.length !== 4)
    return { reason: 'convolution strides are not stored in the weights, and the layout is not torchvision ResNet (conv1, layer1…4, fc): not estimated' };
  if (!input) return { reason: 'a convolutional network needs --input-shape N,C,H,W (e.g. 1,3,224,224)' };
  if (input.length !== 4) return { reason: `--input-shape must be N,C,H,W for a convolutional network, got ${input.length} dimensions` };
  const [batch, channels, h0, w0] = input as [number, number, number, number];
  if (channels !== stem.shape[1]) return { reason: `--input-shape has ${channels} channels, ${stem.name} expects ${stem.shape[1]}` };
  const prefix = stem.name.slice(0, -'conv1.weight'.length);
  const layers: Array<{ name: string; macs: number; out: [number, number] }> = [];
  const apply = (w: TensorDescriptor, hw: [number, number], stride: number): [number, number] => {
    const [kh, kw] = [w.shape[2]!, w.shape[3]!];
    const out: [number, number] = [conv(hw[0], kh, stride, (kh - 1) >> 1), conv(hw[1], kw, stride, (kw - 1) >> 1)];
    layers.push({ name: w.name, macs: w.numel * out[0] * out[1] * batch, out });
    return out;
  };
  let hw = apply(stem, [h0, w0], 2);
  hw = [conv(hw[0], 3, 2, 1), conv(hw[1], 3, 2, 1)]; // max-pool
  for (let stage = 1; byName.has(`${prefix}layer${stage}.0.conv1.weight`); stage++) {
    for (let b = 0; byName.has(`${prefix}layer${stage}.${b}.conv1.weight`); b++) {
      const at = `${prefix}layer${stage}.${b}.`;
      const stride = stage > 1 && b === 0 ? 2 : 1;
      const bottleneck = byName.has(`${at}conv3.weight`);
      const input = hw;
      for (let i = 1; byName.has(`${at}conv${i}.weight`); i++) {
        const w = byName.get(`${at}conv${i}.weight`)!;
        if (w.shape.length !== 4) return { reason: `${w.name} is not a 2-D convolution kernel` };
        hw = apply(w, hw, (bottleneck ? i === 2 : i === 1) ? stride : 1);
      }
      const down = byName.get(`${at}downsample.0.weight`);
      if (down) apply(down, input, stride);
    }
  }
  if (hw[0] < 1 || hw[1] < 1) return { reason: `--input-shape ${input.join(',')} is too small: a feature map shrinks below 1×1` };
  const fc = byName.get(`${prefix}fc.weight`);
  if (fc) layers.push({ name: fc.name, macs: fc.numel * batch, out: [1, 1] });
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  return {
    method: 'torchvision_resnet',
    unit: 'batch',
    macs,
    flops: 2 * macs,
    assumptions: [
      'torchvision ResNet strides (stem 7×7/2 and max-pool 3×3/2; stride 2 entering layer2–4), padding (k − 1)/2: the weights do not store them',
      'MACs of convolutions and the classifier only (BatchNorm, ReLU, pooling and additions not counted, as torchvision reports GFLOPS); FLOPs = 2 × MACs',
    ],
    detail: { input_shape: input, final_feature_map: hw, layers },
  };
}

/** `weights`: the parameters and the quantized weights that stand in for float ones (dynamic quantization). */
function mlpWork(weights: TensorDescriptor[], input: number[] | undefined): Work {
  const batch = input?.[0] ?? 1;
  const macs = weights.filter((p) => p.shape.length === 2).reduce((s, p) => s + p.numel, 0) * batch;
  return {
    method: 'mlp',
    unit: 'batch',
    macs,
    flops: 2 * macs,
    assumptions: [`each weight matrix applied once per sample; batch ${batch}${input ? ' (--input-shape)' : ''}`],
    detail: { batch },
  };
}

function computeClass(dtypes: Map<DType, number>): ComputeClass {
  const top = [...dtypes].sort((x, y) => y[1] - x[1])[0]?.[0];
  if (top === 'f16' || top === 'bf16' || top === 'f8_e4m3' || top === 'f8_e5m2') return 'fp16';
  if (top === 'i8' || top === 'u8') return 'int8';
  return 'fp32';
}

function estimate(c: Collected, model: ModelDescription) {
  const view = modelViewOf(model);
  const unique = model.tensors.filter((t) => view.entries.get(t.name)?.tiedTo === undefined);
  const role = (t: TensorDescriptor) => view.entries.get(t.name)?.role;
  const params = unique.filter((t) => role(t) === 'parameter');
  const arch = describeArchitecture(model, unique);
  const options = c.inference;
  const work: Work | Refusal =
    arch.family === 'transformer'
      ? transformerWork(model, params, arch.blocks, options)
      : arch.family === 'cnn'
        ? resnetWork(params, options.inputShape)
        : arch.family === 'mlp'
          ? mlpWork([...params, ...unique.filter((t) => role(t) === 'quantized' && view.entries.get(t.name)?.linkedTo?.endsWith('weight'))], options.inputShape)
          : { reason: `a ${arch.family} architecture: its FLOPs are not derived from the weights` };
  if ('reason' in work) return { file: model.path, family: arch.family, applicable: false as const, reason: work.reason };
  const totals = view.totals();
  const weightBytes = totals.parameter.bytes + totals.buffer.bytes + totals.quantized.bytes;
  const dtypes = new Map<DType, number>();
  for (const t of unique) if (role(t) === 'parameter' || role(t) === 'quantized') dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + t.numel);
  const cls = [...unique].some((t) => role(t) === 'quantized' && t.quantization) ? 'int8' : computeClass(dtypes);
  const profile = DEVICE_PROFILES[options.deviceProfile ?? DEFAULT_DEVICE]!;
  const peak = options.peakTflops ?? profile.peakTflops[cls];
  const bandwidth = options.bandwidthGbs ?? profile.bandwidthGbs;
  const computeTime = work.flops / (peak * 1e12);
  const memoryTime = weightBytes / (bandwidth * 1e9);
  const time = Math.max(computeTime, memoryTime);
  return {
    file: model.path,
    family: arch.family,
    applicable: true as const,
    method: work.method,
    unit: work.unit,
    flops: work.flops,
    macs: work.macs,
    weight_bytes: weightBytes,
    compute_class: cls,
    peak_tflops: peak,
    bandwidth_gbs: bandwidth,
    arithmetic_intensity: weightBytes > 0 ? work.flops / weightBytes : null,
    compute_time_s: computeTime,
    memory_time_s: memoryTime,
    time_s: time,
    bound: computeTime >= memoryTime ? 'compute' : 'memory',
    throughput_per_s: time > 0 ? 1 / time : null,
    assumptions: [...work.assumptions, 'weights read once per forward pass, activations not counted in the bytes'],
    ...work.detail,
  };
}

export function inferenceSpeed(c: Collected, p: PairData) {
  const a = estimate(c, p.a);
  const b = estimate(c, p.b);
  if (!a.applicable && !b.applicable) return notApplicable(a.reason === b.reason ? a.reason : `${p.a.path}: ${a.reason}; ${p.b.path}: ${b.reason}`);
  const name = c.inference.deviceProfile ?? DEFAULT_DEVICE;
  const profile = DEVICE_PROFILES[name]!;
  const overridden = c.inference.peakTflops !== undefined || c.inference.bandwidthGbs !== undefined;
  const data = {
    ...pairData(p),
    device: { profile: name, name: profile.name, source: profile.source, overridden },
    model_a: a,
    model_b: b,
    /** time A / time B: above 1 when B is faster. */
    speedup: a.applicable && b.applicable && b.time_s > 0 ? a.time_s / b.time_s : null,
  };
  const pick = <T>(f: (m: Extract<typeof a, { applicable: true }>) => T) => [a, b].map((m) => (m.applicable ? f(m) : null));
  const arrow = (xs: Array<string | number | null>) => xs.map((x) => (typeof x === 'number' ? fmt(x) : (x ?? 'none'))).join('->');
  const summary = `${summaryFields([
    ['device', name],
    ['unit', b.applicable ? b.unit : a.applicable ? a.unit : 'none'],
    ['flops', arrow(pick((m) => m.flops))],
    ['latency_ms', arrow(pick((m) => m.time_s * 1e3))],
    ['bound', arrow(pick((m) => m.bound))],
    ['speedup', data.speedup],
  ])}${pairLabel(c, p)}`;
  const details = [`device ${profile.name}${overridden ? ' (peak/bandwidth overridden)' : ''}: ${profile.source}`];
  for (const m of [a, b]) {
    if (!m.applicable) {
      details.push(`${m.file}: not estimated (${m.reason})`);
      continue;
    }
    details.push(
      `${m.file}: ${m.method}, ${fmt(m.flops)} FLOPs per ${m.unit} (${fmt(m.macs)} MACs), ${m.weight_bytes} weight bytes, ${m.compute_class} peak ${fmt(m.peak_tflops)} TFLOPS, ${fmt(m.bandwidth_gbs)} GB/s: ${fmt(m.time_s * 1e3)} ms (${m.bound}-bound)`,
    );
    for (const s of m.assumptions) details.push(`  assumes ${s}`);
  }
  return { summary, details, data };
}

export type InferenceSpeedData = ReturnType<typeof inferenceSpeed>['data'];

const plugin: PairAnalysis<InferenceSpeedData> = {
  key: 'InferenceSpeedEstimate',
  label: 'inference_speed_estimate',
  scope: 'pair',
  analyze: inferenceSpeed,
};
export default plugin;
