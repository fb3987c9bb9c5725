/**
 * Token strings for embedding rows, from a tokenizer file beside the model: Hugging Face
 * `tokenizer.json` (`model.vocab` as token → id for BPE/WordPiece or [piece, score] pairs
 * for Unigram, plus `added_tokens`), else a GPT-2 style `vocab.json` (token → id). The file
 * is untrusted: its size is capped before it is read, its nesting checked before it is
 * parsed, and only the ids asked for are kept. A file that cannot be used is a warning in the
 * analysis, never an error of the comparison. Strings are returned as stored; the text
 * renderer escapes control characters.
 */
import { DiffaiError } from '../errors.js';
import { parseJson } from '../io/json.js';
import { readSibling, siblingPath } from '../io/sibling-file.js';

/** Larger tokenizer files are not read (real ones: GPT-2 1.4 MB, Llama 3 9 MB, Gemma 34 MB). */
export const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;
/** Token strings longer than this are cut (with …) for display. */
export const MAX_TOKEN_CHARS = 64;

export const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json'] as const;

export interface TokenLookup {
  /** The file the strings came from, or undefined when none was found. */
  path?: string;
  /** Why a file found could not be used. */
  warning?: string;
  tokens: Map<number, string>;
}

/** Token strings of the ids `wanted`, from the tokenizer beside the model (remote models: at the same URL directory). */
export function tokenStrings(modelPath: string, wanted: Iterable<number>): TokenLookup {
  const want = new Set(wanted);
  let path: string | undefined;
  try {
    for (const name of TOKENIZER_FILES) {
      path = siblingPath(modelPath, name);
      const found = readSibling(modelPath, name, MAX_TOKENIZER_BYTES);
      if (!found) continue;
      if ('tooLarge' in found) return { path, warning: `${found.size} bytes, larger than the ${MAX_TOKENIZER_BYTES}-byte limit; not read`, tokens: new Map() };
      const tokens = vocabulary(parseJson(found.bytes.toString('utf8'), path, 'not valid JSON'), want);
      if (tokens === undefined) return { path, warning: 'no vocabulary found (expected model.vocab or a token → id object)', tokens: new Map() };
      return { path, tokens };
    }
  } catch (e) {
    if (e instanceof DiffaiError) return { path, warning: e.message, tokens: new Map() };
    throw e;
  }
  return { tokens: new Map() };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** id → token for the wanted ids, from a parsed tokenizer.json or vocab.json; undefined when it holds no vocabulary. */
function vocabulary(json: unknown, want: Set<number>): Map<number, string> | undefined {
  if (!isObject(json)) return undefined;
  const out = new Map<number, string>();
  const keep = (id: unknown, token: unknown) => {
    if (typeof id === 'number' && typeof token === 'string' && want.has(id) && !out.has(id)) out.set(id, display(token));
  };
  const model = json.model;
  if (isObject(model)) {
    const vocab = model.vocab;
    if (Array.isArray(vocab)) for (const [id, entry] of vocab.entries()) keep(id, Array.isArray(entry) ? entry[0] : undefined);
    else if (isObject(vocab)) for (const token of Object.keys(vocab)) keep(vocab[token], token);
    else return undefined;
    if (Array.isArray(json.added_tokens)) for (const t of json.added_tokens) if (isObject(t)) keep(t.id, t.content);
    return out;
  }
  // vocab.json: every value an id.
  for (const token of Object.keys(json)) keep(json[token], token);
  return out;
}

function display(token: string): string {
  const chars = [...token];
  return chars.length > MAX_TOKEN_CHARS ? `${chars.slice(0, MAX_TOKEN_CHARS).join('')}…` : token;
}
