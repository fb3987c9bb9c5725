/**
 * bf16/f16 min, max and zero count taken on the bits (assembly/half-bits.ts), through the
 * statistics kernels (stats_bf16, stats_f16) and both sides of the fused kernel
 * (compare_stats), against references computed here from values decoded by formula
 * (test/helpers/dtypes.ts): every one of the 65,536 patterns, in random company, in chunks
 * of one sign, among zeros of both signs and among NaN/±Inf. The sign of a zero extreme is
 * checked against a model of the f32 lanes the kernels' records have always followed (each
 * of four lanes keeps its earliest extreme, starting from the first element; folding prefers
 * −0 for the min and +0 for the max; the scalar tail replaces only on a strict compare).
 */
import { describe, expect, it } from 'vitest';
import { Kernels } from '../src/engine/kernels.js';
import { bf16FromBits, f16FromBits, Rng } from './helpers/dtypes.js';

type Half = 'bf16' | 'f16';
const SRC: Record<Half, number> = { bf16: 1, f16: 2 };
const DECODE: Record<Half, (bits: number) => number> = { bf16: bf16FromBits, f16: f16FromBits };
/** The exponent field's bits: all ones is ±Inf or NaN. */
const EXP: Record<Half, number> = { bf16: 0x7f80, f16: 0x7c00 };

const k = new Kernels();

/** min, max (over finite values), zero count, NaN count as the kernels' records must give them. */
function reference(xs: number[]) {
  const finite = xs.filter(Number.isFinite);
  const zeros = xs.filter((x) => x === 0).length;
  const nan = xs.filter(Number.isNaN).length;
  if (finite.length !== xs.length) {
    // The masking path: plain comparisons over the finite values (its own code, not on the bits).
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of finite) {
      // Strict compares, as the kernel's (Math.min would prefer −0 among zeros).
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    return { lo, hi, zeros, nan };
  }
  return { ...laneExtremes(xs), zeros, nan };
}

