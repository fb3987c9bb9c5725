/**
 * Matrix–vector-block kernels (assembly/matvec.ts) called directly on WASM memory: Y = W·X
 * and Z += Wᵀ·Y against exact dot products (BigInt), and bit-identical results however W is
 * cut into row chunks or row pieces (with accumulate), for k = 1..16 and f32/f64 W.
 */
import { describe, expect, it } from 'vitest';
import { Kernels } from '../src/engine/kernels.js';
import { Rng } from './helpers/dtypes.js';
import { decompose, ldexp } from './helpers/exact.js';

const k = new Kernels();
type Kind = 'f32' | 'f64';
const KS = [1, 2, 3, 5, 8, 13, 16];

function f64At(ptr: number, n: number): Float64Array {
  return new Float64Array(k.k.memory.buffer, ptr, n);
}

function putW(kind: Kind, w: number[]): void {
  (kind === 'f32' ? new Float32Array(k.k.memory.buffer, k.rawA, w.length) : f64At(k.rawA, w.length)).set(w);
}

/** Σ x_i·y_i exactly, rounded to float64 once. */
function exactDot(xs: number[], ys: number[]): number {
  const terms = xs.map((x, i) => {
    const [a, e] = decompose(x),
      [b, f] = decompose(ys[i]!);
    return [a * b, e + f] as const;
  });
  let emin = Infinity;
  for (const [m, e] of terms) if (m !== 0n && e < emin) emin = e;
  if (emin === Infinity) return 0;
  let s = 0n;
  for (const [m, e] of terms) s += m << BigInt(e - emin);
  const neg = s < 0n,
    n = neg ? -s : s;
  const shift = Math.max(0, n.toString(2).length - 60);
  return (neg ? -1 : 1) * ldexp(Number(n >> BigInt(shift)), emin + shift);
}

function randomMatrix(kind: Kind, m: number, n: number, rng: Rng): number[] {
  const specials = [-0, 0, kind === 'f32' ? 1e-40 : 1e-310, 3];
  const w = Array.from({ length: m * n }, () => (rng.int(10) === 0 ? specials[rng.int(4)]! : rng.normal() * 0.05));
  return kind === 'f32' ? w.map(Math.fround) : w;
}

const vectors = (len: number, rng: Rng): number[] => Array.from({ length: len }, () => rng.normal());

function matvec(kind: Kind, rows: number, cols: number, ldw: number, wOff: number, x: number, kk: number, y: number, acc: number): void {
  const w = k.rawA + wOff * (kind === 'f32' ? 4 : 8);
  if (kind === 'f32') k.k.matvec_f32(w, rows, cols, ldw, x, kk, y, acc);
  else k.k.matvec_f64(w, rows, cols, ldw, x, kk, y, acc);
}

function matvecT(kind: Kind, rows: number, cols: number, ldw: number, wOff: number, y: number, kk: number, z: number): void {
  const w = k.rawA + wOff * (kind === 'f32' ? 4 : 8);
  if (kind === 'f32') k.k.matvec_t_f32(w, rows, cols, ldw, y, kk, z);
  else k.k.matvec_t_f64(w, rows, cols, ldw, y, kk, z);
}

/** Y = W·X with rows in groups of `rowsPer` and each row in column pieces of `colsPer`. */
function forward(kind: Kind, m: number, n: number, kk: number, rowsPer: number, colsPer: number): Float64Array {
  const X = k.k.ptrVecX(),
    Y = k.k.ptrVecY();
  f64At(Y, m * kk).fill(NaN);
  for (let r = 0; r < m; r += rowsPer) {
    const rows = Math.min(rowsPer, m - r);
    if (colsPer >= n) {
      matvec(kind, rows, n, n, r * n, X, kk, Y + r * kk * 8, 0);
      continue;
    }
    for (let i = r; i < r + rows; i++) {
      for (let c = 0; c < n; c += colsPer) matvec(kind, 1, Math.min(colsPer, n - c), n, i * n + c, X + c * kk * 8, kk, Y + i * kk * 8, c === 0 ? 0 : 1);
    }
  }
  return f64At(Y, m * kk).slice();
}

/** Z = Wᵀ·Y fed in row chunks of `rowsPer`. */
function backward(kind: Kind, m: number, n: number, kk: number, rowsPer: number): Float64Array {
  const Y = k.k.ptrVecY(),
    Z = k.k.ptrVecX();
  f64At(Z, n * kk).fill(0);
  for (let r = 0; r < m; r += rowsPer) matvecT(kind, Math.min(rowsPer, m - r), n, n, r * n, Y + r * kk * 8, kk, Z);
  return f64At(Z, n * kk).slice();
}

