// Per-row statistics of a chunk holding rows of length `rowLen` (slices along the first
// dimension), for one tensor (rows_*) or for two same-shape tensors (rows2_*).
//
// Calling convention: a call gets n consecutive elements that start at element `off` of
// their first row. Row after row, it updates one record per row touched, at out,
// out + REC, out + 2·REC … and returns how many records it touched. A row that starts in
// this call (its element 0 is here) gets its record reset first; a row continued from an
// earlier call (off > 0 for the first row) accumulates into the record already at `out`.
// So a row longer than a chunk is fed piece by piece with the same record: the host keeps
// the last, unfinished record where the next call's `out` points (copying its REC bytes if
// it moves it). Records are plain f64 slots; the results are valid after every call.
//
// INVARIANT (chunk and thread independence): a record's bits depend only on the row's
// values, never on how the row was cut into pieces. Every sum is held in fixed lanes: the
// element at row index j is added to lane j mod LANES, in row order, by one IEEE f64 add
// (SIMD body and scalar head/tail/masking paths do exactly the same operations), the lanes
// are carried in the record between calls, and they are folded in a fixed order. f32
// inputs are promoted to f64 before any arithmetic (products of two f32 are exact in f64),
// which keeps cosines near 1 meaningful; min/max lanes are kept too, so ±0 ties resolve the
// same way at any split. The fast path assumes finite values and is tried on a copy of the
// record; if any lane went non-finite the piece is re-run on the real record by the masking
// path, which skips NaN/±Inf (counting them) and yields the same lanes for finite values.
//
// Stats record (ROW_STATS_SLOTS f64), mirroring the stats record's first slots:
//   0 count (finite)  1 mean  2 M2  3 min  4 max  5 nan  6 +inf  7 −inf  8 zeros
//   9 Σx² (row norm²)  10 elements fed so far  11 spare
//   12.. state: pivot, pivot set, Σx² lanes ×4, Σ(x−p) ×4, Σ(x−p)² ×4, min ×4, max ×4
// mean and M2 are taken around the row's first finite element (pivot), so M2 keeps its
// digits unless that element lies thousands of standard deviations from the row mean.
// Σx² of f64 values beyond ~1e154 overflows to +Inf (no rescaling here).
//
// Pair record (ROW_PAIR_SLOTS f64), over positions where both values are finite:
//   0 pairs  1 max|a−b|  2 Σ(a−b)²  3 Σab  4 Σa²  5 Σb²  6 mismatched (non-finite values
//   that differ, as compare.ts counts them)  7 elements fed so far
//   8.. state: Σab lanes ×2, Σa² ×2, Σb² ×2, Σ(a−b)² ×2

import { sumI32x4, sumI64x2 } from './lanes';
import { rowsTemp } from './layout';

export const ROW_STATS_SLOTS: i32 = 36;
export const ROW_PAIR_SLOTS: i32 = 16;
const STATS_BYTES: usize = <usize>ROW_STATS_SLOTS << 3;
const PAIR_BYTES: usize = <usize>ROW_PAIR_SLOTS << 3;

// Byte offsets of the stats record's slots.
const R_COUNT: usize = 0, R_MEAN: usize = 8, R_M2: usize = 16, R_MIN: usize = 24, R_MAX: usize = 32;
const R_NAN: usize = 40, R_PINF: usize = 48, R_NINF: usize = 56, R_ZEROS: usize = 64, R_SQ: usize = 72, R_FED: usize = 80;
const R_PIVOT: usize = 96, R_PSET: usize = 104;
const L_SQ: usize = 112, L_S: usize = 144, L_Q: usize = 176, L_MIN: usize = 208, L_MAX: usize = 240;

// Byte offsets of the pair record's slots.
const P_PAIRS: usize = 0, P_MAXABS: usize = 8, P_SDD: usize = 16, P_SAB: usize = 24, P_SAA: usize = 32, P_SBB: usize = 40;
const P_MISMATCH: usize = 48, P_FED: usize = 56;
const L_AB: usize = 64, L_AA: usize = 80, L_BB: usize = 96, L_DD: usize = 112;

@inline function add(p: usize, x: f64): void { store<f64>(p, load<f64>(p) + x); }

// ---------------------------------------------------------------- one tensor

