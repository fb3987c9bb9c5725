/**
 * Number#toString's text of a number (what JSON.stringify prints for a finite number, and
 * js-yaml for a float), several times faster than V8's own conversion for doubles (≈60 ns
 * against ≈270 ns a double, measured on this VM). Integers below 2^31 are written here,
 * other numbers by Ryū in WASM (assembly/text/number.ts): the shortest digits that read
 * back as the same double, the closest of those, ties to even, laid out as ECMAScript's
 * Number::toString lays them out. test/number_text.test.ts holds it to Number#toString.
 */
import { textInstance } from './text-module.js';

/** The longest text of a number: `-1.2345678901234567e-308`. */
export const MAX_NUMBER_BYTES = 25;

/**
 * Numbers V8 formats before the module is loaded: a caller with a few numbers never loads
 * it (its compilation and tables cost about a millisecond of start-up, more than V8 spends
 * on a few hundred numbers).
 */
const BEFORE_LOADING = 512;

interface Loaded {
  shortest(x: number, at: number): number;
  bytes: Uint8Array;
  /** Where shortest() writes for a copy. */
  out: number;
}

let module: Loaded | undefined;
let formatted = 0;

function load(): Loaded {
  if (module) return module;
  const { exports } = textInstance();
  // The module's memory never grows after init, so the view stays valid.
  module = { shortest: exports.shortest, bytes: new Uint8Array(exports.memory.buffer), out: exports.outPtr() };
  return module;
}

/**
 * Writes String(x) at out[at…] as ASCII (MAX_NUMBER_BYTES must be free there); returns the
 * end. Non-finite numbers are written as String gives them (NaN, Infinity, -Infinity).
 */
export function writeNumberText(x: number, out: Uint8Array, at: number): number {
  if ((x | 0) === x) return writeInt32(x, out, at); // also −0, which prints as 0
  if (module === undefined && formatted++ < BEFORE_LOADING) return writeLatin1(String(x), out, at);
  const m = module ?? load();
  const n = m.shortest(x, m.out);
  const bytes = m.bytes;
  for (let i = 0, p = m.out; i < n; i++) out[at + i] = bytes[p + i]!;
  return at + n;
}

/** String(x). */
export function numberText(x: number): string {
  if ((x | 0) === x || (module === undefined && formatted++ < BEFORE_LOADING)) return String(x);
  const m = module ?? load();
  const n = m.shortest(x, m.out);
  return String.fromCharCode.apply(null, m.bytes.subarray(m.out, m.out + n) as unknown as number[]);
}

/** The Ryū path alone (no integer or start-up shortcut): for the equivalence test. */
export function ryuNumberText(x: number): string {
  const m = load();
  const n = m.shortest(x, m.out);
  return String.fromCharCode.apply(null, m.bytes.subarray(m.out, m.out + n) as unknown as number[]);
}

function writeInt32(x: number, out: Uint8Array, at: number): number {
  let v = x;
  if (v < 0) {
    out[at++] = 45; // '-'
    v = -v; // 2^31 as a double: still exact below
  }
  let digits = 1;
  for (let t = 10; t <= v && digits < 10; t *= 10) digits++;
  let p = at + digits;
  do {
    const q = Math.floor(v / 10);
    out[--p] = 48 + (v - q * 10);
    v = q;
  } while (v !== 0);
  return at + digits;
}

function writeLatin1(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}
