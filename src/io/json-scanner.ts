/**
 * A bounded JSON scanner over bytes: the caller walks the document token by token and keeps
 * only what it needs, so a 100 MB header of a million entries never becomes a million
 * intermediate objects. It accepts exactly RFC 8259 JSON (as JSON.parse does on the bytes
 * decoded as UTF-8, invalid sequences becoming U+FFFD); values the caller does not want are
 * skipped without recursion, nesting at most MAX_JSON_DEPTH deep.
 */

/** Deepest nesting skipValue accepts (JSON.parse itself overflows its stack a few thousand deep). */
export const MAX_JSON_DEPTH = 1000;

/** A syntax error, with the byte offset it was found at. */
export class JsonSyntaxError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class JsonScanner {
  pos = 0;
  private stack = new Uint8Array(MAX_JSON_DEPTH);

  /** `base`: where `bytes` start in the whole document (messages give document offsets). */
  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0,
  ) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at byte ${this.base + this.pos}`);
  }

  /** Skips whitespace; the next byte (or -1 at the end). */
  peek(): number {
    const b = this.bytes;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
    return p < b.length ? b[p]! : -1;
  }

  /** Consumes `c` (after whitespace) or fails. */
  expect(c: number): void {
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.pos++;
  }

  /** After a member or element: true for ',', false for the closing `close`, else fails. */
  more(close: number): boolean {
    const c = this.peek();
    if (c === 0x2c) {
      this.pos++;
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    return this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
  }

  /** True (and consumed) when the next byte is `close`: an empty object or array. */
  empty(close: number): boolean {
    if (this.peek() !== close) return false;
    this.pos++;
    return true;
  }

  /** True when only whitespace is left. */
  atEnd(): boolean {
    return this.peek() === -1;
  }

  /**
   * A string (the next token must be one). Plain ASCII strings are sliced in one step; other
   * bytes decode as UTF-8 (invalid sequences → U+FFFD); escapes as JSON defines them.
   */
  string(): string {
    if (this.peek() !== QUOTE) this.fail('expected a string');
    const b = this.bytes;
    let p = this.pos + 1;
    const start = p;
    let ascii = true;
    for (;;) {
      if (p >= b.length) this.failAt(p, 'unterminated string');
      const c = b[p]!;
      if (c === QUOTE) {
        this.pos = p + 1;
        return decode(b, start, p, ascii);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) this.failAt(p, 'control character in a string');
      if (c >= 0x80) ascii = false;
      p++;
    }
    // Escapes: decode piecewise.
    let out = decode(b, start, p, ascii);
    for (;;) {
      if (p >= b.length) this.failAt(p, 'unterminated string');
      const c = b[p]!;
      if (c === QUOTE) {
        this.pos = p + 1;
        return out;
      }
      if (c === BACKSLASH) {
        const e = b[p + 1];
        let code: number;
        switch (e) {
          case 0x22:
          case 0x5c:
          case 0x2f:
            code = e;
            break;
          case 0x62:
            code = 8;
            break;
          case 0x66:
            code = 12;
            break;
          case 0x6e:
            code = 10;
            break;
          case 0x72:
            code = 13;
            break;
          case 0x74:
            code = 9;
            break;
          case 0x75: {
            code = 0;
            for (let i = 2; i < 6; i++) {
              const h = hexValue(b[p + i]);
              if (h < 0) this.failAt(p, 'bad \\u escape');
              code = code * 16 + h;
            }
            p += 4;
            break;
          }
          default:
            return this.failAt(p, 'bad escape');
        }
        out += String.fromCharCode(code);
        p += 2;
        continue;
      }
      // A run of plain bytes up to the next quote or backslash.
      const runStart = p;
      let runAscii = true;
      while (p < b.length && b[p] !== QUOTE && b[p] !== BACKSLASH) {
        const d = b[p]!;
        if (d < 0x20) this.failAt(p, 'control character in a string');
        if (d >= 0x80) runAscii = false;
        p++;
      }
      out += decode(b, runStart, p, runAscii);
    }
  }

  /**
   * Consumes the next string and returns which of `words` it equals (its index), or -1; the
   * common unescaped case compares bytes without making a string.
   */
  stringOf(words: readonly string[]): number {
    if (this.peek() !== QUOTE) this.fail('expected a string');
    const b = this.bytes;
    const start = this.pos + 1;
    for (let w = 0; w < words.length; w++) {
      const word = words[w]!;
      const end = start + word.length;
      if (b[end] !== QUOTE) continue;
      let same = true;
      for (let i = 0; i < word.length && same; i++) same = b[start + i] === word.charCodeAt(i);
      if (same) {
        this.pos = end + 1;
        return w;
      }
    }
    this.lastString = this.string();
    return words.indexOf(this.lastString);
  }

  /** The string stringOf() last had to decode (when it matched none of its words without decoding). */
  lastString = '';

  /**
   * The compact form writers use for small integer lists, `[]` or `[12,0,345]` (no
   * whitespace, no sign, fraction or exponent, at most 15 digits each: always safe
   * integers), read in one loop into `out` from index 0: its length, or -1 with nothing
   * consumed when the next bytes are not in that form (then read them token by token).
   */
  plainIntList(out: number[]): number {
    const b = this.bytes;
    let p = this.pos;
    if (b[p] !== 0x5b) return -1;
    p++;
    let n = 0;
    if (b[p] === 0x5d) {
      this.pos = p + 1;
      return 0;
    }
    for (;;) {
      const start = p;
      let v = 0;
      let c = b[p];
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        v = v * 10 + (c - 0x30);
        c = b[++p];
      }
      const digits = p - start;
      if (digits === 0 || digits > 15 || (digits > 1 && b[start] === 0x30)) return -1;
      out[n++] = v;
      if (c === 0x2c) p++;
      else if (c === 0x5d) {
        this.pos = p + 1;
        return n;
      } else return -1;
    }
  }

  /** True when the next token starts a number. */
  atNumber(): boolean {
    const c = this.peek();
    return c === 0x2d || (c >= 0x30 && c <= 0x39);
  }

  /** A number (the next token must be one), with JSON's grammar checked. */
  number(): number {
    const b = this.bytes;
    this.peek();
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    const intStart = p;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) while (isDigit(b[p])) p++;
    else this.failAt(p, 'bad number');
    let plain = b[start] !== 0x2d && p - intStart <= 15;
    if (b[p] === 0x2e) {
      plain = false;
      p++;
      if (!isDigit(b[p])) this.failAt(p, 'bad number');
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      plain = false;
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) this.failAt(p, 'bad number');
      while (isDigit(b[p])) p++;
    }
    this.pos = p;
    if (plain) {
      let v = 0;
      for (let i = start; i < p; i++) v = v * 10 + (b[i]! - 0x30);
      return v;
    }
    return Number(decode(b, start, p, true));
  }

  /** Skips one value of any kind, checking its syntax; nesting is bounded by MAX_JSON_DEPTH. */
  skipValue(): void {
    let depth = 0;
    for (;;) {
      // A value.
      const c = this.peek();
      if (c === 0x7b || c === 0x5b) {
        if (depth === MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
        this.pos++;
        this.stack[depth++] = c;
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (this.empty(close)) depth--;
        else {
          if (c === 0x7b) this.member();
          continue;
        }
      } else if (c === QUOTE) this.string();
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
      else if (c === 0x74) this.literal('true');
      else if (c === 0x66) this.literal('false');
      else if (c === 0x6e) this.literal('null');
      else this.fail(c === -1 ? 'unexpected end of JSON' : 'unexpected character');
      // After a value: close finished containers, or go on to the next element/member.
      for (;;) {
        if (depth === 0) return;
        const open = this.stack[depth - 1]!;
        if (this.more(open === 0x7b ? 0x7d : 0x5d)) {
          if (open === 0x7b) this.member();
          break;
        }
        depth--;
      }
    }
  }

  /** A member's key and colon (its value follows). */
  private member(): void {
    this.string();
    this.expect(0x3a);
  }

  private literal(word: string): void {
    const b = this.bytes;
    for (let i = 0; i < word.length; i++) if (b[this.pos + i] !== word.charCodeAt(i)) this.fail('unexpected character');
    this.pos += word.length;
  }

  private failAt(p: number, what: string): never {
    this.pos = p;
    return this.fail(what);
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const utf8 = new TextDecoder('utf-8');

/** Node's Buffer has these (what toString calls); @types/node does not list them. */
type NodeBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** Bytes [start, end) as a string: latin1 for ASCII, UTF-8 (with replacement) otherwise. */
function decode(b: Uint8Array, start: number, end: number, ascii: boolean): string {
  // Buffer's own slices: toString's argument checks cost as much as the copy for a short name.
  if (Buffer.isBuffer(b)) return ascii ? (b as NodeBuffer).latin1Slice(start, end) : (b as NodeBuffer).utf8Slice(start, end);
  return utf8.decode(b.subarray(start, end));
}
