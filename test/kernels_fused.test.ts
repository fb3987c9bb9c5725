/**
 * The fused diff kernel (assembly/fused.ts: stats of A, stats of B and their comparison in
 * one pass) against the separate kernels it replaces (stats_f32/bf16/f16 on each side,
 * compare_f32 on the widened sides): every record must be equal bit for bit, on adversarial
 * data — NaN/±Inf (also as the first element), −0, subnormals, the largest magnitudes,
 * |mean| ≫ std (the cancellation re-run), lengths around the 16-element steps — for every
 * pair of stored types f32, bf16, f16. Then the fused records against exact float64
 * references (test/helpers/exact.ts) on the same kinds and every tail length 0..33, so a
 * change made to both the fused and the separate kernels is still checked independently
 * (kernels.test.ts checks the separate kernels through the engine); the engine-level test
 * at the end checks that a diff's per-side statistics equal inspect's, bit for bit, at
 * several chunk sizes. */
import { afterAll, describe, expect, it } from 'vitest';
import { comparison, tensorStats } from '../src/diff/stats.js';
import { Kernels } from '../src/engine/kernels.js';
import { compareFromRecord, statsFromRecord } from '../src/engine/partials.js';
import { expectComparison, expectStats } from './helpers/assert.js';
import { bf16FromBits, decode, f16FromBits, Rng } from './helpers/dtypes.js';
import { closeEngines, engineFor, memoryDesc, writeTensors } from './helpers/engine.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { tempDir } from './helpers/files.js';

type Half = 'f32' | 'bf16' | 'f16';
const TYPES: Half[] = ['f32', 'bf16', 'f16'];
/** The source codes of compare_stats (assembly/stats.ts SRC_*). */
const SRC: Record<Half, number> = { f32: 0, bf16: 1, f16: 2 };

const k = new Kernels();
const tmp = tempDir('diffai-fused-');
afterAll(async () => {
  await closeEngines();
  tmp.cleanup();
});

/** Encodes values (f64) as the stored type, rounding to nearest-even via f32 and bit tricks. */
function encode(values: number[], type: Half): Uint8Array {
  const f32 = new Float32Array(values);
  if (type === 'f32') return new Uint8Array(f32.buffer);
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) out[i] = type === 'bf16' ? bf16Bits(bits[i]!) : f16Bits(f32[i]!);
  return new Uint8Array(out.buffer);
}

function bf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40; // keep NaN a NaN
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** Nearest f16 by search over the 65,536 patterns' order (values here are few and the table is exact). */
const F16_SORTED = (() => {
  const xs: Array<[number, number]> = [];
  for (let h = 0; h < 0x7c00; h++) xs.push([f16FromBits(h), h]);
  return xs;
})();
function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = F16_SORTED.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (F16_SORTED[mid]![0] <= a) lo = mid;
    else hi = mid;
  }
  const [vl, hl] = F16_SORTED[lo]!;
  const [vh, hh] = F16_SORTED[hi]!;
  const pick = a - vl < vh - a || (a - vl === vh - a && (hl & 1) === 0) ? hl : hh;
  return sign | pick;
}

type Kind = 'normal' | 'specials' | 'special-first' | 'subnormal' | 'offset' | 'offset-late' | 'offset-early' | 'constant' | 'zeros' | 'large' | 'everything';
const KINDS: Kind[] = ['normal', 'specials', 'special-first', 'subnormal', 'offset', 'offset-late', 'offset-early', 'constant', 'zeros', 'large', 'everything'];
/** The largest finite value of each stored type. */
const MAX: Record<Half, number> = { f32: 3.4028234663852886e38, bf16: 3.3895313892515355e38, f16: 65504 };

/** n values of one adversarial kind for the stored type. */
function values(kind: Kind, n: number, type: Half, rng: Rng): number[] {
  const tiny = type === 'f32' ? 1e-40 : type === 'bf16' ? bf16FromBits(0x0005) : f16FromBits(0x0003);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'normal':
        xs.push(rng.normal() * 0.02);
        break;
      case 'specials': {
        const r = rng.next();
        xs.push(r < 0.02 ? NaN : r < 0.03 ? Infinity : r < 0.04 ? -Infinity : rng.normal());
        break;
      }
      case 'special-first':
        xs.push(i === 0 ? [NaN, Infinity, -Infinity][rng.int(3)]! : rng.normal());
        break;
      case 'subnormal':
        xs.push(tiny * (rng.int(7) - 3));
        break;
      case 'offset':
        // |mean| ≫ std: the first pass around the first element cancels, the re-run around the mean does not.
        xs.push(1000 + rng.normal() * (type === 'f32' ? 1e-3 : 2));
        break;
      case 'offset-late':
        // The pivot guess (first 32 elements) sees values around 0; the rest is |mean| ≫ std.
        xs.push(i < 40 ? rng.normal() : 1000 + rng.normal() * (type === 'f32' ? 1e-3 : 2));
        break;
      case 'offset-early':
        // The guess sees a constant 1000 and pivots there; the rest lies around 0.
        xs.push(i < 40 ? 1000 : rng.normal());
        break;
      case 'constant':
        // A norm layer's ones: the pass around 0 cancels completely (M2 = 0).
        xs.push(1);
        break;
      case 'zeros':
        xs.push(rng.next() < 0.5 ? 0 : rng.next() < 0.5 ? -0 : rng.normal());
        break;
      case 'large':
        // Magnitudes near the type's largest: squares and sums far beyond f32, exact in f64.
        xs.push(MAX[type] * (rng.next() < 0.5 ? -1 : 1) * (0.25 + 0.75 * rng.next()));
        break;
      case 'everything': {
        const pick = [NaN, Infinity, -Infinity, -0, 0, tiny, -tiny, MAX[type], -MAX[type], rng.normal(), 1000 + rng.normal()];
        xs.push(pick[rng.int(pick.length)]!);
        break;
      }
    }
  }
  return xs;
}

