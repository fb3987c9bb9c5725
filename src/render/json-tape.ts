/**
 * JSON.stringify(value, null, 2) as UTF-8 bytes, for outputs of millions of values (a
 * million-entry diff). Walking the values here records what to write on a tape (registered
 * texts such as `,\n      "mean": `, numbers, escaped strings); the text module
 * (assembly/text/tape.ts) writes the bytes a megabyte at a time, with numbers by Ryū. Byte
 * stores and number conversion in JavaScript, or JSON.stringify with a UTF-8 conversion
 * after it, cost several times more.
 *
 * The bytes are exactly JSON.stringify's: members in Object.keys order, members whose value
 * is undefined, a function or a symbol left out (null in arrays), non-finite numbers as
 * null, strings escaped as well-formed JSON.stringify escapes them (lone surrogates as
 * \udxxx), numbers as Number#toString prints them. Values that are not plain data (a toJSON
 * method, class instances, boxed primitives, bigints, nesting deeper than MAX_DEPTH) are
 * printed by JSON.stringify itself (or throw as it throws).
 */
import { textInstance, type TextExports, type TextLayout } from './text-module.js';

const OP_TEXT = 0;
const OP_NUMBER = 1;
const OP_BYTES = 2;
const OP_YAML_NUMBER = 3;
/** Bytes of a number's text at most. */
const NUMBER_BYTES = 25;
/** Nesting walked here; deeper values go to JSON.stringify (which throws as before on cycles). */
const MAX_DEPTH = 64;
/** Shapes remembered per indentation, and keys per shape (a leaf may be an object of many keys). */
const MAX_SHAPES = 256;
const MAX_SHAPE_KEYS = 64;

const UTF8 = new TextEncoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = '0123456789abcdef';

/** Objects of one shape (their keys in order) at one indentation: the text op before each member's value. */
interface Shape {
  keys: string[];
  ops: number[];
}

/** A registered text: its op, and its length for the output bound; op −1 (and its bytes) when the table was full. */
/** Thrown when a value recorded after mark() outgrows the tape (see mark()). */
export const OUTGROWN = Symbol('outgrown');

export interface Text {
  op: number;
  length: number;
  bytes?: Uint8Array;
}

export class JsonTape {
  private readonly k: TextExports;
  private readonly at: TextLayout;
  private readonly memory: Uint8Array;
  private readonly ops: Int32Array;
  private readonly numbers: Float64Array;
  private readonly textTable: Uint32Array;
  private opCount = 0;
  private numberCount = 0;
  private byteCount = 0;
  /** Upper bound of the bytes the recorded operations write. */
  private bound = 0;
  private textCount = 0;
  private arenaUsed = 0;
  private readonly shapes: Array<Map<string, Shape>> = [];
  private readonly constants = new Map<string, Text>();
  /** Per indentation: the texts that open an array and separate its elements (`[\n    `, `,\n    `), and close arrays and objects. */
  private readonly opens: Text[] = [];
  private readonly nexts: Text[] = [];
  private readonly arrayEnds: Text[] = [];
  private readonly objectEnds: Text[] = [];
  /** Where mark() was (ops, numbers, tape bytes, output bound); markOps −1: no mark. */
  private markOps = -1;
  private markNumbers = 0;
  private markBytes = 0;
  private markBound = 0;
  /** Output of runs made while a value was being recorded (copies), in order. */
  private spilled: Uint8Array[] = [];

  constructor() {
    const { exports, layout } = textInstance();
    this.k = exports;
    this.at = layout;
    const buffer = exports.memory.buffer; // never grows after init
    this.memory = new Uint8Array(buffer);
    this.ops = new Int32Array(buffer, layout.ops, layout.opsCapacity);
    this.numbers = new Float64Array(buffer, layout.numbers, layout.numbersCapacity);
    this.textTable = new Uint32Array(buffer, layout.texts, 2 * layout.textsCapacity);
  }

  /** Bytes recorded so far, at most: a caller hands output on once this is large. */
  get pending(): number {
    return this.bound;
  }

  /** True when the tapes are three quarters full or `bytes` of output are recorded. */
  wantsFlush(bytes: number): boolean {
    const at = this.at;
    return (
      this.bound >= bytes || 4 * this.opCount > 3 * at.opsCapacity || 4 * this.numberCount > 3 * at.numbersCapacity || 4 * this.byteCount > 3 * at.bytesCapacity
    );
  }

  /**
   * The output of everything recorded, in pieces: runs made earlier (own copies), then the
   * last run's bytes in the module's memory, valid until the tape runs again.
   */
  flush(): Uint8Array[] {
    const pieces = this.spilled;
    this.spilled = [];
    const n = this.run();
    if (n > 0) pieces.push(this.memory.subarray(this.at.out, this.at.out + n));
    return pieces;
  }

