/**
 * Histogram kernels (assembly/histogram.ts) called directly on WASM memory: counts must equal
 * a float64 reference of the documented bin rule exactly, for f32 and f64 inputs, with
 * NaN/±Inf, values on the edges, out of range, −0 and subnormals, and must not depend on how
 * the data is cut into calls.
 */
import { describe, expect, it } from 'vitest';
import { Kernels } from '../src/engine/kernels.js';
import { Rng } from './helpers/dtypes.js';

const k = new Kernels();
const HEADER = 8;

type Kind = 'f32' | 'f64';

function write(kind: Kind, ptr: number, values: number[]): void {
  const view = kind === 'f32' ? new Float32Array(k.k.memory.buffer, ptr, values.length) : new Float64Array(k.k.memory.buffer, ptr, values.length);
  view.set(values);
}

/** Runs the kernel over `values` in calls of `piece` elements; returns [header…, bins…]. */
function histogram(kind: Kind, values: number[], lo: number, hi: number, bins: number, piece = values.length): number[] {
  const out = k.k.ptrHistOut();
  const view = new Float64Array(k.k.memory.buffer, out, HEADER + bins);
  view.fill(0);
  const size = kind === 'f32' ? 4 : 8;
  write(kind, k.rawA, values);
  for (let s = 0; s < values.length || s === 0; s += Math.max(piece, 1)) {
    const n = Math.min(piece, values.length - s);
    if (kind === 'f32') k.k.histogram_f32(k.rawA + s * size, n, lo, hi, bins, out);
    else k.k.histogram_f64(k.rawA + s * size, n, lo, hi, bins, out);
    if (values.length === 0) break;
  }
  return Array.from(view);
}

/** The documented rule, in plain float64. */
function reference(values: number[], lo: number, hi: number, bins: number): number[] {
  const r = new Array<number>(HEADER + bins).fill(0);
  const scale = bins / (hi - lo);
  for (const x of values) {
    if (Number.isNaN(x)) r[2]!++;
    else if (x === Infinity) r[3]!++;
    else if (x === -Infinity) r[4]!++;
    else if (x < lo) r[0]!++;
    else if (x > hi) r[1]!++;
    else r[HEADER + Math.min(bins - 1, Math.floor((x - lo) * scale))]!++;
  }
  return r;
}

function sample(n: number, rng: Rng, kind: Kind, lo: number, hi: number): number[] {
  const specials = [NaN, Infinity, -Infinity, lo, hi, -0, 0, 5e-324, -5e-324, 1e-45, lo - 1, hi + 1, Math.fround(hi), -1e308, 1e308];
  const v = Array.from({ length: n }, () => (rng.int(6) === 0 ? specials[rng.int(specials.length)]! : rng.normal()));
  return kind === 'f32' ? v.map(Math.fround) : v;
}

describe('histogram kernels', () => {
  for (const kind of ['f32', 'f64'] as const) {
    it(`${kind}: exact counts for every length 0..17, 31, 1001, 4099 with specials`, () => {
      const rng = new Rng(kind === 'f32' ? 11 : 12);
      const lengths = [...Array.from({ length: 18 }, (_, i) => i), 31, 1001, 4099];
      for (const [lo, hi, bins] of [
        [-2, 2, 64],
        [-1, 3, 1],
        [0, 0.1, 7],
        [-3.5, 2.25, 256],
        [-4, 4, 1024],
      ] as const) {
        for (const n of lengths) {
          const values = sample(n, rng, kind, lo, hi);
          const got = histogram(kind, values, lo, hi, bins);
          expect(got, `${kind}[${n}] [${lo}, ${hi}) ×${bins}`).toEqual(reference(values, lo, hi, bins));
          expect(got.slice(0, 5).reduce((a, b) => a + b) + got.slice(HEADER).reduce((a, b) => a + b)).toBe(n);
        }
      }
    });

    it(`${kind}: bin centres land in their own bin; hi goes to the last bin, edges to the upper bin`, () => {
      const bins = 10;
      const centres = Array.from({ length: bins }, (_, b) => b + 0.5);
      const values = [...centres, ...centres, 10, 0, 3, -0.0001, 10.5];
      const got = histogram(kind, values, 0, 10, bins);
      // Independent of the bin formula: counts by construction.
      expect(got.slice(HEADER)).toEqual([3, 2, 2, 3, 2, 2, 2, 2, 2, 3]);
      expect(got.slice(0, 5)).toEqual([1, 1, 0, 0, 0]);
    });

    it(`${kind}: counts do not depend on how the data is cut into calls`, () => {
      const rng = new Rng(kind === 'f32' ? 21 : 22);
      const values = sample(5003, rng, kind, -2, 2);
      const whole = histogram(kind, values, -2, 2, 100);
      for (const piece of [1, 3, 4, 7, 1000]) expect(histogram(kind, values, -2, 2, 100, piece), `piece=${piece}`).toEqual(whole);
    });
  }

  it('adds into the output: two calls give twice the counts; spare header slots untouched', () => {
    const out = k.k.ptrHistOut();
    const view = new Float64Array(k.k.memory.buffer, out, HEADER + 4);
    view.fill(0);
    view[5] = 42;
    write('f64', k.rawA, [0.1, 0.6, NaN, 2]);
    k.k.histogram_f64(k.rawA, 4, 0, 1, 4, out);
    k.k.histogram_f64(k.rawA, 4, 0, 1, 4, out);
    expect(Array.from(view)).toEqual([0, 2, 2, 0, 0, 42, 0, 0, 2, 0, 2, 0]);
  });
});
