// Output written from a tape the host fills: a list of operations (copy a registered text,
// write a number, copy bytes the host put on the byte tape), run in one call per ~1 MiB of
// output. The host (src/render/json-tape.ts) walks its values and records what to write,
// which costs it a few stores per value; the bytes themselves are written here, where
// copying and formatting are several times cheaper than byte stores from JavaScript.
import { shortest } from './number';

// Operation codes in the low 2 bits of an i32; the rest is the argument.
const OP_TEXT: i32 = 0; // registered text number (op >> 2)
const OP_NUMBER: i32 = 1; // the next number of the number tape; non-finite as `null` (JSON)
const OP_BYTES: i32 = 2; // (op >> 2) bytes from the byte tape
const OP_YAML_NUMBER: i32 = 3; // the next number as js-yaml writes a float: 5e-7 as 5.e-7; non-finite as `null` (the contract)

export const OPS_CAPACITY: i32 = 1 << 16;
export const NUMBERS_CAPACITY: i32 = 1 << 15;
export const BYTES_CAPACITY: i32 = 1 << 18;
export const TEXTS_CAPACITY: i32 = 4096;
export const ARENA_CAPACITY: i32 = 1 << 16;
/** Output room: what one run may write (the host keeps an upper bound below it), plus slack for 8-byte copies. */
export const OUT_CAPACITY: i32 = (5 << 18) + 64;

export let ops: usize = 0;
export let numbers: usize = 0;
export let bytes: usize = 0;
/** Per registered text: its offset in the arena and its length (two u32). */
export let texts: usize = 0;
export let arena: usize = 0;
export let out: usize = 0;

/** Reserves the tapes, the text table and the output in one step (memory does not grow afterwards). */
export function initTape(): void {
  let at = <usize>memory.size() << 16;
  const start = at;
  ops = at;
  at += <usize>OPS_CAPACITY * 4;
  numbers = at;
  at += <usize>NUMBERS_CAPACITY * 8;
  bytes = at;
  at += <usize>BYTES_CAPACITY + 64;
  texts = at;
  at += <usize>TEXTS_CAPACITY * 8;
  arena = at;
  at += <usize>ARENA_CAPACITY + 64;
  out = at;
  at += <usize>OUT_CAPACITY;
  memory.grow(<i32>((at - start + 0xffff) >> 16));
}

/** count bytes from `from` to `to`, 8 at a time: may write up to 7 bytes past the end (slack) and read past the source (inside memory). */
@inline function copy(to: usize, from: usize, count: u32): void {
  for (let k: usize = 0; k < <usize>count; k += 8) store<u64>(to + k, load<u64>(from + k));
}

/**
 * js-yaml writes a float's exponent form with a dot in the mantissa: a one-digit mantissa
 * before a negative exponent (only non-integers have those; 1e+21 stays as it is) gets one,
 * `5e-7` → `5.e-7`. Returns the bytes added (0 or 1); the text may grow by one in place.
 */
@inline function dotBeforeExponent(text: usize, length: usize): usize {
  const digit: usize = load<u8>(text) == 0x2d ? 1 : 0; // after a '-'
  if (length < digit + 4 || load<u8>(text + digit + 1) != 0x65 || load<u8>(text + digit + 2) != 0x2d) return 0; // 'e', '-'
  for (let i = text + length; i > text + digit + 1; i--) store<u8>(i, load<u8>(i - 1));
  store<u8>(text + digit + 1, 0x2e); // '.'
  return 1;
}

/** Runs the first n operations of the tape into the output; returns the bytes written. */
export function run(n: i32): i32 {
  let o = out;
  let number = numbers;
  let from = bytes;
  const end = ops + (<usize>n << 2);
  for (let p = ops; p < end; p += 4) {
    const op = load<i32>(p);
    const kind = op & 3;
    const arg = <u32>op >>> 2;
    if (kind == OP_TEXT) {
      const entry = texts + (<usize>arg << 3);
      const length = load<u32>(entry, 4);
      copy(o, arena + <usize>load<u32>(entry), length);
      o += <usize>length;
    } else if (kind == OP_NUMBER || kind == OP_YAML_NUMBER) {
      const x = load<f64>(number);
      number += 8;
      if (x - x == 0) {
        const length = <usize>shortest(x, o);
        o += length;
        if (kind == OP_YAML_NUMBER) o += dotBeforeExponent(o - length, length);
      } else {
        store<u32>(o, 0x6c6c756e); // "null"
        o += 4;
      }
    } else {
      copy(o, from, arg);
      o += <usize>arg;
      from += <usize>arg;
    }
  }
  return <i32>(o - out);
}