  /** `value` as JSON.stringify(value, null, 2) prints it standing at `indent` spaces; false (nothing recorded) when it would leave it out. */
  value(value: unknown, indent: number): boolean {
    // Inherited enumerable members (a library user's Object.prototype) would make for…in differ from JSON.stringify.
    if (typeof value === 'object' && value !== null && prototypeEnumerable()) return this.stringified(value, indent);
    return this.write(value, indent, 0);
  }

  /** ASCII or UTF-8 text as is (structure the caller knows). */
  raw(text: string): void {
    const known = this.constant(text);
    if (known) this.text(known);
    else this.rawBytes(Buffer.from(text, 'utf8'));
  }

  private write(value: unknown, indent: number, depth: number): boolean {
    switch (typeof value) {
      case 'number':
        this.number(value);
        return true;
      case 'string':
        this.string(value);
        return true;
      case 'boolean':
        this.raw(value ? 'true' : 'false');
        return true;
      case 'object':
        if (value === null) {
          this.raw('null');
          return true;
        }
        if (depth < MAX_DEPTH) {
          if (Array.isArray(value)) {
            if (Object.getPrototypeOf(value) === Array.prototype && !('toJSON' in value)) {
              this.array(value, indent, depth);
              return true;
            }
          } else {
            const proto = Object.getPrototypeOf(value);
            if ((proto === Object.prototype || proto === null) && !('toJSON' in value)) {
              this.object(value as Record<string, unknown>, indent, depth);
              return true;
            }
          }
        }
        return this.stringified(value, indent);
      case 'undefined':
      case 'function':
      case 'symbol':
        return false;
      default:
        return this.stringified(value, indent); // bigint: JSON.stringify throws, as before
    }
  }

  private array(list: unknown[], indent: number, depth: number): void {
    if (list.length === 0) {
      this.raw('[]');
      return;
    }
    const open = (this.opens[indent] ??= this.indented('[\n', indent + 2));
    const next = (this.nexts[indent] ??= this.indented(',\n', indent + 2));
    for (let i = 0; i < list.length; i++) {
      this.text(i === 0 ? open : next);
      const v = list[i];
      if (typeof v === 'number') this.number(v);
      else if (!this.write(v, indent + 2, depth + 1)) this.raw('null');
    }
    this.text((this.arrayEnds[indent] ??= this.indented('\n', indent, ']')));
  }

  private object(object: Record<string, unknown>, indent: number, depth: number): void {
    let shape: Shape | undefined;
    let j = 0;
    // for…in reads members through V8's enumeration cache (keyed loads of Object.keys are
    // several times slower); it gives the same keys in the same order, as value() checked
    // that nothing enumerable is inherited.
    for (const key in object) {
      const v = object[key];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      shape ??= this.shapeAt(indent + 2, key);
      this.member(shape, j++, key, indent + 2);
      if (typeof v === 'number') this.number(v);
      else this.write(v, indent + 2, depth + 1);
    }
    if (shape === undefined) this.raw('{}');
    else this.text((this.objectEnds[indent] ??= this.indented('\n', indent, '}')));
  }

  private shapeAt(indent: number, firstKey: string): Shape {
    const known = (this.shapes[indent] ??= new Map());
    let shape = known.get(firstKey);
    if (shape === undefined) {
      shape = { keys: [], ops: [] };
      if (known.size < MAX_SHAPES) known.set(firstKey, shape);
    }
    return shape;
  }

  /** `{` or `,`, newline, indentation and `"key": ` before member j. */
  private member(shape: Shape, j: number, key: string, indent: number): void {
    if (shape.keys[j] === key) {
      const op = shape.ops[j]!;
      this.textOp(op, this.textLength(op));
      return;
    }
    const prefix = `${j === 0 ? '{' : ','}\n${' '.repeat(indent)}${JSON.stringify(key)}: `;
    const known = this.constant(prefix);
    if (known && j === shape.keys.length && j < MAX_SHAPE_KEYS) {
      shape.keys.push(key);
      shape.ops.push(known.op);
    }
    if (known) this.text(known);
    else this.rawBytes(Buffer.from(prefix, 'utf8'));
  }

  /** `start`, `indent` spaces, `end`: registered, or its bytes when the table is full. */
  private indented(start: string, indent: number, end = ''): Text {
    const text = `${start}${' '.repeat(indent)}${end}`;
    return this.constant(text) ?? { op: -1, length: 0, bytes: Buffer.from(text, 'utf8') };
  }

