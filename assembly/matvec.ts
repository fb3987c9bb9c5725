// Products of a streamed 2-D tensor W [m, n] with a small block of k ≤ 16 vectors, for power
// iteration / randomized SVD in bounded memory. A call sees `rows` rows of W (a row chunk,
// or one piece of a long row), `cols` columns each, rows `ldw` elements apart. Blocks are
// f64, row-major with k values per row: X and Z are n×k (X[j·k + c]), Y is m×k.
//
//   matvec_*   Y[i, c] (+)= Σ_j W[i, j] · X[j, c]   for the rows of this call
//   matvec_t_* Z[j, c]  += Σ_i W[i, j] · Y[i, c]   over the rows of this call, in row order
//
// Every output element is one f64 accumulator updated in a fixed order (j ascending for Y,
// row ascending for Z), one IEEE multiply and add per term, in SIMD lanes or scalar alike;
// so results are bit-identical however W is cut into chunks: a row split over pieces is
// continued with accumulate = 1 (the running sum is stored and reloaded exactly), and Z is
// simply fed chunk after chunk in row order. W values are promoted to f64 (exact for f32).

@inline function wAt<T>(w: usize, j: i32): f64 { return <f64>load<T>(w + (<usize>j << alignof<T>())); }

@inline function rowTimesBlock<T>(wr: usize, cols: i32, x: usize, k: i32, yr: usize, accumulate: bool): void {
  rowTimesBlockFrom<T>(wr, cols, x, k, yr, accumulate, 0);
}

/** One row of W times columns c0..k of the block. */
@inline function rowTimesBlockFrom<T>(wr: usize, cols: i32, x: usize, k: i32, yr: usize, accumulate: bool, c0: i32): void {
  let c = c0;
  const kb = <usize>k << 3;
  for (; c + 8 <= k; c += 8) {
    const yc = yr + (<usize>c << 3);
    let a0 = accumulate ? v128.load(yc) : f64x2.splat(0), a1 = accumulate ? v128.load(yc, 16) : f64x2.splat(0);
    let a2 = accumulate ? v128.load(yc, 32) : f64x2.splat(0), a3 = accumulate ? v128.load(yc, 48) : f64x2.splat(0);
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j));
      a0 = f64x2.add(a0, f64x2.mul(v, v128.load(xp)));
      a1 = f64x2.add(a1, f64x2.mul(v, v128.load(xp, 16)));
      a2 = f64x2.add(a2, f64x2.mul(v, v128.load(xp, 32)));
      a3 = f64x2.add(a3, f64x2.mul(v, v128.load(xp, 48)));
    }
    v128.store(yc, a0); v128.store(yc, a1, 16); v128.store(yc, a2, 32); v128.store(yc, a3, 48);
  }
  for (; c + 4 <= k; c += 4) {
    const yc = yr + (<usize>c << 3);
    let a0 = accumulate ? v128.load(yc) : f64x2.splat(0), a1 = accumulate ? v128.load(yc, 16) : f64x2.splat(0);
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j));
      a0 = f64x2.add(a0, f64x2.mul(v, v128.load(xp)));
      a1 = f64x2.add(a1, f64x2.mul(v, v128.load(xp, 16)));
    }
    v128.store(yc, a0); v128.store(yc, a1, 16);
  }
  for (; c + 2 <= k; c += 2) {
    const yc = yr + (<usize>c << 3);
    let a0 = accumulate ? v128.load(yc) : f64x2.splat(0);
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) a0 = f64x2.add(a0, f64x2.mul(f64x2.splat(wAt<T>(wr, j)), v128.load(xp)));
    v128.store(yc, a0);
  }
  if (c < k) {
    const yc = yr + (<usize>c << 3);
    let a: f64 = accumulate ? load<f64>(yc) : 0;
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) a += wAt<T>(wr, j) * load<f64>(xp);
    store<f64>(yc, a);
  }
}

