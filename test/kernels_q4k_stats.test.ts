/**
 * stats_q4_k (assembly/quant-stats.ts) takes Q4_K statistics from integer moments of the
 * quants per sub-block instead of dequantizing and summing element by element. The reference
 * is exact: the values ggml's dequantize_row_q4_K gives, recomputed here from the block
 * layout with Math.fround after every operation, summed in BigInt (helpers/exact.ts).
 * Count, min, max, zeros and the non-finite counts must match exactly; mean and std to a few
 * ulps, and never worse than the element route (q4_k_to_f32, then stats_f32). Non-finite
 * scales go the element route's way bit for bit. At engine level, a diff's per-side
 * statistics equal inspect's bit for bit at several chunk sizes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { TensorDescriptor } from '../src/formats/types.js';
import { Kernels } from '../src/engine/kernels.js';
import { type StatsPartial, statsFromRecord } from '../src/engine/partials.js';
import { f16FromBits, Rng } from './helpers/dtypes.js';
import { CHUNKS, closeEngines, engineFor } from './helpers/engine.js';
import { type RefStats, exactStats } from './helpers/exact.js';
import { tempDir } from './helpers/files.js';
import { writeFileSync } from 'node:fs';

const BLOCK_BYTES = 144;
const BLOCK_ELEMENTS = 256;
const k = new Kernels();
const tmp = tempDir('diffai-q4k-');
afterAll(async () => {
  await closeEngines();
  tmp.cleanup();
});

/** One sub-block's scale and min (6 bits each) and the range its quants are drawn from. */
interface SubBlock {
  sc: number;
  m: number;
  qLo?: number;
  qHi?: number;
}

/** A Q4_K block: f16 bits of d and dmin, eight sub-blocks, random quants in each one's range. */
function block(rng: Rng, d: number, dmin: number, subs: SubBlock[]): Uint8Array {
  const out = new Uint8Array(BLOCK_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, d, true);
  view.setUint16(2, dmin, true);
  // The 12 scale bytes as ggml packs them (inverse of get_scale_min_k4).
  const s = out.subarray(4, 16);
  subs.forEach(({ sc, m }, j) => {
    if (j < 4) {
      s[j] = (s[j]! & 0xc0) | sc;
      s[j + 4] = (s[j + 4]! & 0xc0) | m;
    } else {
      s[j + 4] = (sc & 15) | ((m & 15) << 4);
      s[j - 4] = s[j - 4]! | ((sc >> 4) << 6);
      s[j] = s[j]! | ((m >> 4) << 6);
    }
  });
  subs.forEach(({ qLo = 0, qHi = 15 }, j) => {
    for (let l = 0; l < 32; l++) {
      const q = qLo + rng.int(qHi - qLo + 1);
      const at = 16 + 32 * (j >> 1) + l;
      out[at] = j & 1 ? (out[at]! & 0x0f) | (q << 4) : (out[at]! & 0xf0) | q;
    }
  });
  return out;
}

const concat = (blocks: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(blocks.length * BLOCK_BYTES);
  for (const [i, b] of blocks.entries()) out.set(b, i * BLOCK_BYTES);
  return out;
};

/** ggml's dequantize_row_q4_K, every product and difference rounded to f32. */
function dequantize(bytes: Uint8Array): number[] {
  const f = Math.fround;
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += BLOCK_BYTES) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, BLOCK_BYTES);
    const d = f16FromBits(view.getUint16(0, true));
    const dmin = f16FromBits(view.getUint16(2, true));
    const s = (i: number) => bytes[at + 4 + i]!;
    for (let j = 0; j < 8; j++) {
      const sc = j < 4 ? s(j) & 63 : (s(j + 4) & 0xf) | ((s(j - 4) >> 6) << 4);
      const m = j < 4 ? s(j + 4) & 63 : (s(j + 4) >> 4) | ((s(j) >> 6) << 4);
      const D = f(d * sc);
      const M = f(dmin * m);
      for (let l = 0; l < 32; l++) {
        const byte = bytes[at + 16 + 32 * (j >> 1) + l]!;
        out.push(f(f(D * (j & 1 ? byte >> 4 : byte & 15)) - M));
      }
    }
  }
  return out;
}

/** The kernel's record for the blocks: stats_q4_k, or the element route. */
function kernelStats(bytes: Uint8Array, route: 'moments' | 'elements'): StatsPartial {
  k.bytes.set(bytes, k.rawA);
  const n = (bytes.length / BLOCK_BYTES) * BLOCK_ELEMENTS;
  if (route === 'moments') k.k.stats_q4_k(k.rawA, n, k.scratchA);
  else {
    k.k.q4_k_to_f32(k.rawA, k.scratchA, n);
    k.k.stats_f32(k.scratchA, n);
  }
  return statsFromRecord(k.statsOut);
}