  /** A registered text for a constant (structure); null when the table is full. */
  constant(text: string): Text | null {
    const known = this.constants.get(text);
    if (known !== undefined) return known;
    // Only registered texts are remembered, so the map stays as small as the table (output
    // with millions of distinct keys must not grow it without bound).
    if (this.textCount >= this.at.textsCapacity) return null;
    const registered = this.register(Buffer.from(text, 'utf8'));
    if (registered) this.constants.set(text, registered);
    return registered;
  }

  /** Puts bytes in the text table; null when it is full. */
  private register(bytes: Uint8Array): Text | null {
    const at = this.at;
    if (this.textCount >= at.textsCapacity || this.arenaUsed + bytes.length > at.arenaCapacity) return null;
    this.memory.set(bytes, at.arena + this.arenaUsed);
    const id = this.textCount++;
    this.textTable[2 * id] = this.arenaUsed;
    this.textTable[2 * id + 1] = bytes.length;
    this.arenaUsed += bytes.length;
    return { op: (id << 2) | OP_TEXT, length: bytes.length };
  }

  private textLength(op: number): number {
    return this.textTable[2 * (op >>> 2) + 1]!;
  }

  /** A registered text (see constant()). */
  text(t: Text): void {
    if (t.op >= 0) this.textOp(t.op, t.length);
    else this.rawBytes(t.bytes!);
  }

  private textOp(op: number, length: number): void {
    if (this.opCount >= this.at.opsCapacity || this.bound + length > this.at.outCapacity) this.makeRoom(0, 0, length);
    this.ops[this.opCount++] = op;
    this.bound += length;
  }

  /** A number as JSON writes it (Number#toString; non-finite as null). */
  number(x: number): void {
    this.numberOp(x, OP_NUMBER);
  }

  /** A number as js-yaml writes a float of the contract (Number#toString with a dot before a one-digit mantissa's exponent, 5.e-7; non-finite as null). */
  yamlNumber(x: number): void {
    this.numberOp(x, OP_YAML_NUMBER);
  }

  private numberOp(x: number, op: number): void {
    if (this.opCount >= this.at.opsCapacity || this.numberCount >= this.at.numbersCapacity || this.bound + NUMBER_BYTES > this.at.outCapacity)
      this.makeRoom(1, 0, NUMBER_BYTES);
    this.ops[this.opCount++] = op;
    this.numbers[this.numberCount++] = x;
    this.bound += NUMBER_BYTES;
  }

  /** A JSON string literal: quotes, escapes, UTF-8, on the byte tape. */
  string(text: string): void {
    const most = 6 * text.length + 2; // at most \uXXXX per UTF-16 unit
    if (most > this.at.bytesCapacity) {
      this.rawBytes(Buffer.from(JSON.stringify(text), 'utf8'));
      return;
    }
    this.roomForBytes(most);
    const start = this.at.bytes + this.byteCount;
    const end = escapeString(text, this.memory, start);
    this.bytesOp(end - start);
  }

