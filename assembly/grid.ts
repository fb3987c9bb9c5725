// Distance of values from a uniform grid (quantization that keeps the storage dtype): the
// largest |y − nearest(y)| over finite x, with y = (x − origin) · inv and inv = 1 / step.

@inline function residual<T>(ptr: usize, n: i32, origin: f64, inv: f64): f64 {
  let r: f64 = 0;
  for (let i = 0; i < n; i++) {
    const x = <f64>load<T>(ptr + (<usize>i << alignof<T>()));
    if (!isFinite(x)) continue;
    const y = (x - origin) * inv;
    r = max(r, abs(y - nearest(y)));
  }
  return r;
}

export function grid_residual_f32(ptr: usize, n: i32, origin: f64, inv: f64): f64 { return residual<f32>(ptr, n, origin, inv); }
export function grid_residual_f64(ptr: usize, n: i32, origin: f64, inv: f64): f64 { return residual<f64>(ptr, n, origin, inv); }
