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
  let c = 0;
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

@inline function matvec<T>(w: usize, rows: i32, cols: i32, ldw: i32, x: usize, k: i32, y: usize, accumulate: i32): void {
  for (let i = 0; i < rows; i++) {
    rowTimesBlock<T>(w + (<usize>i * <usize>ldw << alignof<T>()), cols, x, k, y + (<usize>i * <usize>k << 3), accumulate != 0);
  }
}

@inline function rowIntoBlock<T>(wr: usize, cols: i32, yr: usize, k: i32, z: usize): void {
  let c = 0;
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
  for (let i = 0; i < rows; i++) {
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