/**
 * Two rows at once through the 8- and 4-column blocks, so each X load serves both rows;
 * every accumulator still runs over j in order, so the bits equal the one-row path.
 */
@inline function twoRowsTimesBlock<T>(wr: usize, wr2: usize, cols: i32, x: usize, k: i32, yr: usize, yr2: usize, accumulate: bool): i32 {
  let c = 0;
  const kb = <usize>k << 3;
  for (; c + 8 <= k; c += 8) {
    const yc = yr + (<usize>c << 3), yd = yr2 + (<usize>c << 3);
    let a0 = accumulate ? v128.load(yc) : f64x2.splat(0), a1 = accumulate ? v128.load(yc, 16) : f64x2.splat(0);
    let a2 = accumulate ? v128.load(yc, 32) : f64x2.splat(0), a3 = accumulate ? v128.load(yc, 48) : f64x2.splat(0);
    let b0 = accumulate ? v128.load(yd) : f64x2.splat(0), b1 = accumulate ? v128.load(yd, 16) : f64x2.splat(0);
    let b2 = accumulate ? v128.load(yd, 32) : f64x2.splat(0), b3 = accumulate ? v128.load(yd, 48) : f64x2.splat(0);
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j)), u = f64x2.splat(wAt<T>(wr2, j));
      let t = v128.load(xp);
      a0 = f64x2.add(a0, f64x2.mul(v, t)); b0 = f64x2.add(b0, f64x2.mul(u, t));
      t = v128.load(xp, 16);
      a1 = f64x2.add(a1, f64x2.mul(v, t)); b1 = f64x2.add(b1, f64x2.mul(u, t));
      t = v128.load(xp, 32);
      a2 = f64x2.add(a2, f64x2.mul(v, t)); b2 = f64x2.add(b2, f64x2.mul(u, t));
      t = v128.load(xp, 48);
      a3 = f64x2.add(a3, f64x2.mul(v, t)); b3 = f64x2.add(b3, f64x2.mul(u, t));
    }
    v128.store(yc, a0); v128.store(yc, a1, 16); v128.store(yc, a2, 32); v128.store(yc, a3, 48);
    v128.store(yd, b0); v128.store(yd, b1, 16); v128.store(yd, b2, 32); v128.store(yd, b3, 48);
  }
  for (; c + 4 <= k; c += 4) {
    const yc = yr + (<usize>c << 3), yd = yr2 + (<usize>c << 3);
    let a0 = accumulate ? v128.load(yc) : f64x2.splat(0), a1 = accumulate ? v128.load(yc, 16) : f64x2.splat(0);
    let b0 = accumulate ? v128.load(yd) : f64x2.splat(0), b1 = accumulate ? v128.load(yd, 16) : f64x2.splat(0);
    let xp = x + (<usize>c << 3);
    for (let j = 0; j < cols; j++, xp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j)), u = f64x2.splat(wAt<T>(wr2, j));
      const t0 = v128.load(xp), t1 = v128.load(xp, 16);
      a0 = f64x2.add(a0, f64x2.mul(v, t0)); b0 = f64x2.add(b0, f64x2.mul(u, t0));
      a1 = f64x2.add(a1, f64x2.mul(v, t1)); b1 = f64x2.add(b1, f64x2.mul(u, t1));
    }
    v128.store(yc, a0); v128.store(yc, a1, 16);
    v128.store(yd, b0); v128.store(yd, b1, 16);
  }
  return c;
}

