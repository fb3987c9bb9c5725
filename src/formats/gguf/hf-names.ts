/**
 * Cross-format names for GGUF: llama.cpp's convert_hf_to_gguf renames Hugging Face tensors
 * (`model.layers.0.self_attn.q_proj.weight` → `blk.0.attn_q.weight`) and, for the llama
 * architecture, permutes the rows of Q and K (its `permute`: within each head, the two
 * rotary halves are interleaved). When a GGUF model is compared with a model that uses
 * Hugging Face names, its tensors take the Hugging Face names back and Q/K are read through
 * a view that undoes the permutation, so that `diffai model.safetensors model.gguf` pairs
 * every weight with its original element for element.
 *
 * Applied automatically, and only then: a GGUF file alone (inspect, or against another
 * GGUF) keeps its own names.
 */
import type { LeafValue, ModelDescription, TensorDescriptor } from '../types.js';

/** Top-level GGUF names and their Hugging Face (llama family) names. */
const TOP: Record<string, string> = {
  token_embd: 'model.embed_tokens',
  output_norm: 'model.norm',
  output: 'lm_head',
};

/** Per-block GGUF names (`blk.N.<name>`) and their names under `model.layers.N.`. */
const BLOCK: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

/** Architectures whose converter permutes Q/K rows (convert_hf_to_gguf's LlamaModel and its subclasses that keep `permute`). */
const PERMUTED_ARCHITECTURES = new Set(['llama']);

const BLOCK_NAME = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/;
const TOP_NAME = /^([a-z_]+)\.(weight|bias)$/;

/** The Hugging Face name of a GGUF tensor name, or undefined when it has none here. */
export function huggingFaceName(ggufName: string): string | undefined {
  const block = BLOCK_NAME.exec(ggufName);
  if (block) {
    const hf = BLOCK[block[2]!];
    return hf === undefined ? undefined : `model.layers.${block[1]}.${hf}.${block[3]}`;
  }
  const top = TOP_NAME.exec(ggufName);
  const hf = top ? TOP[top[1]!] : undefined;
  return hf === undefined ? undefined : `${hf}.${top![2]}`;
}

/** True when a model's tensors carry Hugging Face transformer names. */
export function usesHuggingFaceNames(model: ModelDescription): boolean {
  return model.tensors.some((t) => t.name.startsWith('model.layers.') || t.name.startsWith('model.embed_tokens.'));
}

/**
 * The models with every GGUF model renamed to Hugging Face names (Q/K un-permuted) when
 * another of them uses Hugging Face names; otherwise the models unchanged.
 */
export function alignGgufNames(models: ModelDescription[]): ModelDescription[] {
  if (!models.some((m) => m.format === 'gguf') || !models.some((m) => m.format !== 'gguf' && usesHuggingFaceNames(m))) return models;
  return models.map((m) => (m.format === 'gguf' ? toHuggingFace(m) : m));
}

function toHuggingFace(model: ModelDescription): ModelDescription {
  const arch = typeof model.leaves['general.architecture'] === 'string' ? model.leaves['general.architecture'] : undefined;
  const permuted = arch !== undefined && PERMUTED_ARCHITECTURES.has(arch);
  const warnings = [...model.warnings];
  const tensors = model.tensors.map((t): TensorDescriptor => {
    const name = huggingFaceName(t.name);
    if (name === undefined) return t;
    const renamed: TensorDescriptor = { ...t, name, notes: [...(t.notes ?? []), `GGUF name ${t.name}`] };
    const kind = /\.attn_([qk])\./.exec(t.name)?.[1];
    if (!permuted || !kind) return renamed;
    const layer = Number(/^blk\.(\d+)\./.exec(t.name)![1]);
    const heads = headCount(model.leaves, `${arch}.attention.head_count`, layer);
    const kvHeads = headCount(model.leaves, `${arch}.attention.head_count_kv`, layer) ?? heads;
    const groups = kind === 'q' ? heads : kvHeads;
    const view = groups === undefined ? undefined : unpermuteView(t, groups);
    if (!view) {
      warnings.push(
        `${t.name}: cannot undo llama.cpp's Q/K row permutation (head count ${groups ?? 'missing'} for ${t.shape[0] ?? 0} rows); compared as stored`,
      );
      return renamed;
    }
    return { ...renamed, view, notes: [...renamed.notes!, "rows un-permuted (llama.cpp's Q/K order)"] };
  });
  return { ...model, tensors, warnings };
}

/** A head count from the metadata: a number, or per layer an array of numbers. */
function headCount(leaves: Record<string, LeafValue>, key: string, layer: number): number | undefined {
  const v = leaves[key];
  const n = Array.isArray(v) ? v[layer] : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The view that reads GGUF's rows in Hugging Face order. convert_hf_to_gguf stored
 * W.reshape(heads, 2, half, cols).swapaxes(1, 2); Hugging Face element (h, j, i, c) is
 * therefore stored at ((h·half + i)·2 + j)·cols + c.
 */
export function unpermuteView(t: TensorDescriptor, heads: number): TensorDescriptor['view'] | undefined {
  const rows = t.shape[0];
  if (t.view || rows === undefined || t.shape.length > 2 || rows % (2 * heads) !== 0 || rows === 0) return undefined;
  const cols = t.numel / rows;
  const half = rows / heads / 2;
  return { offset: 0, dims: [heads, 2, half, cols], strides: [2 * half * cols, cols, 2 * cols, 1] };
}
