/**
 * YAML block-sequence items as UTF-8 bytes, for outputs of millions of entries (a
 * million-entry diff): the text yaml-emit.ts writes (js-yaml's dump of the contract), put on
 * the text module's tape (json-tape.ts) instead of concatenated in JavaScript. Indentation,
 * `- ` and `key: ` prefixes are registered byte constants, numbers are tape entries written
 * by Ryū, strings are yaml-emit's scalar text (quoted only where js-yaml quotes).
 *
 * yaml-emit stays the definition: an item holding anything but null, booleans, numbers,
 * strings, plain arrays and plain objects with short keys (or nested deeper than
 * MAX_DEPTH) is written by it as a whole, as text.
 */
import type { JsonTape, Text } from './json-tape.js';
import { isAbsent, yamlKey, yamlNumber, yamlScalar } from './yaml-emit.js';
import { itemText } from './yaml-text.js';

/** Nesting written here; deeper items go to yaml-emit. */
const MAX_DEPTH = 32;
/** Keys written here at most this long (a long key's text may pass 1024 characters, which js-yaml writes as `? key`). */
const MAX_KEY_LENGTH = 64;
/** Keys remembered per level. */
const MAX_KEYS = 1024;

/**
 * Number#toString writes finite non-integers below 1e-6 in magnitude with an exponent,
 * `5e-7`, which js-yaml writes `5.e-7`: those go through yaml-emit (integers never have a
 * negative exponent; 1e+21 is written as it is by both).
 */
const EXPONENT_BELOW = 1e-6;

/** The prefixes before a member's value: `key:` / `key: ` first on a line after `- `, or after a line break and indentation. */
interface KeyTexts {
  first: Text | string;
  firstColon: Text | string;
  next: Text | string;
  nextColon: Text | string;
}

export class YamlTape {
  private readonly constants = new Map<string, Text | string>();
  /** Per level: `\n` and the indentation, then `- `. */
  private readonly dashes: Array<Text | string> = [];
  private readonly keys: Array<Map<string, KeyTexts>> = [];

  constructor(private readonly tape: JsonTape) {}

  /** `- ` and `value` as an item of the top-level block sequence, then a line break. */
  item(value: unknown): void {
    if (!writable(value, 0)) {
      this.put(this.constant('- '));
      this.tape.utf8(itemText(value, 1));
      this.put(this.constant('\n'));
      return;
    }
    this.put(this.constant('- '));
    this.node(isAbsent(value) ? null : value, 1, true);
    this.put(this.constant('\n'));
  }

  /** yaml-emit's Writer.node, for values writable() accepted. */
  private node(v: unknown, level: number, compact: boolean): void {
    if (v === null) {
      this.put(this.constant('null'));
      return;
    }
    switch (typeof v) {
      case 'number':
        if (v !== 0 && v < EXPONENT_BELOW && v > -EXPONENT_BELOW) this.tape.utf8(yamlNumber(v));
        else this.tape.number(v); // non-finite: null, −0: 0, as the contract has them
        return;
      case 'string':
        this.tape.utf8(yamlScalar(v, level));
        return;
      case 'boolean':
        this.put(this.constant(v ? 'true' : 'false'));
        return;
    }
    if (Array.isArray(v)) this.sequence(v, level, compact);
    else this.mapping(v as Record<string, unknown>, level, compact);
  }

  private sequence(items: unknown[], level: number, compact: boolean): void {
    if (items.length === 0) {
      this.put(this.constant('[]'));
      return;
    }
    const dash = (this.dashes[level] ??= this.constant(`\n${'  '.repeat(level)}- `));
    for (let i = 0; i < items.length; i++) {
      this.put(!compact || i > 0 ? dash : this.constant('- '));
      const item = items[i];
      this.node(isAbsent(item) ? null : item, level + 1, true);
    }
  }

  private mapping(object: Record<string, unknown>, level: number, compact: boolean): void {
    let first = compact;
    let any = false;
    const known = (this.keys[level] ??= new Map());
    for (const key in object) {
      const v = object[key];
      if (isAbsent(v)) continue;
      let texts = known.get(key);
      if (texts === undefined) {
        texts = this.keyTexts(key, level);
        if (known.size < MAX_KEYS) known.set(key, texts);
      }
      // A non-empty block collection under a key starts on its own line (`key:` then a line break).
      const block = typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : hasMembers(v as Record<string, unknown>));
      this.put(first ? (block ? texts.firstColon : texts.first) : block ? texts.nextColon : texts.next);
      this.node(v, level + 1, false);
      first = false;
      any = true;
    }
    if (!any) this.put(this.constant('{}'));
  }

  private keyTexts(key: string, level: number): KeyTexts {
    const k = yamlKey(key);
    const line = `\n${'  '.repeat(level)}${k}`;
    return { first: this.constant(`${k}: `), firstColon: this.constant(`${k}:`), next: this.constant(`${line}: `), nextColon: this.constant(`${line}:`) };
  }

  /** A registered text, or the text itself when the table is full. */
  private constant(text: string): Text | string {
    let known = this.constants.get(text);
    if (known === undefined) {
      known = this.tape.constant(text) ?? text;
      this.constants.set(text, known);
    }
    return known;
  }

  private put(t: Text | string): void {
    if (typeof t === 'string') this.tape.utf8(t);
    else this.tape.text(t);
  }
}

function hasMembers(object: Record<string, unknown>): boolean {
  for (const key in object) if (!isAbsent(object[key])) return true;
  return false;
}

/** True when every node of `v` is one YamlTape writes as yaml-emit does. */
function writable(v: unknown, depth: number): boolean {
  if (v === null || isAbsent(v)) return true;
  switch (typeof v) {
    case 'number':
    case 'string':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) if (!writable(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const key in v) {
    if (key.length > MAX_KEY_LENGTH || !writable((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
