/** Embedding tables by name, as the analyses recognise them (token tables, and positional tables apart). */
import type { ModelDescription } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';

const EMBEDDING = /(^|\.)(wte|word_embeddings|embed_tokens|tok_embeddings|tok_emb|embed_in|embeddings?|embed|emb|shared)\.weight$/;
/** Learned positional tables: GPT-2 `wpe`, BERT `position_embeddings`, BART `embed_positions`, torchvision ViT `pos_embedding`, CLIP `positional_embedding`. */
const POSITION_EMBEDDING = /(^|\.)(wpe|position_embeddings|embed_positions|pos_embedding|pos_emb|positional_embedding)(\.weight)?$/;

/** A token embedding table: an embedding name, or tied to one (an LM head tied to the token embedding). */
export function isEmbedding(model: ModelDescription, name: string): boolean {
  if (EMBEDDING.test(name)) return true;
  return (
    modelViewOf(model)
      .tieGroupOf(name)
      ?.members.some((m) => EMBEDDING.test(m)) === true
  );
}

/** A token or positional embedding table: what "non-embedding parameters" (Kaplan et al. 2020) leave out. */
export function isAnyEmbedding(model: ModelDescription, name: string): boolean {
  return isEmbedding(model, name) || POSITION_EMBEDDING.test(name);
}
