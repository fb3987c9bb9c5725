/**
 * A tensor's logical elements as float64, in C order (after byte swap, widening and
 * dequantization, as every other op sees them): for small dense linear algebra on factors
 * the caller has sized (src/analysis/attention-heads.ts reads one layer's projections).
 * The caller bounds the element count; the engine only copies chunks out of WASM memory.
 */
import type { EngineOp } from '../op.js';
import { concatF64 } from '../concat.js';

export interface ValuesAcc {
  pieces: Float64Array[];
}

// One job per tensor ('whole'): the chunks are joined once, instead of ranges copied again at every merge.
export const valuesOp: EngineOp<Record<string, never>, ValuesAcc, Float64Array> = {
  sides: 1,
  split: 'whole',
  empty: () => ({ pieces: [] }),
  chunk(acc, c) {
    const mem = c.k.k.memory.buffer;
    const src = c.kind === 'f64' ? new Float64Array(mem, c.ptr(0), c.n) : new Float32Array(mem, c.ptr(0), c.n);
    acc.pieces.push(Float64Array.from(src));
    return acc;
  },
  result: (acc) => concatF64(acc.pieces),
};