function resetStats(rec: usize): void {
  memory.fill(rec, 0, STATS_BYTES);
  store<f64>(rec + R_MIN, Infinity);
  store<f64>(rec + R_MAX, -Infinity);
  for (let l: usize = 0; l < 4; l++) {
    store<f64>(rec + L_MIN + (l << 3), Infinity);
    store<f64>(rec + L_MAX + (l << 3), -Infinity);
  }
}

/** One finite element at row index j into its lanes (the fast path's head/tail and the masking path). */
@inline function statsStep(rec: usize, j: i32, x: f64, p: f64): void {
  const l = <usize>(j & 3) << 3;
  add(rec + L_SQ + l, x * x);
  const d = x - p;
  add(rec + L_S + l, d);
  add(rec + L_Q + l, d * d);
  const m = load<f64>(rec + L_MIN + l);
  store<f64>(rec + L_MIN + l, x < m ? x : m);
  const M = load<f64>(rec + L_MAX + l);
  store<f64>(rec + L_MAX + l, M < x ? x : M);
  if (x == 0) add(rec + R_ZEROS, 1);
  add(rec + R_COUNT, 1);
}

@inline function lanesFinite(rec: usize, first: usize, count: i32): bool {
  let s: f64 = 0;
  for (let l = 0; l < count; l++) s += load<f64>(rec + first + (<usize>l << 3));
  return isFinite(s);
}

/** Sets the pivot from the piece's first element if the row has none yet; false if it is not finite. */
@inline function takePivot(rec: usize, first: f64): bool {
  if (load<f64>(rec + R_PSET) != 0) return true;
  if (!isFinite(first)) return false;
  store<f64>(rec + R_PIVOT, first);
  store<f64>(rec + R_PSET, 1);
  return true;
}

/** Writes the fast paths' f64 sum lanes (Σx², Σ(x−p), Σ(x−p)², two f64x2 each) back into the record. */
@inline function storeSumLanes(rec: usize, sq0: v128, sq1: v128, s0: v128, s1: v128, q0: v128, q1: v128): void {
  v128.store(rec + L_SQ, sq0); v128.store(rec + L_SQ, sq1, 16);
  v128.store(rec + L_S, s0); v128.store(rec + L_S, s1, 16);
  v128.store(rec + L_Q, q0); v128.store(rec + L_Q, q1, 16);
}

function fastStatsF32(ptr: usize, len: i32, off: i32, rec: usize): bool {
  if (!takePivot(rec, <f64>load<f32>(ptr))) return false;
  const p = load<f64>(rec + R_PIVOT);
  let i = 0;
  for (; i < len && ((off + i) & 3) != 0; i++) statsStep(rec, off + i, <f64>load<f32>(ptr + (<usize>i << 2)), p);
  const body = (len - i) & ~3;
  if (body > 0) {
    const P = f64x2.splat(p), zero = f32x4.splat(0);
    let sq0 = v128.load(rec + L_SQ), sq1 = v128.load(rec + L_SQ, 16);
    let s0 = v128.load(rec + L_S), s1 = v128.load(rec + L_S, 16);
    let q0 = v128.load(rec + L_Q), q1 = v128.load(rec + L_Q, 16);
    // min/max lanes hold f32 values or ±Inf, so f32 lanes carry them exactly.
    let mn = i32x4.shuffle(f32x4.demote_f64x2_zero(v128.load(rec + L_MIN)), f32x4.demote_f64x2_zero(v128.load(rec + L_MIN, 16)), 0, 1, 4, 5);
    let mx = i32x4.shuffle(f32x4.demote_f64x2_zero(v128.load(rec + L_MAX)), f32x4.demote_f64x2_zero(v128.load(rec + L_MAX, 16)), 0, 1, 4, 5);
    let z = i32x4.splat(0);
    const end = i + body;
    for (; i < end; i += 4) {
      const v = v128.load(ptr + (<usize>i << 2));
      mn = f32x4.pmin(mn, v);
      mx = f32x4.pmax(mx, v);
      z = i32x4.sub(z, f32x4.eq(v, zero));
      const x0 = f64x2.promote_low_f32x4(v);
      const x1 = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      sq0 = f64x2.add(sq0, f64x2.mul(x0, x0));
      sq1 = f64x2.add(sq1, f64x2.mul(x1, x1));
      const d0 = f64x2.sub(x0, P), d1 = f64x2.sub(x1, P);
      s0 = f64x2.add(s0, d0);
      s1 = f64x2.add(s1, d1);
      q0 = f64x2.add(q0, f64x2.mul(d0, d0));
      q1 = f64x2.add(q1, f64x2.mul(d1, d1));
    }
    storeSumLanes(rec, sq0, sq1, s0, s1, q0, q1);
    v128.store(rec + L_MIN, f64x2.promote_low_f32x4(mn)); v128.store(rec + L_MIN, f64x2.promote_low_f32x4(i32x4.shuffle(mn, mn, 2, 3, 0, 1)), 16);
    v128.store(rec + L_MAX, f64x2.promote_low_f32x4(mx)); v128.store(rec + L_MAX, f64x2.promote_low_f32x4(i32x4.shuffle(mx, mx, 2, 3, 0, 1)), 16);
    add(rec + R_ZEROS, <f64>sumI32x4(z));
    add(rec + R_COUNT, <f64>body);
  }
  for (; i < len; i++) statsStep(rec, off + i, <f64>load<f32>(ptr + (<usize>i << 2)), p);
  return lanesFinite(rec, L_SQ, 12);
}