  /** Text as it is, in UTF-8 on the byte tape (one-off text, such as a name, that is not worth registering). */
  utf8(text: string): void {
    const most = 3 * text.length; // UTF-8 bytes per UTF-16 unit at most
    if (most > this.at.bytesCapacity) {
      this.rawBytes(Buffer.from(text, 'utf8'));
      return;
    }
    this.roomForBytes(most);
    const memory = this.memory;
    const start = this.at.bytes + this.byteCount;
    let p = start;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        p = start + UTF8.encodeInto(text, memory.subarray(start, start + most)).written;
        break;
      }
      memory[p++] = c;
    }
    this.bytesOp(p - start);
  }

  /** Bytes as they are: on the byte tape, or (when larger than it) as a piece of their own. */
  private rawBytes(bytes: Uint8Array): void {
    if (bytes.length > this.at.bytesCapacity) {
      if (this.markOps >= 0) this.outgrown();
      this.spill();
      this.spilled.push(Uint8Array.prototype.slice.call(bytes));
      return;
    }
    this.roomForBytes(bytes.length);
    this.memory.set(bytes, this.at.bytes + this.byteCount);
    this.bytesOp(bytes.length);
  }

  private roomForBytes(n: number): void {
    if (this.opCount >= this.at.opsCapacity || this.byteCount + n > this.at.bytesCapacity || this.bound + n > this.at.outCapacity) this.makeRoom(0, n, n);
  }

  private bytesOp(n: number): void {
    this.ops[this.opCount++] = (n << 2) | OP_BYTES;
    this.byteCount += n;
    this.bound += n;
  }

  /** JSON.stringify's own text of `value`, indented to stand at `indent`. */
  private stringified(value: unknown, indent: number): boolean {
    const text = JSON.stringify(value, null, 2) as string | undefined;
    if (text === undefined) return false;
    this.rawBytes(Buffer.from(indent === 0 ? text : text.replaceAll('\n', `\n${' '.repeat(indent)}`), 'utf8'));
    return true;
  }

  /**
   * Marks the start of a value that may be taken back (undo()). Until the next mark() or
   * flush(), what follows the mark is never written out: when it outgrows the tape, the
   * recording method throws OUTGROWN with the tape as it was at the mark.
   */
  mark(): void {
    this.markOps = this.opCount;
    this.markNumbers = this.numberCount;
    this.markBytes = this.byteCount;
    this.markBound = this.bound;
  }

  /** Takes back what was recorded since mark(), and ends the mark. */
  undo(): void {
    if (this.markOps < 0) throw new Error('json-tape: undo() without mark()');
    this.opCount = this.markOps;
    this.numberCount = this.markNumbers;
    this.byteCount = this.markBytes;
    this.bound = this.markBound;
    this.markOps = -1;
  }

  /** Makes room for one more op with `numbers` numbers, `bytes` tape bytes and `out` output bytes: a run (before the mark, if any). */
  private makeRoom(numbers: number, bytes: number, out: number): void {
    if (this.markOps < 0) {
      this.spill();
      return;
    }
    if (this.markOps > 0) this.runToMark();
    const at = this.at;
    if (
      this.opCount >= at.opsCapacity ||
      this.numberCount + numbers > at.numbersCapacity ||
      this.byteCount + bytes > at.bytesCapacity ||
      this.bound + out > at.outCapacity
    ) {
      this.outgrown();
    }
  }

  /** The marked value does not fit the tape: taken back, and OUTGROWN thrown. */
  private outgrown(): never {
    this.undo();
    throw OUTGROWN;
  }

  /** Runs what precedes the mark (keeping a copy) and moves what follows it to the tapes' start. */
  private runToMark(): void {
    const at = this.at;
    const n = this.k.run(this.markOps);
    if (n > 0) this.spilled.push(this.memory.slice(at.out, at.out + n));
    this.ops.copyWithin(0, this.markOps, this.opCount);
    this.numbers.copyWithin(0, this.markNumbers, this.numberCount);
    this.memory.copyWithin(at.bytes, at.bytes + this.markBytes, at.bytes + this.byteCount);
    this.opCount -= this.markOps;
    this.numberCount -= this.markNumbers;
    this.byteCount -= this.markBytes;
    this.bound -= this.markBound;
    this.markOps = this.markNumbers = this.markBytes = this.markBound = 0;
  }

  /** Runs the tape now, keeping a copy of its output (a value larger than what one run holds). */
  private spill(): void {
    const n = this.run();
    if (n > 0) this.spilled.push(this.memory.slice(this.at.out, this.at.out + n));
  }

  /** Runs the recorded operations into the output; returns its length. */
  private run(): number {
    const n = this.opCount === 0 ? 0 : this.k.run(this.opCount);
    this.opCount = 0;
    this.numberCount = 0;
    this.byteCount = 0;
    this.bound = 0;
    this.markOps = -1;
    return n;
  }
}

/** True when Object.prototype has enumerable members (for…in would then see them; Object.keys does not). */
function prototypeEnumerable(): boolean {
  for (const _ in Object.prototype) return true;
  return false;
}

/** Writes `text` as a JSON string literal in UTF-8 at out[p…] (6 bytes per UTF-16 unit + 2 must be free); returns the end. */
function escapeString(text: string, out: Uint8Array, p: number): number {
  out[p++] = QUOTE;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) out[p++] = c;
      else p = escapeUnit(out, p, c);
    } else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
      out[p++] = 0x80 | (c & 0x3f);
    } else {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[p++] = 0xf0 | (cp >> 18);
        out[p++] = 0x80 | ((cp >> 12) & 0x3f);
        out[p++] = 0x80 | ((cp >> 6) & 0x3f);
        out[p++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        p = escapeUnit(out, p, c); // a lone surrogate
      }
    }
  }
  out[p++] = QUOTE;
  return p;
}

/** The escape of an ASCII control character, `"`, `\` or a lone surrogate at p; returns the end. */
function escapeUnit(out: Uint8Array, p: number, c: number): number {
  out[p++] = BACKSLASH;
  switch (c) {
    case QUOTE:
      out[p++] = QUOTE;
      return p;
    case BACKSLASH:
      out[p++] = BACKSLASH;
      return p;
    case 0x08:
      out[p++] = 0x62; // b
      return p;
    case 0x09:
      out[p++] = 0x74; // t
      return p;
    case 0x0a:
      out[p++] = 0x6e; // n
      return p;
    case 0x0c:
      out[p++] = 0x66; // f
      return p;
    case 0x0d:
      out[p++] = 0x72; // r
      return p;
  }
  out[p++] = 0x75; // u
  for (let shift = 12; shift >= 0; shift -= 4) out[p++] = HEX.charCodeAt((c >> shift) & 15);
  return p;
}