@inline function matvec<T>(w: usize, rows: i32, cols: i32, ldw: i32, x: usize, k: i32, y: usize, accumulate: i32): void {
  // Columns left after the two-row blocks (k mod 4) go row by row through rowTimesBlock's tail.
  if (k >= 4) {
    let i = 0;
    for (; i + 2 <= rows; i += 2) {
      const wr = w + (<usize>i * <usize>ldw << alignof<T>()), yr = y + (<usize>i * <usize>k << 3);
      const wr2 = wr + (<usize>ldw << alignof<T>()), yr2 = yr + (<usize>k << 3);
      const c = twoRowsTimesBlock<T>(wr, wr2, cols, x, k, yr, yr2, accumulate != 0);
      if (c < k) {
        rowTimesBlockFrom<T>(wr, cols, x, k, yr, accumulate != 0, c);
        rowTimesBlockFrom<T>(wr2, cols, x, k, yr2, accumulate != 0, c);
      }
    }
    if (i < rows) rowTimesBlock<T>(w + (<usize>i * <usize>ldw << alignof<T>()), cols, x, k, y + (<usize>i * <usize>k << 3), accumulate != 0);
    return;
  }
  for (let i = 0; i < rows; i++) {
    rowTimesBlock<T>(w + (<usize>i * <usize>ldw << alignof<T>()), cols, x, k, y + (<usize>i * <usize>k << 3), accumulate != 0);
  }
}

@inline function rowIntoBlock<T>(wr: usize, cols: i32, yr: usize, k: i32, z: usize): void {
  rowIntoBlockFrom<T>(wr, cols, yr, k, z, 0);
}

/**
 * Four rows at once through 4-column blocks: each Z load/store serves four rows. Per Z
 * element the four terms are still added in row order, so the bits equal the one-row path.
 */
@inline function fourRowsIntoBlock<T>(wr: usize, ldwBytes: usize, cols: i32, yr: usize, k: i32, z: usize): i32 {
  let c = 0;
  const kb = <usize>k << 3;
  for (; c + 4 <= k; c += 4) {
    const yc = yr + (<usize>c << 3);
    const p0 = v128.load(yc), p1 = v128.load(yc, 16);
    const q0 = v128.load(yc + kb), q1 = v128.load(yc + kb, 16);
    const r0 = v128.load(yc + 2 * kb), r1 = v128.load(yc + 2 * kb, 16);
    const s0 = v128.load(yc + 3 * kb), s1 = v128.load(yc + 3 * kb, 16);
    let zp = z + (<usize>c << 3);
    for (let j = 0; j < cols; j++, zp += kb) {
      let z0 = v128.load(zp), z1 = v128.load(zp, 16);
      let v = f64x2.splat(wAt<T>(wr, j));
      z0 = f64x2.add(z0, f64x2.mul(v, p0)); z1 = f64x2.add(z1, f64x2.mul(v, p1));
      v = f64x2.splat(wAt<T>(wr + ldwBytes, j));
      z0 = f64x2.add(z0, f64x2.mul(v, q0)); z1 = f64x2.add(z1, f64x2.mul(v, q1));
      v = f64x2.splat(wAt<T>(wr + 2 * ldwBytes, j));
      z0 = f64x2.add(z0, f64x2.mul(v, r0)); z1 = f64x2.add(z1, f64x2.mul(v, r1));
      v = f64x2.splat(wAt<T>(wr + 3 * ldwBytes, j));
      z0 = f64x2.add(z0, f64x2.mul(v, s0)); z1 = f64x2.add(z1, f64x2.mul(v, s1));
      v128.store(zp, z0); v128.store(zp, z1, 16);
    }
  }
  return c;
}