function fastStatsF64(ptr: usize, len: i32, off: i32, rec: usize): bool {
  if (!takePivot(rec, load<f64>(ptr))) return false;
  const p = load<f64>(rec + R_PIVOT);
  let i = 0;
  for (; i < len && ((off + i) & 3) != 0; i++) statsStep(rec, off + i, load<f64>(ptr + (<usize>i << 3)), p);
  const body = (len - i) & ~3;
  if (body > 0) {
    const P = f64x2.splat(p), zero = f64x2.splat(0);
    let sq0 = v128.load(rec + L_SQ), sq1 = v128.load(rec + L_SQ, 16);
    let s0 = v128.load(rec + L_S), s1 = v128.load(rec + L_S, 16);
    let q0 = v128.load(rec + L_Q), q1 = v128.load(rec + L_Q, 16);
    let mn0 = v128.load(rec + L_MIN), mn1 = v128.load(rec + L_MIN, 16);
    let mx0 = v128.load(rec + L_MAX), mx1 = v128.load(rec + L_MAX, 16);
    let z = i64x2.splat(0);
    const end = i + body;
    for (; i < end; i += 4) {
      const x0 = v128.load(ptr + (<usize>i << 3));
      const x1 = v128.load(ptr + (<usize>i << 3), 16);
      mn0 = f64x2.pmin(mn0, x0); mn1 = f64x2.pmin(mn1, x1);
      mx0 = f64x2.pmax(mx0, x0); mx1 = f64x2.pmax(mx1, x1);
      z = i64x2.sub(z, i64x2.add(f64x2.eq(x0, zero), f64x2.eq(x1, zero)));
      sq0 = f64x2.add(sq0, f64x2.mul(x0, x0));
      sq1 = f64x2.add(sq1, f64x2.mul(x1, x1));
      const d0 = f64x2.sub(x0, P), d1 = f64x2.sub(x1, P);
      s0 = f64x2.add(s0, d0);
      s1 = f64x2.add(s1, d1);
      q0 = f64x2.add(q0, f64x2.mul(d0, d0));
      q1 = f64x2.add(q1, f64x2.mul(d1, d1));
    }
    storeSumLanes(rec, sq0, sq1, s0, s1, q0, q1);
    v128.store(rec + L_MIN, mn0); v128.store(rec + L_MIN, mn1, 16);
    v128.store(rec + L_MAX, mx0); v128.store(rec + L_MAX, mx1, 16);
    add(rec + R_ZEROS, <f64>sumI64x2(z));
    add(rec + R_COUNT, <f64>body);
  }
  for (; i < len; i++) statsStep(rec, off + i, load<f64>(ptr + (<usize>i << 3)), p);
  return lanesFinite(rec, L_SQ, 12);
}

@inline function maskedStats<T>(ptr: usize, len: i32, off: i32, rec: usize): void {
  for (let i = 0; i < len; i++) {
    const x = <f64>load<T>(ptr + (<usize>i << alignof<T>()));
    if (isNaN(x)) { add(rec + R_NAN, 1); continue; }
    if (x == Infinity) { add(rec + R_PINF, 1); continue; }
    if (x == -Infinity) { add(rec + R_NINF, 1); continue; }
    takePivot(rec, x);
    statsStep(rec, off + i, x, load<f64>(rec + R_PIVOT));
  }
}

