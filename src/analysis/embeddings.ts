/**
 * Which tensors of a pair of models are embedding matrices, and how the LM head relates to
 * the token embedding (tied in A, in B, broken), from names, shapes and the model view's tie
 * groups alone: no tensor data is read here.
 */
import { isFloat } from '../dtypes.js';
import type { ModelDescription, TensorDescriptor } from '../formats/types.js';
import { modelViewOf, type ModelView } from '../model/view.js';
import type { EmbeddingKind, HeadTie, TieStatus } from './embedding-data.js';
import { layerOf } from './helpers.js';

/**
 * Module names (the component before `.weight`) by kind: torch `nn.Embedding` attributes and
 * Hugging Face names (GPT-2 `wte`/`wpe`, Llama/Mistral/Qwen `embed_tokens`, BERT
 * `word_embeddings`/`position_embeddings`/`token_type_embeddings`, GPT-NeoX `embed_in`, T5
 * `shared`, OPT/BART `embed_positions`, CLIP `token_embedding`, Meta Llama `tok_embeddings`,
 * llama.cpp `token_embd`), and the names of nanoGPT-style code (`tok_emb`, `pos_emb`).
 */
const MODULES: Record<Exclude<EmbeddingKind, 'lm_head'>, ReadonlySet<string>> = {
  token: new Set([
    'wte',
    'embed_tokens',
    'word_embeddings',
    'tok_emb',
    'tok_embeddings',
    'tok_embedding',
    'token_embedding',
    'token_embeddings',
    'token_embd',
    'embed_in',
    'shared',
    'word_emb',
    'embedding',
    'embeddings',
    'embed',
    'emb',
  ]),
  position: new Set(['wpe', 'position_embeddings', 'position_embedding', 'embed_positions', 'pos_emb', 'pos_embedding', 'pos_embed', 'position_embd']),
  token_type: new Set(['token_type_embeddings', 'segment_embeddings']),
};

/** Output projections over the vocabulary, recognised when shaped like the token embedding (or tied to it). */
const HEADS: ReadonlySet<string> = new Set(['lm_head', 'embed_out', 'output', 'decoder']);

export interface EmbeddingMatrix {
  name: string;
  kind: EmbeddingKind;
  a?: TensorDescriptor;
  b?: TensorDescriptor;
}

function moduleName(name: string): string | undefined {
  if (!name.endsWith('.weight') && name !== 'weight') return undefined;
  const layer = layerOf(name);
  return layer.slice(layer.lastIndexOf('.') + 1);
}

export function kindOf(name: string): Exclude<EmbeddingKind, 'lm_head'> | undefined {
  const m = moduleName(name);
  if (m === undefined) return undefined;
  for (const kind of ['token', 'position', 'token_type'] as const) if (MODULES[kind].has(m)) return kind;
  return undefined;
}

/** A parameter matrix whose values embedding analyses can read. */
function matrix(view: ModelView, name: string): TensorDescriptor | undefined {
  const e = view.entries.get(name);
  if (e?.role !== 'parameter') return undefined;
  const d = e.descriptor;
  return d.shape.length === 2 && isFloat(d.dtype) && d.numel > 0 ? d : undefined;
}

function tied(view: ModelView, x: string, y: string): boolean {
  return view.tieGroupOf(x)?.members.includes(y) === true;
}

const KIND_ORDER: Record<EmbeddingKind, number> = { token: 0, position: 1, token_type: 2, lm_head: 3 };

export interface EmbeddingLayout {
  /** Embedding matrices (token first), then an LM head that is not tied on both sides. */
  matrices: EmbeddingMatrix[];
  /** The token embedding's LM head and its tie status, when the model has one. */
  tie?: HeadTie;
}

/** The embedding matrices of A and B (by name), and the LM head's tie to the token embedding. */
export function embeddingLayout(a: ModelDescription, b: ModelDescription): EmbeddingLayout {
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const names = new Set([...va.entries.keys(), ...vb.entries.keys()]);
  const matrices: EmbeddingMatrix[] = [];
  for (const name of names) {
    const kind = kindOf(name);
    if (kind === undefined) continue;
    const ma = matrix(va, name);
    const mb = matrix(vb, name);
    if (ma || mb) matrices.push({ name, kind, a: ma, b: mb });
  }
  matrices.sort((x, y) => KIND_ORDER[x.kind] - KIND_ORDER[y.kind] || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const token = matrices.find((m) => m.kind === 'token');
  if (!token) return { matrices };
  const shape = (token.a ?? token.b)!.shape;
  const head = [...names].find((name) => {
    if (name === token.name) return false;
    if (tied(va, name, token.name) || tied(vb, name, token.name)) return true;
    const m = moduleName(name);
    if (m === undefined || !HEADS.has(m)) return false;
    const d = matrix(va, name) ?? matrix(vb, name);
    return d !== undefined && d.shape[0] === shape[0] && d.shape[1] === shape[1];
  });
  if (head === undefined) return { matrices };
  const tiedA = tied(va, head, token.name);
  const tiedB = tied(vb, head, token.name);
  const status: TieStatus = tiedA && tiedB ? 'tied' : tiedA ? 'broken' : tiedB ? 'tied_in_b' : 'untied';
  // A head tied on both sides holds the embedding's values: comparing it again adds nothing.
  if (status !== 'tied') matrices.push({ name: head, kind: 'lm_head', a: matrix(va, head), b: matrix(vb, head) });
  return { matrices, tie: { head, embedding: token.name, tied_a: tiedA, tied_b: tiedB, status } };
}

/**
 * A token embedding table: an embedding name, or tied to one (an LM head tied to the token
 * embedding). Used to exempt embedding rows from dead-neuron findings.
 */
export function isEmbedding(model: ModelDescription, name: string): boolean {
  if (kindOf(name) === 'token') return true;
  return (
    modelViewOf(model)
      .tieGroupOf(name)
      ?.members.some((m) => kindOf(m) === 'token') === true
  );
}

/**
 * Any embedding table (token, positional, token type): what "non-embedding parameters"
 * (Kaplan et al. 2020) leave out. Positional tables stored as bare parameters (torchvision
 * ViT `encoder.pos_embedding`, CLIP `positional_embedding`) count too.
 */
export function isAnyEmbedding(model: ModelDescription, name: string): boolean {
  if (isEmbedding(model, name) || kindOf(name) !== undefined) return true;
  const last = name.slice(name.lastIndexOf('.') + 1);
  return MODULES.position.has(last) || last === 'positional_embedding';
}