/** One row of W into columns c0..k of Z. */
@inline function rowIntoBlockFrom<T>(wr: usize, cols: i32, yr: usize, k: i32, z: usize, c0: i32): void {
  let c = c0;
  const kb = <usize>k << 3;
  for (; c + 8 <= k; c += 8) {
    const yc = yr + (<usize>c << 3);
    const y0 = v128.load(yc), y1 = v128.load(yc, 16), y2 = v128.load(yc, 32), y3 = v128.load(yc, 48);
    let zp = z + (<usize>c << 3);
    for (let j = 0; j < cols; j++, zp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j));
      v128.store(zp, f64x2.add(v128.load(zp), f64x2.mul(v, y0)));
      v128.store(zp, f64x2.add(v128.load(zp, 16), f64x2.mul(v, y1)), 16);
      v128.store(zp, f64x2.add(v128.load(zp, 32), f64x2.mul(v, y2)), 32);
      v128.store(zp, f64x2.add(v128.load(zp, 48), f64x2.mul(v, y3)), 48);
    }
  }
  for (; c + 4 <= k; c += 4) {
    const yc = yr + (<usize>c << 3);
    const y0 = v128.load(yc), y1 = v128.load(yc, 16);
    let zp = z + (<usize>c << 3);
    for (let j = 0; j < cols; j++, zp += kb) {
      const v = f64x2.splat(wAt<T>(wr, j));
      v128.store(zp, f64x2.add(v128.load(zp), f64x2.mul(v, y0)));
      v128.store(zp, f64x2.add(v128.load(zp, 16), f64x2.mul(v, y1)), 16);
    }
  }
  for (; c + 2 <= k; c += 2) {
    const y0 = v128.load(yr + (<usize>c << 3));
    let zp = z + (<usize>c << 3);
    for (let j = 0; j < cols; j++, zp += kb) v128.store(zp, f64x2.add(v128.load(zp), f64x2.mul(f64x2.splat(wAt<T>(wr, j)), y0)));
  }
  if (c < k) {
    const y0 = load<f64>(yr + (<usize>c << 3));
    let zp = z + (<usize>c << 3);
    for (let j = 0; j < cols; j++, zp += kb) store<f64>(zp, load<f64>(zp) + wAt<T>(wr, j) * y0);
  }
}

@inline function matvecT<T>(w: usize, rows: i32, cols: i32, ldw: i32, y: usize, k: i32, z: usize): void {
  let i = 0;
  if (k >= 4) {
    const ldwBytes = <usize>ldw << alignof<T>();
    for (; i + 4 <= rows; i += 4) {
      const wr = w + <usize>i * ldwBytes, yr = y + (<usize>i * <usize>k << 3);
      const c = fourRowsIntoBlock<T>(wr, ldwBytes, cols, yr, k, z);
      // Columns k mod 4: the four rows one after another, keeping row order per element.
      if (c < k) for (let t: usize = 0; t < 4; t++) rowIntoBlockFrom<T>(wr + t * ldwBytes, cols, yr + (t * <usize>k << 3), k, z, c);
    }
  }
  for (; i < rows; i++) {
    rowIntoBlock<T>(w + (<usize>i * <usize>ldw << alignof<T>()), cols, y + (<usize>i * <usize>k << 3), k, z);
  }
}

/** Y (+)= W·X for `rows` f32 rows of W; accumulate ≠ 0 continues rows whose sums are already in Y. */
export function matvec_f32(w: usize, rows: i32, cols: i32, ldw: i32, x: usize, k: i32, y: usize, accumulate: i32): void { matvec<f32>(w, rows, cols, ldw, x, k, y, accumulate); }
/** Y (+)= W·X for `rows` f64 rows of W. */
export function matvec_f64(w: usize, rows: i32, cols: i32, ldw: i32, x: usize, k: i32, y: usize, accumulate: i32): void { matvec<f64>(w, rows, cols, ldw, x, k, y, accumulate); }
/** Z += Wᵀ·Y over `rows` f32 rows of W (y points at those rows' k values). */
export function matvec_t_f32(w: usize, rows: i32, cols: i32, ldw: i32, y: usize, k: i32, z: usize): void { matvecT<f32>(w, rows, cols, ldw, y, k, z); }
/** Z += Wᵀ·Y over `rows` f64 rows of W. */
export function matvec_t_f64(w: usize, rows: i32, cols: i32, ldw: i32, y: usize, k: i32, z: usize): void { matvecT<f64>(w, rows, cols, ldw, y, k, z); }