/** Folds the lanes into the result slots, always in the same order. */
function foldStats(rec: usize): void {
  const n = load<f64>(rec + R_COUNT);
  const sq = (load<f64>(rec + L_SQ) + load<f64>(rec + L_SQ + 8)) + (load<f64>(rec + L_SQ + 16) + load<f64>(rec + L_SQ + 24));
  const S = (load<f64>(rec + L_S) + load<f64>(rec + L_S + 8)) + (load<f64>(rec + L_S + 16) + load<f64>(rec + L_S + 24));
  const Q = (load<f64>(rec + L_Q) + load<f64>(rec + L_Q + 8)) + (load<f64>(rec + L_Q + 16) + load<f64>(rec + L_Q + 24));
  let mn = load<f64>(rec + L_MIN), mx = load<f64>(rec + L_MAX);
  for (let l: usize = 8; l < 32; l += 8) {
    const a = load<f64>(rec + L_MIN + l), b = load<f64>(rec + L_MAX + l);
    mn = a < mn ? a : mn;
    mx = mx < b ? b : mx;
  }
  store<f64>(rec + R_SQ, sq);
  store<f64>(rec + R_MIN, mn);
  store<f64>(rec + R_MAX, mx);
  store<f64>(rec + R_MEAN, n > 0 ? load<f64>(rec + R_PIVOT) + S / n : 0);
  store<f64>(rec + R_M2, n > 0 ? max(Q - S * S / n, 0) : 0);
}

