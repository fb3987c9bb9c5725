/**
 * A direct YAML writer for the JSON-like values diffai prints (the contract of DESIGN §5):
 * byte for byte what js-yaml's `dump(finiteOnly(value), { noRefs: true, lineWidth: -1 })`
 * prints (default schema, two-space indentation, single quotes, no folding), without
 * js-yaml's general machinery: a type search per node, a deep copy first, and each level's
 * text rebuilt by its parent. A million changed tensors took 47 s through js-yaml.
 *
 * It writes null, booleans, numbers, strings, arrays and plain objects. Anything else (a
 * Date, a typed array, a class instance, an object with toJSON, a BigInt) makes it answer
 * undefined, and the caller hands that value to js-yaml (the reference, which
 * test/yaml_emit.test.ts compares this writer with on adversarial values).
 *
 * The rules below are js-yaml 4's dumper (lib/dumper.js) and the resolvers of its default
 * schema's implicit types (null, bool, int, float, timestamp, merge), restricted to the
 * options above. One deliberate difference: a string holding a bidirectional override or
 * isolate (U+202A–U+202E, U+2066–U+2069), which js-yaml prints raw, is double-quoted with
 * those escaped (`\u202E`): names come from files, and raw they reorder what a terminal
 * shows. It reads back as the same string.
 */

/** How numbers that are not finite are written. */
export interface YamlEmitOptions {
  /**
   * false (the default): as the contract does, like JSON (NaN, ±Infinity → null, -0 → 0);
   * true: as js-yaml does on the raw value (.nan, .inf, -.inf, -0.0).
   */
  keepNonFinite?: boolean;
}

/** Thrown inside the writer when a value is outside what it writes; turned into undefined. */
const UNSUPPORTED = Symbol('unsupported');

/** `\n` and the indentation of a level (two spaces a level), cached. */
const NEWLINES: string[] = ['\n'];
function newline(level: number): string {
  for (let l = NEWLINES.length; l <= level; l++) NEWLINES.push(`${NEWLINES[l - 1]}  `);
  return NEWLINES[level]!;
}

/** Strings js-yaml quotes for YAML 1.1 readers (its compat mode). */
const DEPRECATED_BOOLEANS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const DEPRECATED_BASE60 = /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/;

// --- implicit types of js-yaml's default schema: a plain scalar that one of them resolves must be quoted ---