const bitsOf = (a: Float64Array): bigint[] => Array.from(new BigUint64Array(a.buffer));

function expectDot(got: number, ws: number[], xs: number[], label: string): void {
  const ref = exactDot(ws, xs);
  const scale = ws.reduce((s, w, i) => s + Math.abs(w * xs[i]!), 0);
  if (!(Math.abs(got - ref) <= 1e-15 * Math.abs(ref) + 1e-14 * scale)) expect.fail(`${label}: got ${got}, exact ${ref}`);
}

describe('matvec kernels', () => {
  for (const kind of ['f32', 'f64'] as const) {
    it(`${kind}: Y = W·X matches exact dot products and is bit-identical at any row/column split`, () => {
      const rng = new Rng(kind === 'f32' ? 71 : 72);
      for (const kk of KS) {
        const [m, n] = [9, 37];
        const w = randomMatrix(kind, m, n, rng);
        const x = vectors(n * kk, rng);
        putW(kind, w);
        f64At(k.k.ptrVecX(), n * kk).set(x);
        const y = forward(kind, m, n, kk, m, n);
        for (let i = 0; i < m; i++) {
          for (let c = 0; c < kk; c++) {
            expectDot(
              y[i * kk + c]!,
              w.slice(i * n, (i + 1) * n),
              Array.from({ length: n }, (_, j) => x[j * kk + c]!),
              `${kind} k=${kk} Y[${i},${c}]`,
            );
          }
        }
        for (const [rowsPer, colsPer] of [
          [1, n],
          [4, n],
          [1, 1],
          [2, 3],
          [3, 8],
          [1, 36],
        ]) {
          expect(bitsOf(forward(kind, m, n, kk, rowsPer!, colsPer!)), `${kind} k=${kk} rows=${rowsPer} cols=${colsPer}`).toEqual(bitsOf(y));
        }
      }
    });

    it(`${kind}: Z += Wᵀ·Y matches exact dot products and is bit-identical at any row chunking`, () => {
      const rng = new Rng(kind === 'f32' ? 81 : 82);
      for (const kk of KS) {
        const [m, n] = [23, 11];
        const w = randomMatrix(kind, m, n, rng);
        const yv = vectors(m * kk, rng);
        putW(kind, w);
        f64At(k.k.ptrVecY(), m * kk).set(yv);
        const z = backward(kind, m, n, kk, m);
        for (let j = 0; j < n; j++) {
          for (let c = 0; c < kk; c++) {
            expectDot(
              z[j * kk + c]!,
              Array.from({ length: m }, (_, i) => w[i * n + j]!),
              Array.from({ length: m }, (_, i) => yv[i * kk + c]!),
              `${kind} k=${kk} Z[${j},${c}]`,
            );
          }
        }
        for (const rowsPer of [1, 2, 5, 22]) expect(bitsOf(backward(kind, m, n, kk, rowsPer)), `${kind} k=${kk} rows=${rowsPer}`).toEqual(bitsOf(z));
      }
    });
  }

  it('a column range of W (ldw > cols) and accumulation into existing Z', () => {
    const rng = new Rng(91);
    const [m, n, kk] = [5, 10, 3];
    const w = randomMatrix('f64', m, n, rng);
    putW('f64', w);
    const x = vectors(8 * kk, rng);
    f64At(k.k.ptrVecX(), x.length).set(x);
    // Columns 1..9 of each row, against X rows 0..8.
    matvec('f64', m, 8, n, 1, k.k.ptrVecX(), kk, k.k.ptrVecY(), 0);
    const y = f64At(k.k.ptrVecY(), m * kk).slice();
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < kk; c++)
        expectDot(
          y[i * kk + c]!,
          w.slice(i * n + 1, i * n + 9),
          Array.from({ length: 8 }, (_, j) => x[j * kk + c]!),
          `Y[${i},${c}]`,
        );
    }
    const Z = k.k.ptrVecX();
    f64At(Z, 8 * kk).fill(1);
    matvecT('f64', m, 8, n, 1, k.k.ptrVecY(), kk, Z);
    const z = f64At(Z, 8 * kk);
    for (let j = 0; j < 8; j++) {
      for (let c = 0; c < kk; c++) {
        expectDot(
          z[j * kk + c]!,
          [1, ...Array.from({ length: m }, (_, i) => w[i * n + 1 + j]!)],
          [1, ...Array.from({ length: m }, (_, i) => y[i * kk + c]!)],
          `Z[${j},${c}]`,
        );
      }
    }
  });
});