const bitsOf = (r: Float64Array) => Array.from(new BigUint64Array(r.slice().buffer));

/** Records of the fused kernel and of the separate kernels for one chunk pair. */
function run(a: Uint8Array, ta: Half, b: Uint8Array, tb: Half, n: number, eps: number) {
  k.bytes.set(a, k.rawA);
  k.bytes.set(b, k.rawB);
  k.k.compare_stats(k.rawA, SRC[ta], k.rawB, SRC[tb], n, eps, k.scratchA, k.scratchB);
  const fused = [bitsOf(k.statsOut), bitsOf(k.statsOutB), bitsOf(k.compareOut)];
  const stats = (ptr: number, t: Half, scratch: number) => {
    if (t === 'f32') k.k.stats_f32(ptr, n);
    else k.k[t === 'bf16' ? 'stats_bf16' : 'stats_f16'](ptr, n, scratch);
    return bitsOf(k.statsOut);
  };
  const sa = stats(k.rawA, ta, k.scratchA);
  const sb = stats(k.rawB, tb, k.scratchB);
  const widened = (ptr: number, t: Half, scratch: number) => {
    if (t === 'f32') return ptr;
    k.k[t === 'bf16' ? 'bf16_to_f32' : 'f16_to_f32'](ptr, scratch, n);
    return scratch;
  };
  k.k.compare_f32(widened(k.rawA, ta, k.scratchA), widened(k.rawB, tb, k.scratchB), n, eps);
  return { fused, separate: [sa, sb, bitsOf(k.compareOut)] };
}

const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 1023, 1024, 1025, 1028, 1031, 2048, 3001, 4099, 65_537];

describe('fused compare kernel equals the separate kernels bit for bit', () => {
  for (const ta of TYPES) {
    for (const tb of TYPES) {
      it(`A ${ta}, B ${tb}: every adversarial kind and length, eps 0 and 1e-3`, () => {
        const rng = new Rng(SRC[ta] * 3 + SRC[tb] + 11);
        let slowPaths = 0;
        for (const kind of KINDS) {
          for (const n of LENGTHS) {
            const xa = values(kind, n, ta, rng);
            // B: A perturbed at some positions, so the comparison has changes, equal NaNs and mismatches.
            const xb = xa.map((x, i) => (i % 5 === 0 ? x + rng.normal() * 0.01 : i % 97 === 3 ? NaN : x));
            const a = encode(xa, ta);
            const b = encode(xb, tb);
            for (const eps of [0, 1e-3]) {
              const { fused, separate } = run(a, ta, b, tb, n, eps);
              expect(fused, `${kind} n=${n} eps=${eps}`).toEqual(separate);
            }
            if (kind === 'specials' || kind === 'special-first' || kind.startsWith('offset') || kind === 'constant') slowPaths++;
          }
        }
        expect(slowPaths).toBeGreaterThan(0);
      });
    }
  }

  it('the adversarial kinds reach the slow paths (non-finite counts, cancellation re-run)', () => {
    const rng = new Rng(5);
    const n = 4099;
    const xs = values('specials', n, 'f32', rng);
    run(encode(xs, 'f32'), 'f32', encode(xs, 'f32'), 'f32', n, 0);
    const nan = xs.filter(Number.isNaN).length;
    expect(k.statsOut[5]).toBe(nan); // NaN count came from the masking path
    expect(k.statsOutB[5]).toBe(nan);
    expect(k.compareOut[0]).toBe(xs.filter(Number.isFinite).length); // finite pairs
    // |mean| ≫ std: the record's M2 is what the exact sum gives, not the cancelled one-pass value.
    const off = values('offset', n, 'f32', rng);
    const stored = Array.from(new Float32Array(encode(off, 'f32').buffer));
    run(encode(off, 'f32'), 'f32', encode(off, 'f32'), 'f32', n, 0);
    const mean = stored.reduce((s, x) => s + x, 0) / n;
    const m2 = stored.reduce((s, x) => s + (x - mean) ** 2, 0);
    expect(Math.abs(k.statsOut[2]! - m2) / m2).toBeLessThan(1e-6);
  });
});