const YAML_FLOAT = /^(?:[-+]?(?:[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const YAML_FLOAT_SPECIAL = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const YAML_DATE = /^([0-9][0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9])$/;
const YAML_TIMESTAMP =
  /^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?$/;
const WORDS = new Set(['~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', '<<']);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** js-yaml's parseYamlInteger: the value an int-looking string reads as (may be Infinity). */
function yamlInteger(s: string): number {
  let sign = 1;
  let value = s;
  if (value[0] === '-' || value[0] === '+') {
    if (value[0] === '-') sign = -1;
    value = value.slice(1);
  }
  if (value === '0') return 0;
  if (value[0] === '0') {
    if (value[1] === 'b') return sign * Number.parseInt(value.slice(2), 2);
    if (value[1] === 'x') return sign * Number.parseInt(value.slice(2), 16);
    if (value[1] === 'o') return sign * Number.parseInt(value.slice(2), 8);
  }
  return sign * Number.parseInt(value, 10);
}

/** js-yaml's resolveYamlInteger: decimal, 0b, 0x and 0o integers with an optional sign, finite. */
function resolvesAsInt(s: string): boolean {
  const max = s.length;
  let i = 0;
  let ch = s[i];
  if (ch === '-' || ch === '+') ch = s[++i];
  if (ch === '0') {
    if (i + 1 === max) return true;
    ch = s[++i];
    const digit = ch === 'b' ? /[01]/ : ch === 'x' ? /[0-9A-Fa-f]/ : ch === 'o' ? /[0-7]/ : undefined;
    if (digit !== undefined) {
      if (++i === max) return false;
      for (; i < max; i++) if (!digit.test(s[i]!)) return false;
      return Number.isFinite(yamlInteger(s));
    }
  }
  if (i >= max) return false;
  for (; i < max; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return Number.isFinite(yamlInteger(s));
}

/** True when js-yaml's default schema would read plain `s` as something other than a string. */
function resolvesImplicitly(s: string): boolean {
  const c = s.charCodeAt(0);
  // Every int, float and timestamp starts with a digit, a sign or a dot.
  if (!(isDigit(c) || c === 0x2d || c === 0x2b || c === 0x2e)) return WORDS.has(s);
  if (resolvesAsInt(s)) return true;
  if (YAML_FLOAT.test(s) && (Number.isFinite(Number.parseFloat(s)) || YAML_FLOAT_SPECIAL.test(s))) return true;
  return YAML_DATE.test(s) || YAML_TIMESTAMP.test(s);
}

// --- characters (js-yaml's isPrintable, isPlainSafeFirst, isPlainSafe) ---

/** Printable without escaping (YAML's c-printable less tab, NEL, NBSP, line and paragraph separators, BOM). */
function isPrintable(c: number): boolean {
  return (
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa1 && c <= 0xd7ff && c !== 0x2028 && c !== 0x2029) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

/** Bidirectional overrides and isolates: printable for YAML, escaped here (see the top). */
function isBidiControl(c: number): boolean {
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Printable, not a line break (BOM is already not printable). */
function isNsCharOrWhitespace(c: number): boolean {
  return isPrintable(c) && c !== 0x0d && c !== 0x0a;
}

/** First characters that cannot start a plain scalar: whitespace and YAML's indicators. */
const INDICATORS = new Set([...'-?:,[]{}#&*!|=>\'"%@`'].map((ch) => ch.charCodeAt(0)));

function isPlainSafeFirst(c: number): boolean {
  return isPrintable(c) && !isWhitespace(c) && !INDICATORS.has(c);
}

/** A plain scalar's character in block context: `#` only after a non-space, `:` only before a non-space. */
function isPlainSafe(c: number, prev: number): boolean {
  const nsOrWhite = isNsCharOrWhitespace(c);
  const ns = nsOrWhite && !isWhitespace(c);
  return (nsOrWhite && c !== 0x23 && !(prev === 0x3a && !ns)) || (isNsCharOrWhitespace(prev) && !isWhitespace(prev) && c === 0x23) || (prev === 0x3a && ns);
}

/** js-yaml's codePointAt: a surrogate pair's code point, else the code unit. */
function codePointAt(s: string, i: number): number {
  const first = s.charCodeAt(i);
  if (first >= 0xd800 && first <= 0xdbff && i + 1 < s.length) {
    const second = s.charCodeAt(i + 1);
    if (second >= 0xdc00 && second <= 0xdfff) return (first - 0xd800) * 0x400 + second - 0xdc00 + 0x10000;
  }
  return first;
}

// --- scalars ---

const ESCAPES = new Map<number, string>([
  [0x00, '\\0'],
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0b, '\\v'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x1b, '\\e'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
  [0x85, '\\N'],
  [0xa0, '\\_'],
  [0x2028, '\\L'],
  [0x2029, '\\P'],
]);

/** `\xXX`, `\uXXXX` or `\UXXXXXXXX`, upper-case hex. */
function hexEscape(c: number): string {
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (c <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

function doubleQuoted(s: string): string {
  let out = '"';
  let from = 0; // start of the run of characters copied as they are
  for (let i = 0; i < s.length; ) {
    const c = codePointAt(s, i);
    const step = c >= 0x10000 ? 2 : 1;
    const escaped = ESCAPES.get(c);
    if (escaped !== undefined || !isPrintable(c) || isBidiControl(c)) {
      out += s.slice(from, i) + (escaped ?? hexEscape(c));
      from = i + step;
    }
    i += step;
  }
  return `${out}${s.slice(from)}"`;
}

/** A literal block scalar (`|`), for a multi-line value at `level`. */
function literal(s: string, level: number): string {
  // Indentation indicator when the first content line starts with a space; chomping: keep (+)
  // for a trailing empty line, strip (-) without a final newline.
  const indicator = /^\n* /.test(s) ? '2' : '';
  const clip = s[s.length - 1] === '\n';
  const keep = clip && (s[s.length - 2] === '\n' || s === '\n');
  const indent = '  '.repeat(Math.max(1, level));
  let body = '';
  let position = 0;
  while (position < s.length) {
    const next = s.indexOf('\n', position);
    const end = next === -1 ? s.length : next + 1;
    const line = s.slice(position, end);
    body += line !== '\n' ? indent + line : line;
    position = end;
  }
  if (body[body.length - 1] === '\n') body = body.slice(0, -1);
  return `|${indicator}${keep ? '+' : clip ? '' : '-'}\n${body}`;
}

/** A string scalar at `level`: plain, single-quoted, double-quoted (escapes) or literal block (values with line breaks). */
function scalar(s: string, level: number, isKey: boolean): string {
  if (s.length === 0) return "''";
  if (DEPRECATED_BOOLEANS.has(s) || DEPRECATED_BASE60.test(s)) return `'${s}'`;
  const last = s.charCodeAt(s.length - 1);
  let plain = isPlainSafeFirst(codePointAt(s, 0)) && !isWhitespace(last) && last !== 0x3a;
  let lineBreak = false;
  let prev = -1;
  for (let i = 0; i < s.length; ) {
    const c = codePointAt(s, i);
    if (c === 0x0a && !isKey) lineBreak = true;
    else if (!isPrintable(c) || isBidiControl(c)) return doubleQuoted(s);
    plain &&= isPlainSafe(c, prev);
    prev = c;
    i += c >= 0x10000 ? 2 : 1;
  }
  if (lineBreak) return literal(s, level);
  if (plain && !resolvesImplicitly(s)) return s;
  return `'${s.replaceAll("'", "''")}'`;
}

/** Keys seen (short ones, a few thousand): a report repeats a few dozen keys millions of times. */
const KEYS = new Map<string, string>();
const KEYS_CACHED = 4096;
const KEY_CACHED_LENGTH = 64;

function keyText(key: string): string {
  let text = KEYS.get(key);
  if (text === undefined) {
    text = scalar(key, 0, true);
    if (KEYS.size < KEYS_CACHED && key.length <= KEY_CACHED_LENGTH) KEYS.set(key, text);
  }
  return text;
}

function numberText(n: number, keepNonFinite: boolean): string {
  if (!Number.isFinite(n)) {
    if (!keepNonFinite) return 'null';
    return Number.isNaN(n) ? '.nan' : n > 0 ? '.inf' : '-.inf';
  }
  if (Number.isInteger(n)) {
    if (n === 0) return keepNonFinite && Object.is(n, -0) ? '-0.0' : '0';
    return String(n);
  }
  // Number#toString's text: JSON.stringify gives it for a finite number, ~2× faster than
  // String() on a double in Node 20 (which goes through V8's number-string cache first).
  const text = JSON.stringify(n);
  // YAML wants a dot in a float's mantissa: 5e-7 is written 5.e-7.
  return text.includes('e') && !text.includes('.') ? text.replace('e', '.e') : text;
}

// --- nodes ---

/** Values that JSON leaves out of objects and writes as null in arrays. */
export function isAbsent(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

class Writer {
  constructor(private readonly keepNonFinite: boolean) {}

  /** js-yaml's writeNode in block context: `compact` when the node follows `- ` or starts the document. */
  node(v: unknown, level: number, compact: boolean): string {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return scalar(v, level, false);
      case 'number':
        return numberText(v, this.keepNonFinite);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'object':
        if (Array.isArray(v)) return v.length === 0 ? '[]' : this.sequence(v, level, compact);
        if (isPlainObject(v)) return this.mapping(v, level, compact);
    }
    throw UNSUPPORTED;
  }

  /** A sequence item's text after `- ` (an absent item is null, as JSON writes it). */
  item(v: unknown, level: number): string {
    return this.node(isAbsent(v) ? null : v, level, true);
  }

  private sequence(items: unknown[], level: number, compact: boolean): string {
    let out = '';
    for (let i = 0; i < items.length; i++) {
      const text = this.item(items[i], level + 1);
      if (!compact || i > 0) out += newline(level);
      out += `- ${text}`;
    }
    return out;
  }

  private mapping(object: Record<string, unknown>, level: number, compact: boolean): string {
    let out = '';
    // for-in, not Object.keys: V8 then loads each member through the object's enum cache.
    // (A plain object's prototype, Object.prototype or null, has no enumerable members.)
    for (const key in object) {
      const v = object[key];
      if (isAbsent(v)) continue;
      if (!compact || out !== '') out += newline(level);
      const k = keyText(key);
      if (k.length > 1024) {
        // A long key is an explicit pair: `? key`, then `: value` on the next line.
        out += `? ${k}${newline(level)}: ${this.node(v, level + 1, true)}`;
        continue;
      }
      const text = this.node(v, level + 1, false);
      // A block collection under a key starts on its own line.
      out += text.charCodeAt(0) === 0x0a ? `${k}:${text}` : `${k}: ${text}`;
    }
    return out === '' ? '{}' : out;
  }
}

const FINITE = new Writer(false);
const RAW = new Writer(true);

function writer(options?: YamlEmitOptions): Writer {
  return options?.keepNonFinite ? RAW : FINITE;
}

/**
 * The text of `value` as an item of a block sequence whose items sit at `level` (1 for a
 * document's top-level list), after its `- `; continuation lines are indented for that
 * level. Undefined when the value holds something this writer does not write.
 */
export function yamlItem(value: unknown, level: number, options?: YamlEmitOptions): string | undefined {
  try {
    return writer(options).item(value, level);
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}

/** A whole YAML document of `value` (js-yaml's dump), or undefined when it holds something this writer does not write. */
export function yamlDocument(value: unknown, options?: YamlEmitOptions): string | undefined {
  if (isAbsent(value)) return undefined; // js-yaml prints nothing; JSON has no text
  try {
    return `${writer(options).node(value, 0, true)}\n`;
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}

// --- pieces for the byte writer (yaml-tape.ts), which writes the common shapes itself ---

/** A string value's text at `level` (a literal block's lines indented for it). */
export function yamlScalar(s: string, level: number): string {
  return scalar(s, level, false);
}

/** A mapping key's text. */
export function yamlKey(key: string): string {
  return keyText(key);
}
