/**
 * Text meant for a terminal: names, paths and messages come from untrusted files and
 * command lines, so control characters in them (ANSI/OSC escape sequences, carriage
 * return, backspace, NUL, newline …) are shown escaped, never sent raw. JSON and YAML keep
 * exact names (their own escaping is unambiguous); everything else goes through here.
 */

/**
 * C0 controls, DEL, C1 controls (a lone U+009B is a CSI on some terminals), line and
 * paragraph separators, bidirectional overrides and isolates (they reorder what is shown).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\u001b': '\\e', '\0': '\\0' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * UNSAFE's characters as UTF-8 byte sequences, matched in bytes read as latin1 (one char a
 * byte): C0 and DEL; C2 80–9F (U+0080–U+009F); E2 80 A8–AE (U+2028–U+202E); E2 81 A6–A9
 * (U+2066–U+2069); EF BB BF (U+FEFF).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_UTF8 = /[\x00-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf/;

/**
 * Bytes tested at once (a latin1 string of them, small enough to die young rather than sit
 * in large-object space until a full collection); windows overlap by 2 so no sequence is cut.
 */
export const UTF8_WINDOW = 1 << 16;

/**
 * True when UTF-8 bytes hold no character UNSAFE matches (the same set, as byte sequences):
 * many names checked without making their strings. Each sequence is whole within a name, so
 * names may be checked back to back.
 */
export function utf8TermSafe(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (let start = 0; start < b.length; start += UTF8_WINDOW - 2) {
    if (UNSAFE_UTF8.test(buf.toString('latin1', start, Math.min(b.length, start + UTF8_WINDOW)))) return false;
    if (start + UTF8_WINDOW >= b.length) break;
  }
  return true;
}

/** Characters of one piece of untrusted text (a name, a path, a value) that a message line shows. */
export const MAX_SHOWN_TEXT = 1000;

/**
 * `text` cut to about `max` characters: its start and end around a count of what was left out.
 * A one-line message stays readable when a file names a tensor with a megabyte of text.
 */
export function briefText(text: string, max = MAX_SHOWN_TEXT): string {
  if (text.length <= max) return text;
  const head = text.slice(0, Math.ceil(max * 0.6));
  const tail = text.slice(text.length - Math.floor(max * 0.3));
  return `${head}…(${text.length - head.length - tail.length} characters left out)…${tail}`;
}

/** `text` with every control character escaped (`\e`, `\n`, `\x07`, `\u202e` …); one line, safe to print. */
export function termSafe(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * A whole document of lines (Markdown, HTML) with every control character escaped as termSafe
 * does, but its own line breaks and tabs kept: names reach it from files, and the document
 * may be printed on a terminal.
 */
export function termSafeLines(text: string): string {
  UNSAFE_IN_LINES.lastIndex = 0;
  return UNSAFE_IN_LINES.test(text) ? text.replace(UNSAFE_IN_LINES, escapeOne) : text;
}

/**
 * A copy of `value` with termSafe applied to every string in it (object keys too); parts
 * without anything to escape are shared, not copied, so a clean report costs one walk.
 */
export function termSafeDeep<T>(value: T): T {
  return escapeValue(value, 0) as T;
}

/** Deeper than this, values are left as they are (readers bound nesting far below it). */
const MAX_DEPTH = 2000;

function escapeValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return termSafe(value);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || ArrayBuffer.isView(value)) return value;
  if (value instanceof Map) {
    let changed = false;
    const out = new Map();
    for (const [k, v] of value) {
      const k2 = escapeValue(k, depth + 1);
      const v2 = escapeValue(v, depth + 1);
      changed ||= k2 !== k || v2 !== v;
      out.set(k2, v2);
    }
    return changed ? out : value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v2 = escapeValue(value[i], depth + 1);
      if (v2 !== value[i]) {
        out ??= value.slice();
        out[i] = v2;
      }
    }
    return out ?? value;
  }
  const src = value as Record<string, unknown>;
  const keys = Object.keys(src);
  const entries = keys.map((k) => [termSafe(k), escapeValue(src[k], depth + 1)] as const);
  if (entries.every(([k, v], i) => k === keys[i] && v === src[keys[i]!])) return value;
  // Rebuilt in the same key order, with the same prototype (null-prototype maps of names stay so).
  const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(src));
  for (const [k, v] of entries) out[k] = v;
  return out;
}
