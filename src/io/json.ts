/**
 * JSON from files (safetensors headers, shard indexes, config.json): nesting is checked
 * before parsing, because every later walk of the value (leaves, rendering, comparing)
 * recurses, and 100,000 nested arrays would overflow the stack there.
 */
import { DiffaiError } from '../errors.js';

/** Deeper JSON than this is refused; real headers, indexes and configs nest a few levels. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in `text` (strings skipped), stopping early past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Parses `text` as JSON; a syntax error or nesting deeper than MAX_JSON_DEPTH is a
 * DiffaiError `<invalid>: <why>` (`invalid` names what was expected).
 */
export function parseJson(text: string, file: string, invalid: string): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new DiffaiError(file, `${invalid}: nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DiffaiError(file, `${invalid}: ${jsonSyntaxError(e)}`);
  }
}

/**
 * Where the syntax error is, without V8's excerpt of the text: the file may not be one the
 * user named (a shard behind an index), and its bytes are not ours to print.
 */
export function jsonSyntaxError(e: unknown): string {
  const message = (e as Error)?.message ?? '';
  const at = /position (\d+)/.exec(message);
  if (at) return `syntax error at character ${at[1]}`;
  return /end of (JSON|data)/i.test(message) ? 'unexpected end of the JSON text' : 'syntax error';
}
