/**
 * For each grid (origin, step), the largest distance of the tensor's finite values from
 * it, in steps: 0 when every value sits on the grid. One pass for all grids.
 */
import type { EngineOp } from '../op.js';

export interface Grid {
  origin: number;
  step: number;
}

export const gridOp: EngineOp<{ grids: Grid[] }, number[], number[]> = {
  sides: 1,
  split: 'whole',
  empty: ({ grids }) => grids.map(() => 0),
  chunk(worst, c, { grids }) {
    const { k, n } = c;
    const ptr = c.ptr(0);
    grids.forEach((g, i) => {
      const r = c.kind === 'f64' ? k.k.grid_residual_f64(ptr, n, g.origin, 1 / g.step) : k.k.grid_residual_f32(ptr, n, g.origin, 1 / g.step);
      worst[i] = Math.max(worst[i]!, r);
    });
    return worst;
  },
  result: (worst) => worst,
};
