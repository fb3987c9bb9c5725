/**
 * JSON.stringify(value, null, 2) written as UTF-8 bytes into one growing buffer, value by
 * value: a million-entry diff's JSON without a string per entry, a JSON.stringify call per
 * group of entries or a UTF-8 conversion of the result (those were most of its time). The
 * bytes are exactly JSON.stringify's: members in Object.keys order, members whose value is
 * undefined, a function or a symbol left out (null in arrays), non-finite numbers as null,
 * strings escaped as well-formed JSON.stringify escapes them (lone surrogates as \udxxx),
 * numbers as Number#toString prints them (number-text.ts). Values that are not plain data
 * (a toJSON method, class instances, boxed primitives, bigints, nesting deeper than
 * MAX_DEPTH) are left to JSON.stringify itself, so they print (or throw) as they always did.
 */
import { MAX_NUMBER_BYTES, writeNumberText } from './number-text.js';

/** Nesting handled here; deeper values go to JSON.stringify (which throws as before on cycles). */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = '0123456789abcdef';

/**
 * The bytes before a member's value, per indentation and key: newline, indentation, the
 * quoted key, colon and space (`\n      "mean": `). Keys repeat in every entry of a diff.
 */
const memberPrefixes: Array<Map<string, Uint8Array>> = [];
/** Keys remembered per indentation (a report's keys are a few dozen; a leaf's may be many). */
const MAX_CACHED_KEYS = 1024;

export class JsonBytes {
  /** The bytes written so far are buf[0, length). */
  buf: Buffer;
  length = 0;

  constructor(capacity = 1 << 20) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** The bytes written, to be consumed before the next write (the buffer is reused). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for n more bytes. */
  room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** ASCII text as is (structure: brackets, commas, indentation the caller knows). */
  ascii(text: string): void {
    this.room(text.length);
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
    this.length = p;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  /** A newline and `indent` spaces. */
  newline(indent: number): void {
    this.room(indent + 1);
    const buf = this.buf;
    let p = this.length;
    buf[p++] = 10;
    for (let i = 0; i < indent; i++) buf[p++] = 32;
    this.length = p;
  }

  /**
   * `value` as JSON.stringify(value, null, 2) prints it when it stands at `indent` spaces
   * of indentation (its inner lines indented to match); false, writing nothing, when
   * JSON.stringify would leave it out (undefined, a function, a symbol).
   */
  value(value: unknown, indent: number): boolean {
    return this.write(value, indent, 0);
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
        this.ascii(value ? 'true' : 'false');
        return true;
      case 'object':
        if (value === null) {
          this.ascii('null');
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

  number(x: number): void {
    this.room(MAX_NUMBER_BYTES);
    if (Number.isFinite(x)) this.length = writeNumberText(x, this.buf, this.length);
    else this.ascii('null');
  }

  /** A JSON string literal: quotes, escapes, UTF-8. */
  string(text: string): void {
    this.room(6 * text.length + 2); // at most \uXXXX per UTF-16 unit
    const buf = this.buf;
    let p = this.length;
    buf[p++] = QUOTE;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) {
        if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) buf[p++] = c;
        else p = escape(buf, p, c);
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          buf[p++] = 0xf0 | (cp >> 18);
          buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[p++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          p = escape(buf, p, c); // a lone surrogate
        }
      }
    }
    buf[p++] = QUOTE;
    this.length = p;
  }

  /** A member's newline, indentation and `"key": `. */
  private member(key: string, indent: number): void {
    const cache = (memberPrefixes[indent] ??= new Map());
    let bytes = cache.get(key);
    if (bytes === undefined) {
      const at = this.length;
      this.newline(indent);
      this.string(key);
      this.ascii(': ');
      if (cache.size < MAX_CACHED_KEYS) cache.set(key, Uint8Array.from(this.buf.subarray(at, this.length)));
      return;
    }
    this.room(bytes.length);
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < bytes.length; i++) buf[p++] = bytes[i]!;
    this.length = p;
  }

  private array(list: unknown[], indent: number, depth: number): void {
    if (list.length === 0) {
      this.ascii('[]');
      return;
    }
    this.ascii('[');
    for (let i = 0; i < list.length; i++) {
      if (i > 0) this.ascii(',');
      this.newline(indent + 2);
      if (!this.write(list[i], indent + 2, depth + 1)) this.ascii('null');
    }
    this.newline(indent);
    this.ascii(']');
  }

  private object(object: Record<string, unknown>, indent: number, depth: number): void {
    let first = true;
    // for…in (own keys in Object.keys order, as the caller checked the prototype) reads the
    // members through V8's enumeration cache: several times faster than keyed loads.
    for (const key in object) {
      const v = object[key];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      this.byte(first ? 0x7b : 0x2c); // { or ,
      first = false;
      this.member(key, indent + 2);
      this.write(v, indent + 2, depth + 1);
    }
    if (first) this.ascii('{}');
    else {
      this.newline(indent);
      this.ascii('}');
    }
  }

  /** JSON.stringify's own text of `value`, indented to stand at `indent`. */
  private stringified(value: unknown, indent: number): boolean {
    const text = JSON.stringify(value, null, 2) as string | undefined;
    if (text === undefined) return false;
    const shifted = indent === 0 ? text : text.replaceAll('\n', `\n${' '.repeat(indent)}`);
    this.room(3 * shifted.length);
    this.length += this.buf.write(shifted, this.length, 'utf8');
    return true;
  }
}

/** Writes the escape of an ASCII control character, `"`, `\` or a lone surrogate at p; returns the end. */
function escape(buf: Buffer, p: number, c: number): number {
  buf[p++] = BACKSLASH;
  switch (c) {
    case QUOTE:
      buf[p++] = QUOTE;
      return p;
    case BACKSLASH:
      buf[p++] = BACKSLASH;
      return p;
    case 0x08:
      buf[p++] = 0x62; // b
      return p;
    case 0x09:
      buf[p++] = 0x74; // t
      return p;
    case 0x0a:
      buf[p++] = 0x6e; // n
      return p;
    case 0x0c:
      buf[p++] = 0x66; // f
      return p;
    case 0x0d:
      buf[p++] = 0x72; // r
      return p;
  }
  buf[p++] = 0x75; // u
  for (let shift = 12; shift >= 0; shift -= 4) buf[p++] = HEX.charCodeAt((c >> shift) & 15);
  return p;
}
