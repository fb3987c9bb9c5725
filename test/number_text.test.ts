/**
 * The text module's number formatter (Ryū, assembly/text/number.ts) against the independent
 * reference, V8's Number#toString (through JSON.stringify for arrays of millions of doubles,
 * and String(x) one by one): every double of several million random bit patterns and of the
 * hard families (subnormals, integers around 2^53 and beyond, powers of ten and their
 * neighbours, the 1e-7 and 1e21 layout boundaries, float32 values, short decimals) must
 * print exactly as V8 prints it.
 */
import { describe, expect, it, vi } from 'vitest';
import { JsonTape } from '../src/render/json-tape.js';
import { numberText, ryuNumberText, writeNumberText } from '../src/render/number-text.js';
import { Rng } from './helpers/dtypes.js';

vi.setConfig({ testTimeout: 120_000 });

/** A tape's JSON of `value` (0 indentation), decoded. */
function tapeJson(value: unknown): string | undefined {
  const tape = new JsonTape();
  if (!tape.value(value, 0)) return undefined;
  return Buffer.concat(tape.flush().map((p) => Buffer.from(p))).toString('utf8');
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
function fromBits(hi: number, lo: number): number {
  words[1] = hi >>> 0;
  words[0] = lo >>> 0;
  return bits[0]!;
}
/** The double next to x away from zero (by the bit pattern), or toward zero with step −1. */
function neighbour(x: number, step: 1 | -1): number {
  bits[0] = x;
  const lo = words[0]! + step;
  words[1] = (words[1]! + (lo > 0xffffffff ? 1 : lo < 0 ? -1 : 0)) >>> 0;
  words[0] = lo >>> 0;
  return bits[0]!;
}

/** Asserts the tape prints `values` as JSON.stringify does, in one array (numbers the tape runs a megabyte at a time). */
function expectSameText(values: number[]): void {
  const expected = JSON.stringify(values, null, 2);
  const got = tapeJson(values);
  if (got === expected) return;
  // Name the first double that differs.
  const lines = got?.split('\n') ?? [];
  const refs = expected.split('\n');
  const at = refs.findIndex((line, i) => line !== lines[i]);
  expect(lines[at], `value ${values[at - 1]} (line ${at})`).toBe(refs[at]);
}

describe('Ryū number text equals Number#toString', () => {
  const rng = new Rng(20261206);
  const u32 = () => rng.int(2 ** 32);

  it('for 4 million doubles of random bit patterns (all exponents, both signs, NaN and ±Infinity as JSON null)', () => {
    for (let round = 0; round < 40; round++) expectSameText(Array.from({ length: 100_000 }, () => fromBits(u32(), u32())));
  });

  it('for subnormals, integers, powers of ten and their neighbours, layout boundaries, float32 values and short decimals', () => {
    const values: number[] = [];
    for (let i = 0; i < 200_000; i++) values.push(fromBits(u32() & 0x800fffff, u32())); // subnormals (exponent 0)
    for (let i = 0; i < 200_000; i++) values.push(Math.floor(rng.next() * 2 ** (1 + (i % 70))) * (i % 2 ? -1 : 1)); // integers to 2^70
    for (let e = -330; e <= 310; e++) {
      const p = Number(`1e${e}`);
      for (const x of [p, 2 * p, 5 * p, 0.9999999999999999 * 10 * p]) if (x !== 0 && Number.isFinite(x)) values.push(x, neighbour(x, 1), neighbour(x, -1), -x);
    }
    for (const x of [
      1e21,
      1e-7,
      1e-6,
      2 ** 53,
      2 ** 31,
      2 ** 32,
      2 ** 63,
      2 ** 64,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      2.2250738585072014e-308,
      Number.EPSILON,
      0.1,
      0.3,
    ]) {
      values.push(x, neighbour(x, 1), neighbour(x, -1), -x);
    }
    for (let i = 0; i < 200_000; i++) values.push(Math.fround(fromBits(u32(), u32()))); // float32 values (tensor statistics often are)
    for (let i = 0; i < 200_000; i++) values.push(Number(`${rng.int(1_000_000)}.${rng.int(1000)}e${rng.int(40) - 20}`)); // short decimals
    values.push(0, -0, 1, -1, 0.5, 123456789012345680000, 4.35, 0.1 + 0.2);
    expectSameText(values);
  });

  it('one by one, with the integer and start-up shortcuts, and for non-finite numbers', () => {
    const out = Buffer.alloc(32);
    for (let i = 0; i < 20_000; i++) {
      const x = i % 3 === 0 ? rng.int(2 ** 31) - 2 ** 30 : fromBits(u32(), u32());
      const text = String(x);
      expect(Buffer.from(out.subarray(0, writeNumberText(x, out, 0))).toString('latin1')).toBe(text);
      expect(numberText(x)).toBe(text);
      expect(ryuNumberText(x)).toBe(text);
    }
    for (const x of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -(2 ** 31), 2 ** 31 - 1]) {
      expect(ryuNumberText(x)).toBe(String(x));
      expect(numberText(x)).toBe(String(x));
    }
  });
});
