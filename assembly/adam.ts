// Adam's effective step of one chunk, as torch.optim.Adam/AdamW apply it (their
// _single_tensor_adam): u = (m / bc1) / (√v / √bc2 + ε), with m = exp_avg, v = exp_avg_sq
// (or max_exp_avg_sq under amsgrad), bc1 = 1 − β1^step, bc2 = 1 − β2^step; the parameter
// moves by lr·u. Computed in f64. Writes to compareOut: [Σu², max|u|, non-finite u, n finite].

import { compareOut } from './layout';

@inline function step<T>(pm: usize, pv: usize, n: i32, invBc1: f64, invSqrtBc2: f64, eps: f64): void {
  let sum: f64 = 0, maxAbs: f64 = 0, bad: f64 = 0, finite: f64 = 0;
  for (let i = 0; i < n; i++) {
    const m = <f64>load<T>(pm + (<usize>i << alignof<T>()));
    const v = <f64>load<T>(pv + (<usize>i << alignof<T>()));
    const u = (m * invBc1) / (sqrt(v) * invSqrtBc2 + eps);
    if (!isFinite(u)) { bad++; continue; }
    sum += u * u;
    const a = abs(u);
    if (a > maxAbs) maxAbs = a;
    finite++;
  }
  const o = compareOut;
  store<f64>(o, sum);
  store<f64>(o + 8, maxAbs);
  store<f64>(o + 16, bad);
  store<f64>(o + 24, finite);
}

export function adam_step_f32(pm: usize, pv: usize, n: i32, invBc1: f64, invSqrtBc2: f64, eps: f64): void { step<f32>(pm, pv, n, invBc1, invSqrtBc2, eps); }
export function adam_step_f64(pm: usize, pv: usize, n: i32, invBc1: f64, invSqrtBc2: f64, eps: f64): void { step<f64>(pm, pv, n, invBc1, invSqrtBc2, eps); }