const stdOf = (s: StatsPartial): number => Math.sqrt((s.m2 * 4 ** s.exp) / s.count);

/** Exact fields equal; mean and std within a few ulps of the scale and no worse than the element route. */
function expectAccurate(bytes: Uint8Array, label: string): RefStats {
  const ref = exactStats(dequantize(bytes));
  const got = kernelStats(bytes, 'moments');
  const old = kernelStats(bytes, 'elements');
  expectExactFields(got, ref, label);
  // A few ulps of the largest magnitude for the mean, of the std for the std.
  for (const [name, value, before, exact, floor] of [
    ['mean', got.mean, old.mean, ref.mean!, 16 * Number.EPSILON * ref.maxAbs],
    ['std', stdOf(got), stdOf(old), ref.std!, 64 * Number.EPSILON * ref.std!],
  ] as const) {
    const error = Math.abs(value - exact);
    expect(error, `${label}: ${name} ${value} vs exact ${exact}`).toBeLessThanOrEqual(Math.max(floor, Math.abs(before - exact)));
  }
  return ref;
}

function expectExactFields(got: StatsPartial, ref: RefStats, label: string): void {
  expect({ count: got.count, min: got.min, max: got.max, zeros: got.zeros, nan: got.nan, posinf: got.posinf, neginf: got.neginf }, label).toEqual({
    count: ref.count,
    min: ref.min,
    max: ref.max,
    zeros: ref.zeros,
    nan: ref.nan,
    posinf: ref.posinf,
    neginf: ref.neginf,
  });
}

/** f16 bits with a biased exponent in [lo, hi], random mantissa and sign `sign` (0 or 0x8000). */
const f16In = (rng: Rng, lo: number, hi: number, sign = 0): number => sign | ((lo + rng.int(hi - lo + 1)) << 10) | rng.int(1024);
const randomSubs = (rng: Rng): SubBlock[] => Array.from({ length: 8 }, () => ({ sc: rng.int(64), m: rng.int(64) }));

/** Block makers by case: each returns `count` blocks. */
const CASES: Array<[string, (rng: Rng, count: number) => Uint8Array]> = [
  // The bench generator's scales: d and dmin in 2^-10 … 2^-7.
  ['typical scales', (rng, count) => concat(Array.from({ length: count }, () => block(rng, f16In(rng, 5, 8), f16In(rng, 5, 8), randomSubs(rng))))],
  // Any finite d and dmin: most blocks have them far apart, where D·q − M rounds and the
  // kernel sums those blocks element by element.
  [
    'any finite d and dmin, any sign',
    (rng, count) =>
      concat(Array.from({ length: count }, () => block(rng, f16In(rng, 0, 30, rng.int(2) * 0x8000), f16In(rng, 0, 30, rng.int(2) * 0x8000), randomSubs(rng)))),
  ],
  ['subnormal d and dmin', (rng, count) => concat(Array.from({ length: count }, () => block(rng, rng.int(1024), rng.int(1024), randomSubs(rng))))],
  // A zero d or dmin (±0): the other one alone sets the unit of the exact regime.
  [
    'zero d or zero dmin',
    (rng, count) =>
      concat(
        Array.from({ length: count }, (_, i) =>
          i % 2 === 0
            ? block(rng, rng.int(2) * 0x8000, f16In(rng, 1, 30), randomSubs(rng))
            : block(rng, f16In(rng, 1, 30), rng.int(2) * 0x8000, randomSubs(rng)),
        ),
      ),
  ],
  ['largest f16 scales', (rng, count) => concat(Array.from({ length: count }, () => block(rng, 0x7bff, 0xfbff, randomSubs(rng))))],
  // d = dmin and m = sc·k: quant k of that sub-block is exactly zero; plus m = 0, sc = 0.
  [
    'zeros: M = D·k, M = 0, D = 0',
    (rng, count) =>
      concat(
        Array.from({ length: count }, () => {
          const d = f16In(rng, 10, 20, rng.int(2) * 0x8000);
          const subs = Array.from({ length: 8 }, (_, j): SubBlock => {
            if (j === 5) return { sc: 0, m: rng.int(2) * rng.int(64) }; // all −M, zero when m = 0
            if (j === 6) return { sc: 1 + rng.int(63), m: 0 };
            const sc = 1 + rng.int(4);
            return { sc, m: sc * rng.int(16) };
          });
          return block(rng, d, d, subs);
        }),
      ),
  ],
  // Quants kept away from 0 and 15: sub-block extremes are not its range ends.
  [
    'quants in narrow ranges (min and max inside sub-blocks)',
    (rng, count) =>
      concat(
        Array.from({ length: count }, () => {
          const subs = randomSubs(rng).map((s) => {
            const qLo = 1 + rng.int(7);
            return { ...s, qLo, qHi: qLo + rng.int(14 - qLo) };
          });
          return block(rng, f16In(rng, 12, 14, rng.int(2) * 0x8000), f16In(rng, 12, 14), subs);
        }),
      ),
  ],
  // The first sub-block far from all the rest (sc = 0, largest min): with the first element
  // as pivot the shifted sums cancel, and the pass is re-run around the mean.
  [
    'pivot far from the mean (cancellation re-run)',
    (rng, count) =>
      concat(
        Array.from({ length: count }, (_, i) =>
          block(
            rng,
            f16In(rng, 10, 10),
            f16In(rng, 16, 16),
            Array.from({ length: 8 }, (_, j) => (i === 0 && j === 0 ? { sc: 0, m: 63 } : { sc: 1 + rng.int(3), m: 0 })),
          ),
        ),
      ),
  ],
];