@inline function rowsStats<T>(ptr: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 {
  let r = 0;
  for (let i = 0; i < n; r++) {
    const rec = out + <usize>r * STATS_BYTES;
    const len = min(n - i, rowLen - off);
    const p = ptr + (<usize>i << alignof<T>());
    // The fast path works on a trial record: a fresh one for a row starting here.
    if (off == 0) resetStats(rowsTemp);
    else memory.copy(rowsTemp, rec, STATS_BYTES);
    const ok = sizeof<T>() == 4 ? fastStatsF32(p, len, off, rowsTemp) : fastStatsF64(p, len, off, rowsTemp);
    if (ok) memory.copy(rec, rowsTemp, STATS_BYTES);
    else {
      if (off == 0) resetStats(rec);
      maskedStats<T>(p, len, off, rec);
    }
    add(rec + R_FED, <f64>len);
    foldStats(rec);
    i += len;
    off = 0;
  }
  return r;
}

/** Per-row statistics of n f32 values starting at element `off` of their first row; returns records touched. */
export function rows_f32(ptr: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 { return rowsStats<f32>(ptr, n, rowLen, off, out); }
/** Per-row statistics of n f64 values starting at element `off` of their first row; returns records touched. */
export function rows_f64(ptr: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 { return rowsStats<f64>(ptr, n, rowLen, off, out); }

// ---------------------------------------------------------------- two tensors

@inline function pairStep(rec: usize, j: i32, a: f64, b: f64): void {
  const l = <usize>(j & 1) << 3;
  add(rec + L_AB + l, a * b);
  add(rec + L_AA + l, a * a);
  add(rec + L_BB + l, b * b);
  const d = a - b, e = abs(d);
  add(rec + L_DD + l, d * d);
  const M = load<f64>(rec + P_MAXABS);
  store<f64>(rec + P_MAXABS, M < e ? e : M);
  add(rec + P_PAIRS, 1);
}

/** The vector path over f32 or f64 pairs (T); odd starts and the tail go through pairStep. */
function fastPair<T>(pa: usize, pb: usize, len: i32, off: i32, rec: usize): bool {
  let i = 0;
  if (len > 0 && ((off & 1) != 0)) { pairStep(rec, off, <f64>load<T>(pa), <f64>load<T>(pb)); i = 1; }
  const body = (len - i) & ~3;
  if (body > 0) {
    let ab = v128.load(rec + L_AB), aa = v128.load(rec + L_AA), bb = v128.load(rec + L_BB), dd = v128.load(rec + L_DD);
    let mx = f64x2.splat(load<f64>(rec + P_MAXABS));
    const end = i + body;
    const f32 = sizeof<T>() == 4;
    for (; i < end; i += 4) {
      // Four elements of each side as two f64x2 halves: f32 lanes promoted, f64 loaded as they are.
      const q = <usize>i << alignof<T>();
      const va = v128.load(pa + q), vb = v128.load(pb + q);
      const a0 = f32 ? f64x2.promote_low_f32x4(va) : va, b0 = f32 ? f64x2.promote_low_f32x4(vb) : vb;
      const d0 = f64x2.sub(a0, b0);
      ab = f64x2.add(ab, f64x2.mul(a0, b0));
      aa = f64x2.add(aa, f64x2.mul(a0, a0));
      bb = f64x2.add(bb, f64x2.mul(b0, b0));
      dd = f64x2.add(dd, f64x2.mul(d0, d0));
      mx = f64x2.pmax(mx, f64x2.abs(d0));
      const a1 = f32 ? f64x2.promote_low_f32x4(i32x4.shuffle(va, va, 2, 3, 0, 1)) : v128.load(pa + q, 16);
      const b1 = f32 ? f64x2.promote_low_f32x4(i32x4.shuffle(vb, vb, 2, 3, 0, 1)) : v128.load(pb + q, 16);
      const d1 = f64x2.sub(a1, b1);
      ab = f64x2.add(ab, f64x2.mul(a1, b1));
      aa = f64x2.add(aa, f64x2.mul(a1, a1));
      bb = f64x2.add(bb, f64x2.mul(b1, b1));
      dd = f64x2.add(dd, f64x2.mul(d1, d1));
      mx = f64x2.pmax(mx, f64x2.abs(d1));
    }
    v128.store(rec + L_AB, ab); v128.store(rec + L_AA, aa); v128.store(rec + L_BB, bb); v128.store(rec + L_DD, dd);
    store<f64>(rec + P_MAXABS, max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1)));
    add(rec + P_PAIRS, <f64>body);
  }
  for (; i < len; i++) pairStep(rec, off + i, <f64>load<T>(pa + (<usize>i << alignof<T>())), <f64>load<T>(pb + (<usize>i << alignof<T>())));
  return lanesFinite(rec, L_AB, 8) && isFinite(load<f64>(rec + P_MAXABS));
}

@inline function maskedPair<T>(pa: usize, pb: usize, len: i32, off: i32, rec: usize): void {
  for (let i = 0; i < len; i++) {
    const a = <f64>load<T>(pa + (<usize>i << alignof<T>()));
    const b = <f64>load<T>(pb + (<usize>i << alignof<T>()));
    if (!isFinite(a) || !isFinite(b)) {
      if (!((isNaN(a) && isNaN(b)) || a == b)) add(rec + P_MISMATCH, 1);
      continue;
    }
    pairStep(rec, off + i, a, b);
  }
}

function foldPair(rec: usize): void {
  store<f64>(rec + P_SAB, load<f64>(rec + L_AB) + load<f64>(rec + L_AB + 8));
  store<f64>(rec + P_SAA, load<f64>(rec + L_AA) + load<f64>(rec + L_AA + 8));
  store<f64>(rec + P_SBB, load<f64>(rec + L_BB) + load<f64>(rec + L_BB + 8));
  store<f64>(rec + P_SDD, load<f64>(rec + L_DD) + load<f64>(rec + L_DD + 8));
}

@inline function rowsPair<T>(pa: usize, pb: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 {
  let r = 0;
  for (let i = 0; i < n; r++) {
    const rec = out + <usize>r * PAIR_BYTES;
    const len = min(n - i, rowLen - off);
    const q = <usize>i << alignof<T>();
    if (off == 0) memory.fill(rowsTemp, 0, PAIR_BYTES);
    else memory.copy(rowsTemp, rec, PAIR_BYTES);
    const ok = fastPair<T>(pa + q, pb + q, len, off, rowsTemp);
    if (ok) memory.copy(rec, rowsTemp, PAIR_BYTES);
    else {
      if (off == 0) memory.fill(rec, 0, PAIR_BYTES);
      maskedPair<T>(pa + q, pb + q, len, off, rec);
    }
    add(rec + P_FED, <f64>len);
    foldPair(rec);
    i += len;
    off = 0;
  }
  return r;
}

/** Per-row comparison of n f32 pairs starting at element `off` of their first row; returns records touched. */
export function rows2_f32(pa: usize, pb: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 { return rowsPair<f32>(pa, pb, n, rowLen, off, out); }
/** Per-row comparison of n f64 pairs starting at element `off` of their first row; returns records touched. */
export function rows2_f64(pa: usize, pb: usize, n: i32, rowLen: i32, off: i32, out: usize): i32 { return rowsPair<f64>(pa, pb, n, rowLen, off, out); }
