/**
 * Recognises the attention layers of a model from its tensor names and shapes, and where
 * each head's projections are: Hugging Face Llama/Mistral/Qwen (`q_proj/k_proj/v_proj/o_proj`,
 * grouped-query attention), `q_proj/k_proj/v_proj/out_proj` (OPT, BART, CLIP, the test
 * GPTs), GPT-2 (fused `c_attn`, Conv1D stored [in, out]), BERT (`query/key/value`,
 * `attention.output.dense`), torch `nn.MultiheadAttention` (`in_proj_weight`, `out_proj`;
 * torchvision ViT's `encoder_layer_N.self_attention`), Meta's `wq/wk/wv/wo` and GGUF's
 * `blk.N.attn_q/attn_k/attn_v/attn_output`. Reads no tensor data.
 *
 * Head counts are never guessed from shapes: they come from --num-heads/--num-kv-heads, a
 * Hugging Face config.json beside the model, or the file's metadata; the number of K/V
 * heads then follows from the shapes (and must agree with a stated one).
 */
import { isFloat } from '../dtypes.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../formats/types.js';
import { readHuggingFaceConfig } from '../model/hyperparameters.js';
import { SAFETENSORS_METADATA_PREFIX } from '../model/ties.js';

/**
 * Where the projection of one kind lives: rows [row0, row0 + rows) of the stored 2-D tensor
 * (after transposing it when `transposed`) hold the heads one after another, d_head rows
 * each, every row of length d_model. For Q, K and V these rows are the head's output units
 * (W_Q^h is d_head × d_model); for O they are the head's input columns of W_O, so the block
 * is (W_O^h)ᵀ.
 */
export interface ProjectionSpec {
  tensor: string;
  transposed: boolean;
  row0: number;
  rows: number;
}

export interface AttentionLayer {
  /** The attention module (`model.layers.3.self_attn`, `h.0.attn`, `encoder.layer.2.attention`). */
  name: string;
  layout: LayoutName;
  dModel: number;
  q: ProjectionSpec;
  k: ProjectionSpec;
  v: ProjectionSpec;
  o: ProjectionSpec;
  /** The key bias, when there is one: a slice of a 1-D tensor. */
  keyBias?: { tensor: string; start: number; length: number };
}

export type LayoutName = 'hf_q_proj' | 'q_proj_out_proj' | 'gpt2_c_attn' | 'bert' | 'torch_mha' | 'torchvision_vit' | 'meta_wq' | 'gguf';

export interface HeadCounts {
  heads: number;
  /** Stated K/V heads (config or option), checked against the shapes. */
  kvHeads?: number;
  /** Where the counts came from, e.g. `config.json (num_attention_heads)`. */
  source: string;
}

export interface HeadOptions {
  numHeads?: number;
  numKvHeads?: number;
}

/** A layer with its head geometry resolved. */
export interface ResolvedLayer extends AttentionLayer {
  heads: number;
  kvHeads: number;
  dHead: number;
}

export type LayoutResult =
  | { kind: 'none' }
  | { kind: 'unresolved'; reason: string; layers: AttentionLayer[] }
  | { kind: 'resolved'; layers: ResolvedLayer[]; counts: HeadCounts; layouts: LayoutName[] };

type Tensors = Map<string, TensorDescriptor>;

function matrix(t: Tensors, name: string): TensorDescriptor | undefined {
  const d = t.get(name);
  return d && d.shape.length === 2 && isFloat(d.dtype) ? d : undefined;
}

function vector(t: Tensors, name: string): TensorDescriptor | undefined {
  const d = t.get(name);
  return d && d.shape.length === 1 && isFloat(d.dtype) ? d : undefined;
}

/** A Linear-style weight [out, in] read as rows. */
function linear(tensor: string, d: TensorDescriptor): ProjectionSpec {
  return { tensor, transposed: false, row0: 0, rows: d.shape[0]! };
}

/** An output projection [d_model, d_attn] (Linear): its input columns, read transposed. */
function outLinear(tensor: string, d: TensorDescriptor): ProjectionSpec {
  return { tensor, transposed: true, row0: 0, rows: d.shape[1]! };
}

function bias(t: Tensors, name: string, length: number): AttentionLayer['keyBias'] {
  const b = vector(t, name);
  return b && b.shape[0] === length ? { tensor: name, start: 0, length } : undefined;
}

/** Separate q/k/v/o projections named `<prefix><q>.weight` etc. */
function separate(t: Tensors, prefix: string, names: [string, string, string, string], out: string, layout: LayoutName): AttentionLayer | undefined {
  const [qn, kn, vn, on] = names.map((n) => `${prefix}${n}.weight`) as [string, string, string, string];
  const on2 = out.length > 0 ? `${out}.weight` : on;
  const q = matrix(t, qn);
  const k = matrix(t, kn);
  const v = matrix(t, vn);
  const o = matrix(t, on2);
  if (!q || !k || !v || !o) return undefined;
  const dModel = q.shape[1]!;
  if (k.shape[1] !== dModel || v.shape[1] !== dModel || o.shape[0] !== dModel || o.shape[1] !== q.shape[0] || k.shape[0] !== v.shape[0]) return undefined;
  return {
    name: prefix.replace(/\.$/, ''),
    layout,
    dModel,
    q: linear(qn, q),
    k: linear(kn, k),
    v: linear(vn, v),
    o: outLinear(on2, o),
    keyBias: bias(t, `${prefix}${names[1]}.bias`, k.shape[0]!),
  };
}