describe('stats_q4_k against exact sums of the dequantized values', () => {
  for (const [label, make] of CASES) {
    it(label, () => {
      const rng = new Rng(label.length * 7919);
      let zeros = 0;
      for (const blocks of [1, 2, 3, 17, 300]) zeros += expectAccurate(make(rng, blocks), `${label}, ${blocks} blocks`).zeros;
      if (label.startsWith('zeros')) expect(zeros, 'the case makes zeros').toBeGreaterThan(100);
    });
  }

  it('non-finite d or dmin: the element route, bit for bit', () => {
    const rng = new Rng(9);
    for (const bits of [0x7c00, 0xfc00, 0x7e00]) {
      for (const at of [0, 2, 2 * BLOCK_BYTES, 2 * BLOCK_BYTES + 2]) {
        const bytes = concat(Array.from({ length: 5 }, () => block(rng, f16In(rng, 5, 8), f16In(rng, 5, 8), randomSubs(rng))));
        new DataView(bytes.buffer).setUint16(at, bits, true);
        const got = kernelStats(bytes, 'moments');
        expect(got, `bits ${bits.toString(16)} at ${at}`).toEqual(kernelStats(bytes, 'elements'));
        expect(got.nan + got.posinf + got.neginf).toBeGreaterThan(0);
        expectExactFields(got, exactStats(dequantize(bytes)), `bits ${bits.toString(16)} at ${at}`);
      }
    }
  });
});

describe('Q4_K through the engine', () => {
  it("diff's per-side statistics equal inspect's bit for bit, at chunk sizes 1, 3, 1000 and the default", async () => {
    const rng = new Rng(77);
    const blocks = 700;
    const q4 = concat(Array.from({ length: blocks }, () => block(rng, f16In(rng, 5, 8), f16In(rng, 5, 8), randomSubs(rng))));
    const q4b = concat(Array.from({ length: blocks }, () => block(rng, f16In(rng, 5, 8), f16In(rng, 5, 8), randomSubs(rng))));
    const f32 = new Float32Array(dequantize(q4b));
    const path = tmp.path('pair.bin');
    writeFileSync(path, Buffer.concat([q4, q4b, new Uint8Array(f32.buffer)]));
    const n = blocks * BLOCK_ELEMENTS;
    const desc = (name: string, dtype: 'q4_k' | 'f32', offset: number, length: number): TensorDescriptor => ({
      name,
      dtype,
      shape: [n],
      numel: n,
      byteOrder: 'little',
      source: { kind: 'file', path, offset, length },
    });
    const a = desc('a', 'q4_k', 0, q4.length);
    const b = desc('b', 'q4_k', q4.length, q4b.length);
    const c = desc('c', 'f32', 2 * q4.length, f32.byteLength);
    const ref = exactStats(dequantize(q4));
    for (const chunk of CHUNKS) {
      const runner = engineFor(chunk);
      const inspected = (await runner.stats(a)).stats;
      expect(inspected.mean, `chunk=${chunk}`).toBeCloseTo(ref.mean!, 12);
      expectExactFields(inspected, ref, `chunk=${chunk}`);
      expect((await runner.compare(a, b, 0)).a.stats, `q4_k pair, chunk=${chunk}`).toEqual(inspected);
      expect((await runner.compare(c, a, 0)).b.stats, `f32 against q4_k, chunk=${chunk}`).toEqual(inspected);
      // The f32 copy of b's values against b: no change, both sides the same numbers.
      const same = await runner.compare(b, c, 0);
      expect(same.comparison.changed, `chunk=${chunk}`).toBe(0);
    }
  });
});
