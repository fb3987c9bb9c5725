/**
 * Block sizes of the matvec/matvecT ops, in a module of their own so that analyses building
 * linear operators can size their blocks without loading the executor and its worker pool.
 */

/**
 * Most vectors per matvec/matvecT call: each call is one pass over W, so a wide block (a
 * randomized SVD's whole sketch) saves passes; n·k must still fit VEC_VALUES.
 */
export const MATVEC_MAX_K = 64;
/** Most f64 values in one vector block (assembly/layout.ts VEC_BYTES / 8): n·k for X and Z. */
export const VEC_VALUES = (4 << 20) / 8;