/** min/max of finite values as four f32 lanes plus a scalar tail take them (the sign of a zero depends on position). */
function laneExtremes(xs: number[]) {
  const n16 = xs.length & ~15;
  const first = xs[0]!;
  let lo = first;
  let hi = first;
  if (n16 > 0) {
    const lanesLo = [first, first, first, first];
    const lanesHi = [first, first, first, first];
    for (let i = 0; i < n16; i++) {
      const x = xs[i]!;
      const j = i & 3;
      // pmin/pmax: replace only on a strict compare, so the earliest of equal values stays.
      if (x < lanesLo[j]!) lanesLo[j] = x;
      if (x > lanesHi[j]!) lanesHi[j] = x;
    }
    lo = lanesLo.reduce((a, b) => (a < b || (a === 0 && b === 0 && Object.is(a, -0)) ? a : b));
    hi = lanesHi.reduce((a, b) => (a > b || (a === 0 && b === 0 && Object.is(a, 0)) ? a : b));
  }
  for (let i = n16; i < xs.length; i++) {
    const x = xs[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return { lo, hi };
}

function load(ptr: number, bits: number[]): void {
  new Uint16Array(k.k.memory.buffer, ptr, bits.length).set(bits);
}

/** The stats kernel's record and both sides of the fused kernel's, for chunk A (and B). */
function records(type: Half, a: number[], b: number[]) {
  load(k.rawA, a);
  load(k.rawB, b);
  k.k[type === 'bf16' ? 'stats_bf16' : 'stats_f16'](k.rawA, a.length, k.scratchA);
  const alone = Array.from(k.statsOut);
  k.k.compare_stats(k.rawA, SRC[type], k.rawB, SRC[type], a.length, 0, k.scratchA, k.scratchB);
  return { alone, fusedA: Array.from(k.statsOut), fusedB: Array.from(k.statsOutB) };
}

function check(type: Half, a: number[], b: number[], label: string): void {
  const got = records(type, a, b);
  for (const [record, bits, side] of [
    [got.alone, a, 'stats'],
    [got.fusedA, a, 'fused A'],
    [got.fusedB, b, 'fused B'],
  ] as const) {
    const want = reference(bits.map(DECODE[type]));
    const where = `${type} ${label} (${side})`;
    // Object.is: −0 and +0 are told apart.
    expect(Object.is(record[3], want.lo), `${where} min ${record[3]} want ${want.lo}`).toBe(true);
    expect(Object.is(record[4], want.hi), `${where} max ${record[4]} want ${want.hi}`).toBe(true);
    expect(record[8], `${where} zeros`).toBe(want.zeros);
    expect(record[5], `${where} NaN`).toBe(want.nan);
  }
}

function shuffled(xs: number[], rng: Rng): number[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Consecutive chunks of `size` (the last one shorter). */
function chunks(xs: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

describe('bf16/f16 min, max and zero count on the bits', () => {
  for (const type of ['bf16', 'f16'] as Half[]) {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const finite = all.filter((h) => (h & EXP[type]) !== EXP[type]);
    const positive = finite.filter((h) => h > 0 && h < 0x8000);
    const negative = finite.filter((h) => h > 0x8000);

    it(`${type}: every finite pattern in random company, chunks of 64 and 71 (a scalar tail)`, () => {
      const rng = new Rng(SRC[type] * 7 + 1);
      for (const size of [64, 71]) {
        const as = chunks(shuffled(finite, rng), size);
        const bs = chunks(shuffled(finite, rng), size);
        as.forEach((a, i) => {
          const b = bs[i]!.length === a.length ? bs[i]! : a;
          check(type, a, b, `mixed chunk ${i} of ${size}`);
        });
      }
    });

    it(`${type}: chunks of one sign (the extreme nearest 0 from the smallest magnitude), with and without zeros`, () => {
      const rng = new Rng(SRC[type] * 7 + 2);
      for (const pool of [positive, negative]) {
        const as = chunks(shuffled(pool, rng), 48);
        as.forEach((a, i) => {
          if (a.length < 48) return;
          // Every third chunk gets one zero of the sign of its values somewhere.
          const b = a.slice();
          if (i % 3 === 0) b[rng.int(b.length)] = pool === positive ? 0x0000 : 0x8000;
          check(type, a, b, `one-sign chunk ${i}`);
          check(type, b, a, `one-sign chunk ${i} with a zero`);
        });
      }
    });

    it(`${type}: +0 and −0 together as the min or max, at every position pattern that decides the sign`, () => {
      const rng = new Rng(SRC[type] * 7 + 3);
      for (let trial = 0; trial < 400; trial++) {
        const n = [16, 17, 32, 35, 64, 100][trial % 6]!;
        const sign = trial % 2 === 0 ? 0 : 0x8000; // non-negative chunks (zero min) or non-positive (zero max)
        const pool = sign === 0 ? positive : negative;
        const zeroShare = [0.05, 0.3, 0.9][trial % 3]!;
        const a = Array.from({ length: n }, () => (rng.next() < zeroShare ? (rng.next() < 0.5 ? 0x0000 : 0x8000) : pool[rng.int(pool.length)]!));
        const b = shuffled(a, rng);
        check(type, a, b, `±0 trial ${trial}`);
      }
      // A lane whose first zero comes only after the first 1,024 elements: past the kernels' scan.
      for (const pool of [positive, negative]) {
        for (const late of [
          [0x0000, 0x8000],
          [0x8000, 0x0000],
        ]) {
          const a = Array.from({ length: 4096 }, () => pool[rng.int(pool.length)]!);
          a[4] = pool === positive ? 0x0000 : 0x8000; // lane 0: the zero that does not decide
          a[2001] = late[0]!; // lane 1: its earliest zero decides
          a[3001] = late[1]!;
          check(type, a, shuffled(a, rng), `late zeros ${late}`);
        }
      }
      // Only zeros, of one sign and of both.
      const mixed = (first: number) => Array.from({ length: 40 }, (_, i) => (i === 0 ? first : i % 5 === 2 ? 0x8000 : 0));
      for (const a of [new Array(40).fill(0), new Array(40).fill(0x8000), mixed(0), mixed(0x8000)]) {
        check(type, a, a.slice().reverse(), 'only zeros');
      }
    });

    it(`${type}: zero counts beyond what one 16-bit lane holds (600,003 elements, mostly ±0)`, () => {
      const rng = new Rng(SRC[type] * 7 + 5);
      const n = 600_003;
      const a = Array.from({ length: n }, () => (rng.next() < 0.97 ? (rng.next() < 0.7 ? 0 : 0x8000) : positive[rng.int(positive.length)]!));
      const b = a.map((h, i) => (i % 1000 === 0 ? negative[rng.int(negative.length)]! : h));
      check(type, a, b, 'long');
    });

    it(`${type}: NaN and ±Inf anywhere send the chunk to the masking path`, () => {
      const rng = new Rng(SRC[type] * 7 + 4);
      const specials = all.filter((h) => (h & EXP[type]) === EXP[type]);
      for (const special of specials.filter((_, i) => i % 7 === 0 || i < 4)) {
        const a = Array.from({ length: 40 }, () => finite[rng.int(finite.length)]!);
        a[rng.int(40)] = special;
        check(type, a, shuffled(a, rng), `special 0x${special.toString(16)}`);
      }
    });
  }
});
