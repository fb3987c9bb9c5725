/**
 * Adam's effective step over a parameter's optimizer state (exp_avg and exp_avg_sq, or
 * max_exp_avg_sq under amsgrad, read element for element): u = (m / bc1) / (√v / √bc2 + ε),
 * the direction torch.optim.Adam/AdamW move the parameter by lr·u (kernel assembly/adam.ts,
 * in f64). Sums add and maxima merge, so results do not depend on how ranges are cut beyond
 * the fixed range boundaries.
 */
import type { EngineOp } from '../op.js';

export interface AdamStepParams {
  /** 1 / (1 − β1^step). */
  invBc1: number;
  /** 1 / √(1 − β2^step). */
  invSqrtBc2: number;
  eps: number;
}

export interface AdamStepResult {
  /** Σu² over the finite u. */
  sumSq: number;
  maxAbs: number;
  /** Elements where u is not finite (a NaN or infinite moment). */
  nonFinite: number;
  /** Elements with a finite u. */
  count: number;
}

const empty = (): AdamStepResult => ({ sumSq: 0, maxAbs: 0, nonFinite: 0, count: 0 });

function merge(x: AdamStepResult, y: AdamStepResult): AdamStepResult {
  return { sumSq: x.sumSq + y.sumSq, maxAbs: Math.max(x.maxAbs, y.maxAbs), nonFinite: x.nonFinite + y.nonFinite, count: x.count + y.count };
}

export const adamStepOp: EngineOp<AdamStepParams, AdamStepResult, AdamStepResult> = {
  sides: 2,
  split: 'ranges',
  empty,
  chunk(acc, c, { invBc1, invSqrtBc2, eps }) {
    const { k, n } = c;
    if (c.kind === 'f64') k.k.adam_step_f64(c.ptr(0), c.ptr(1), n, invBc1, invSqrtBc2, eps);
    else k.k.adam_step_f32(c.ptr(0), c.ptr(1), n, invBc1, invSqrtBc2, eps);
    const o = k.compareOut;
    return merge(acc, { sumSq: o[0]!, maxAbs: o[1]!, nonFinite: o[2]!, count: o[3]! });
  },
  result: (acc) => acc,
  merge,
};