/** Every attention layer the names and shapes show, in the model's natural order. */
export function findAttentionLayers(model: ModelDescription): AttentionLayer[] {
  const t: Tensors = new Map(model.tensors.map((d) => [d.name, d]));
  const found = new Map<string, AttentionLayer>();
  const add = (l: AttentionLayer | undefined) => {
    if (l && !found.has(l.name)) found.set(l.name, l);
  };
  for (const name of t.keys()) {
    let m: RegExpExecArray | null;
    if ((m = /^(.*?)q_proj\.weight$/.exec(name))) {
      const p = m[1]!;
      add(
        separate(t, p, ['q_proj', 'k_proj', 'v_proj', 'o_proj'], '', 'hf_q_proj') ??
          separate(t, p, ['q_proj', 'k_proj', 'v_proj', 'out_proj'], '', 'q_proj_out_proj'),
      );
    } else if ((m = /^(.*?)wq\.weight$/.exec(name))) {
      add(separate(t, m[1]!, ['wq', 'wk', 'wv', 'wo'], '', 'meta_wq'));
    } else if ((m = /^(blk\.\d+\.)attn_q\.weight$/.exec(name))) {
      add(separate(t, m[1]!, ['attn_q', 'attn_k', 'attn_v', 'attn_output'], '', 'gguf'));
    } else if ((m = /^(.*\.)?attention\.self\.query\.weight$/.exec(name))) {
      const p = m[1] ?? '';
      const l = separate(t, `${p}attention.self.`, ['query', 'key', 'value', 'unused'], `${p}attention.output.dense`, 'bert');
      if (l) add({ ...l, name: `${p}attention` });
    } else if ((m = /^(.*?)c_attn\.weight$/.exec(name))) {
      add(gpt2(t, m[1]!));
    } else if ((m = /^(.*?)in_proj_weight$/.exec(name))) {
      add(mha(t, m[1]!));
    }
  }
  return [...found.values()].sort((a, b) => naturalCompare(a.name, b.name));
}

/** GPT-2: Conv1D weights stored [in, out]; c_attn [d, 3·d] holds Q, K, V side by side. */
function gpt2(t: Tensors, prefix: string): AttentionLayer | undefined {
  const w = matrix(t, `${prefix}c_attn.weight`);
  const o = matrix(t, `${prefix}c_proj.weight`);
  if (!w || !o) return undefined;
  const d = w.shape[0]!;
  if (w.shape[1] !== 3 * d || o.shape[0] !== d || o.shape[1] !== d) return undefined;
  const tensor = `${prefix}c_attn.weight`;
  const b = vector(t, `${prefix}c_attn.bias`);
  return {
    name: prefix.replace(/\.$/, ''),
    layout: 'gpt2_c_attn',
    dModel: d,
    q: { tensor, transposed: true, row0: 0, rows: d },
    k: { tensor, transposed: true, row0: d, rows: d },
    v: { tensor, transposed: true, row0: 2 * d, rows: d },
    o: { tensor: `${prefix}c_proj.weight`, transposed: false, row0: 0, rows: d },
    keyBias: b && b.shape[0] === 3 * d ? { tensor: `${prefix}c_attn.bias`, start: d, length: d } : undefined,
  };
}

/** torch nn.MultiheadAttention: in_proj_weight [3E, E] (rows Q, K, V), out_proj.weight [E, E]. */
function mha(t: Tensors, prefix: string): AttentionLayer | undefined {
  const w = matrix(t, `${prefix}in_proj_weight`);
  const o = matrix(t, `${prefix}out_proj.weight`);
  if (!w || !o) return undefined;
  const e = w.shape[1]!;
  if (w.shape[0] !== 3 * e || o.shape[0] !== e || o.shape[1] !== e) return undefined;
  const tensor = `${prefix}in_proj_weight`;
  const b = vector(t, `${prefix}in_proj_bias`);
  return {
    name: prefix.replace(/\.$/, ''),
    layout: /(^|\.)encoder_layer_\d+\.self_attention\.$/.test(prefix) ? 'torchvision_vit' : 'torch_mha',
    dModel: e,
    q: { tensor, transposed: false, row0: 0, rows: e },
    k: { tensor, transposed: false, row0: e, rows: e },
    v: { tensor, transposed: false, row0: 2 * e, rows: e },
    o: outLinear(`${prefix}out_proj.weight`, o),
    keyBias: b && b.shape[0] === 3 * e ? { tensor: `${prefix}in_proj_bias`, start: e, length: e } : undefined,
  };
}

