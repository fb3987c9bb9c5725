/**
 * YAML block-sequence items as UTF-8 bytes, for outputs of millions of entries (a
 * million-entry diff): the text yaml-emit.ts writes (js-yaml's dump of the contract), put on
 * the text module's tape (json-tape.ts) instead of concatenated in JavaScript. Indentation,
 * `- ` and `key: ` prefixes are registered byte constants, numbers are tape entries written
 * by Ryū (with js-yaml's `5.e-7`), strings are yaml-emit's scalar text (quoted only where js-yaml quotes).
 *
 * yaml-emit stays the definition: an item holding anything but null, booleans, numbers,
 * strings, plain arrays and plain objects with short keys (or nested deeper than
 * MAX_DEPTH) is written by it as a whole, as text.
 */
import { type JsonTape, OUTGROWN, type Text } from './json-tape.js';
import { isAbsent, yamlKey, yamlScalar } from './yaml-emit.js';
import { itemText } from './yaml-text.js';

/** Thrown inside the walk at a value yaml-emit writes instead. */
const UNSUPPORTED = Symbol('unsupported');

/** Nesting written here; deeper items go to yaml-emit. */
const MAX_DEPTH = 32;
/** Keys written here at most this long (a long key's text may pass 1024 characters, which js-yaml writes as `? key`). */
const MAX_KEY_LENGTH = 64;
/** Keys (and short strings) remembered per level. */
const MAX_KEYS = 1024;
/** Texts registered at most (the tape's table holds 4,096). */
const MAX_CONSTANTS = 4096;
/** Shapes remembered per level, and keys per shape. */
const MAX_SHAPES = 256;
const MAX_SHAPE_KEYS = 64;
/** Strings this long at most are remembered (names of dtypes, devices). */
const SHORT_STRING = 8;

/** Objects of one shape at one level: their keys in order, and the texts before each member's value. */
interface Shape {
  keys: string[];
  texts: KeyTexts[];
}

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
  private readonly shapes: Array<Map<string, Shape>> = [];
  private readonly strings: Array<Map<string, Text | string>> = [];

  constructor(private readonly tape: JsonTape) {}

  /** `- ` and `value` as an item of the top-level block sequence, then a line break. */
  item(value: unknown): void {
    const tape = this.tape;
    // Recorded after a mark, so that an item found unusual half-way is taken back whole.
    tape.mark();
    try {
      this.itemNodes(value);
      return;
    } catch (e) {
      if (e === UNSUPPORTED) tape.undo();
      else if (e !== OUTGROWN) throw e;
      // Taken back (an item larger than the tape is recorded again, unmarked, when it is all writable here).
      else if (writable(value, 0)) {
        this.itemNodes(value);
        return;
      }
    }
    tape.utf8(`- ${itemText(value, 1)}\n`);
  }

  private itemNodes(value: unknown): void {
    this.put(this.constant('- '));
    this.node(isAbsent(value) ? null : value, 1, true, 0);
    this.put(this.constant('\n'));
  }

  /** yaml-emit's Writer.node; throws UNSUPPORTED where writable() is false. */
  private node(v: unknown, level: number, compact: boolean, depth: number): void {
    if (v === null) {
      this.put(this.constant('null'));
      return;
    }
    switch (typeof v) {
      case 'number':
        this.tape.yamlNumber(v); // non-finite: null, −0: 0, as the contract has them
        return;
      case 'string':
        this.string(v, level);
        return;
      case 'boolean':
        this.put(this.constant(v ? 'true' : 'false'));
        return;
      case 'object':
        if (depth < MAX_DEPTH) {
          if (Array.isArray(v)) {
            if (Object.getPrototypeOf(v) === Array.prototype) {
              this.sequence(v, level, compact, depth + 1);
              return;
            }
          } else if (isPlainObject(v)) {
            this.mapping(v, level, compact, depth + 1);
            return;
          }
        }
    }
    throw UNSUPPORTED;
  }

  private sequence(items: unknown[], level: number, compact: boolean, depth: number): void {
    if (items.length === 0) {
      this.put(this.constant('[]'));
      return;
    }
    const dash = (this.dashes[level] ??= this.constant(`\n${'  '.repeat(level)}- `));
    for (let i = 0; i < items.length; i++) {
      this.put(!compact || i > 0 ? dash : this.constant('- '));
      const item = items[i];
      this.node(isAbsent(item) ? null : item, level + 1, true, depth);
    }
  }

  private mapping(object: Record<string, unknown>, level: number, compact: boolean, depth: number): void {
    let first = compact;
    let any = false;
    let shape: Shape | undefined;
    let j = 0;
    for (const key in object) {
      const v = object[key];
      if (isAbsent(v)) continue;
      shape ??= this.shapeAt(level, key);
      let texts: KeyTexts;
      if (shape.keys[j] === key) texts = shape.texts[j]!;
      else {
        texts = this.keyTexts(key, level);
        if (j === shape.keys.length && j < MAX_SHAPE_KEYS) {
          shape.keys.push(key);
          shape.texts.push(texts);
        }
      }
      j++;
      // A non-empty block collection under a key starts on its own line (`key:` then a line break).
      const block = typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : hasMembers(v as Record<string, unknown>));
      this.put(first ? (block ? texts.firstColon : texts.first) : block ? texts.nextColon : texts.next);
      this.node(v, level + 1, false, depth);
      first = false;
      any = true;
    }
    if (!any) this.put(this.constant('{}'));
  }

  /** Objects of one shape (their keys in order) at a level, known by their first key. */
  private shapeAt(level: number, firstKey: string): Shape {
    const known = (this.shapes[level] ??= new Map());
    let shape = known.get(firstKey);
    if (shape === undefined) {
      shape = { keys: [], texts: [] };
      if (known.size < MAX_SHAPES) known.set(firstKey, shape);
    }
    return shape;
  }

  private keyTexts(key: string, level: number): KeyTexts {
    const known = (this.keys[level] ??= new Map());
    let texts = known.get(key);
    if (texts === undefined) {
      if (key.length > MAX_KEY_LENGTH) throw UNSUPPORTED;
      const k = yamlKey(key);
      const line = `\n${'  '.repeat(level)}${k}`;
      texts = { first: this.constant(`${k}: `), firstColon: this.constant(`${k}:`), next: this.constant(`${line}: `), nextColon: this.constant(`${line}:`) };
      if (known.size < MAX_KEYS) known.set(key, texts);
    }
    return texts;
  }

  /** A string value: short ones (dtype names) repeat millions of times, and are registered once per level. */
  private string(s: string, level: number): void {
    if (s.length > SHORT_STRING) {
      this.tape.utf8(yamlScalar(s, level));
      return;
    }
    const known = (this.strings[level] ??= new Map());
    let text = known.get(s);
    if (text === undefined) {
      text = this.constant(yamlScalar(s, level));
      if (known.size < MAX_KEYS) known.set(s, text);
    }
    this.put(text);
  }

  /** A registered text, or the text itself when the table is full. */
  private constant(text: string): Text | string {
    let known = this.constants.get(text);
    if (known === undefined) {
      // Bounded: distinct keys past the caches (a hostile file's metadata) are written as text.
      if (this.constants.size >= MAX_CONSTANTS) return text;
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

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** True when every node of `v` is one YamlTape writes as yaml-emit does (checked first only for an item larger than the tape). */
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
  if (!isPlainObject(v)) return false;
  for (const key in v) {
    if (key.length > MAX_KEY_LENGTH || !writable((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
