/**
 * f64 vector blocks in shared memory, for the inputs of matvec/matvecT: every range job of a
 * call (and both sides of a difference B·X − A·X) reads the same block, so posting the jobs to
 * workers copies nothing. A plain block would be cloned into each job, and each clone be
 * garbage the next moment (V8 collects array buffers only after ~64 MB of them).
 */

/** A zeroed f64 block of `length` values in shared memory. */
export function sharedF64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** `values` as a shared block: itself when it already is one (not copied: keep it unchanged while in use), else a copy. */
export function asShared(values: ArrayLike<number>): Float64Array {
  if (values instanceof Float64Array && values.buffer instanceof SharedArrayBuffer) return values;
  const out = sharedF64(values.length);
  out.set(values);
  return out;
}