/** Names compared with their numbers as numbers (`layers.2` before `layers.10`). */
export function naturalCompare(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (i % 2 === 1) return Number(x) - Number(y) || (x < y ? -1 : 1);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

const CONFIG_HEADS = ['num_attention_heads', 'n_head', 'num_heads', 'n_heads'];
const CONFIG_KV_HEADS = ['num_key_value_heads', 'n_kv_heads', 'num_kv_heads', 'n_head_kv'];

function positiveInt(v: LeafValue | unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function fromRecord(values: Record<string, unknown>, where: string, keyOf: (k: string) => string = (k) => k): HeadCounts | undefined {
  for (const key of CONFIG_HEADS) {
    const heads = positiveInt(values[keyOf(key)]);
    if (heads === undefined) continue;
    const kvKey = CONFIG_KV_HEADS.find((k) => positiveInt(values[keyOf(k)]) !== undefined);
    const mq = values[keyOf('multi_query')] === true;
    const kvHeads = kvKey ? positiveInt(values[keyOf(kvKey)]) : mq ? 1 : undefined;
    return { heads, kvHeads, source: `${where} (${key}${kvKey ? `, ${kvKey}` : mq ? ', multi_query' : ''})` };
  }
  return undefined;
}

/** GGUF's `<arch>.attention.head_count` and `head_count_kv` (single numbers). */
function fromGguf(leaves: Record<string, LeafValue>): HeadCounts | undefined {
  const key = Object.keys(leaves).find((k) => /^[a-z0-9_]+\.attention\.head_count$/.test(k));
  if (!key) return undefined;
  const heads = positiveInt(leaves[key]);
  if (heads === undefined) return undefined;
  const kvHeads = positiveInt(leaves[`${key}_kv`]);
  return { heads, kvHeads, source: `file metadata (${key}${kvHeads !== undefined ? '_kv' : ''})` };
}

/**
 * The head counts for a model: options first, then config.json beside the model, then the
 * file's own metadata (safetensors `__metadata__`, GGUF keys). Undefined when none says.
 */
export function headCounts(model: ModelDescription, options: HeadOptions, warnings: string[] = []): HeadCounts | undefined {
  if (options.numHeads !== undefined) return { heads: options.numHeads, kvHeads: options.numKvHeads, source: 'option --num-heads' };
  const config = readHuggingFaceConfig(model.path, warnings);
  const found =
    (config && (fromRecord(config.values, 'config.json') ?? nested(config.values))) ??
    fromRecord(model.leaves, 'file metadata', (k) => `${SAFETENSORS_METADATA_PREFIX}${k}`) ??
    fromGguf(model.leaves);
  if (!found) return undefined;
  return options.numKvHeads !== undefined ? { ...found, kvHeads: options.numKvHeads, source: `${found.source}, option --num-kv-heads` } : found;
}

/** Multimodal configs keep the language model's in `text_config`. */
function nested(values: Record<string, unknown>): HeadCounts | undefined {
  const text = values.text_config;
  return typeof text === 'object' && text !== null && !Array.isArray(text) ? fromRecord(text as Record<string, unknown>, 'config.json text_config') : undefined;
}

/** The head geometry of one layer, or why it cannot be had. */
function resolveLayer(l: AttentionLayer, c: HeadCounts): ResolvedLayer | string {
  const { heads } = c;
  if (l.q.rows % heads !== 0) return `${l.name}: ${l.q.rows} query rows do not split into ${heads} heads (${c.source})`;
  const dHead = l.q.rows / heads;
  if (l.o.rows !== l.q.rows) return `${l.name}: output projection has ${l.o.rows} inputs, the query ${l.q.rows} rows`;
  if (l.k.rows % dHead !== 0) return `${l.name}: ${l.k.rows} key rows are not whole heads of ${dHead}`;
  const kvHeads = l.k.rows / dHead;
  if (heads % kvHeads !== 0) return `${l.name}: ${heads} query heads do not group over ${kvHeads} key/value heads`;
  if (c.kvHeads !== undefined && c.kvHeads !== kvHeads) return `${l.name}: the shapes give ${kvHeads} key/value heads, ${c.source} says ${c.kvHeads}`;
  return { ...l, heads, kvHeads, dHead };
}

/** The attention layers of a model with heads resolved, or why not. */
export function attentionLayout(model: ModelDescription, options: HeadOptions, warnings: string[] = []): LayoutResult {
  const layers = findAttentionLayers(model);
  if (layers.length === 0) return { kind: 'none' };
  const seen = warnings.length;
  const counts = headCounts(model, options, warnings);
  // A config.json that was there but not read (too large, unreadable) is said with the reason.
  const trouble = warnings.length > seen ? ` (${warnings.slice(seen).join('; ')})` : '';
  if (!counts) return { kind: 'unresolved', reason: `head count unknown: pass --num-heads${trouble}`, layers };
  const resolved: ResolvedLayer[] = [];
  for (const l of layers) {
    const r = resolveLayer(l, counts);
    if (typeof r === 'string') return { kind: 'unresolved', reason: r, layers };
    resolved.push(r);
  }
  return { kind: 'resolved', layers: resolved, counts, layouts: [...new Set(resolved.map((l) => l.layout))] };
}