describe('fused compare kernel against exact float64 references', () => {
  /** The records of one compare_stats call as the contract's stats and comparison. */
  function fusedResults(a: Uint8Array, ta: Half, b: Uint8Array, tb: Half, n: number, eps: number) {
    k.bytes.set(a, k.rawA);
    k.bytes.set(b, k.rawB);
    k.k.compare_stats(k.rawA, SRC[ta], k.rawB, SRC[tb], n, eps, k.scratchA, k.scratchB);
    return {
      a: tensorStats(memoryDesc(ta, n), { stats: statsFromRecord(k.statsOut) }),
      b: tensorStats(memoryDesc(tb, n), { stats: statsFromRecord(k.statsOutB) }),
      c: comparison(compareFromRecord(k.compareOut)),
    };
  }

  for (const ta of TYPES) {
    for (const tb of TYPES) {
      it(`A ${ta}, B ${tb}: NaN, ±Inf, −0, subnormals, the largest magnitudes, |mean| ≫ std; every tail 0..33`, () => {
        const rng = new Rng(100 + SRC[ta] * 3 + SRC[tb]);
        for (const kind of KINDS) {
          for (const n of [...Array.from({ length: 34 }, (_, i) => i), 1000, 4099]) {
            const xa = values(kind, n, ta, rng);
            // B: A changed at some positions (by a little, by a lot, to a special), equal elsewhere.
            const xb = xa.map((x, i) => (i % 3 === 0 ? x + rng.normal() * 0.01 : i % 11 === 5 ? -x : i % 13 === 7 ? NaN : x));
            const a = encode(xa, ta);
            const b = encode(xb, tb);
            const va = decode(a, ta);
            const vb = decode(b, tb);
            for (const eps of [0, 0.005]) {
              const got = fusedResults(a, ta, b, tb, n, eps);
              const label = `${kind} n=${n} eps=${eps}`;
              expectStats(got.a, exactStats(va), `${label} A`);
              expectStats(got.b, exactStats(vb), `${label} B`);
              expectComparison(got.c, exactCompare(va, vb, eps), label);
            }
          }
        }
      });
    }
  }
});

describe('diff statistics of each side equal inspect statistics, bit for bit', () => {
  it('mixed f32/bf16/f16 pairs with specials, at chunk sizes 1, 3, 1000 and the default', async () => {
    const rng = new Rng(42);
    const n = 5000;
    for (const [ta, tb] of [
      ['f32', 'bf16'],
      ['bf16', 'bf16'],
      ['f16', 'f32'],
    ] as Array<[Half, Half]>) {
      const xa = values('specials', n, ta, rng);
      const xb = xa.map((x, i) => (i % 3 === 0 ? x * 1.01 : x));
      const [da, db] = writeTensors(tmp.path(`pair-${ta}-${tb}`), [
        { dtype: ta, bytes: encode(xa, ta) },
        { dtype: tb, bytes: encode(xb, tb) },
      ]);
      for (const chunk of [1, 3, 1000, undefined]) {
        const runner = engineFor(chunk);
        const diff = await runner.compare(da!, db!, 0);
        expect(diff.a.stats, `${ta} A chunk=${chunk}`).toEqual((await runner.stats(da!)).stats);
        expect(diff.b.stats, `${tb} B chunk=${chunk}`).toEqual((await runner.stats(db!)).stats);
      }
    }
  });
});

describe('fused compare kernel on finite pairs (the comparison fast path)', () => {
  // B as A changed at some positions, without NaN: the comparison's sums come from the SIMD
  // lanes, not from the masking kernel (f16 pairs are compared scaled by 2^-112 there, with ε
  // scaled when that is exact: the tiny ε values take the unscaled loop).
  for (const ta of TYPES) {
    for (const tb of TYPES) {
      it(`A ${ta}, B ${tb}: separate kernels and exact references, ε 0, 1e-3, 2^-130, 1e-300`, () => {
        const rng = new Rng(200 + SRC[ta] * 3 + SRC[tb]);
        let fast = 0;
        // Values of the narrower type, so both encodings stay finite.
        const narrow = MAX[ta] <= MAX[tb] ? ta : tb;
        for (const kind of ['normal', 'subnormal', 'offset', 'zeros', 'large', 'constant'] as Kind[]) {
          for (const n of [16, 33, 1024, 4099]) {
            const xa = values(kind, n, narrow, rng);
            const xb = xa.map((x, i) => (i % 3 === 0 ? x + rng.normal() * 0.01 : i % 11 === 5 ? -x : x));
            const a = encode(xa, ta);
            const b = encode(xb, tb);
            const va = decode(a, ta);
            const vb = decode(b, tb);
            for (const eps of [0, 1e-3, 2 ** -130, 1e-300]) {
              const { fused, separate } = run(a, ta, b, tb, n, eps);
              const label = `${kind} n=${n} eps=${eps}`;
              expect(fused, label).toEqual(separate);
              expect(k.compareOut[8], `${label}: no mismatched (non-finite) pairs`).toBe(0);
              const c = comparison(compareFromRecord(k.compareOut));
              expectComparison(c, exactCompare(va, vb, eps), label);
              fast++;
            }
          }
        }
        expect(fast).toBe(6 * 4 * 4);
      });
    }
  }
});
