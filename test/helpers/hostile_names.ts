/**
 * Hostile files of the fourth round, built at test time: names that grow only because
 * groups nest (a long key stored once and repeated on every level), strings shared through
 * the pickle memo into thousands of leaves, shared lists of scalars.
 */
import { matDouble, matFile, matStruct } from './hostile_files.js';
import { op, P, str, torchZip } from './hostile_pickle.js';

const BINPUT1 = P(op.BINPUT, 1);
const BINGET1 = P(op.BINGET, 1);

/**
 * `{K: {K: … {K: <bottom>}}}` `depth` levels deep, the key K of `keyLength` characters
 * pickled once and memoized: every name below the top holds K `depth` times. `leaves` scalar
 * entries (x0, x1, …) in the deepest dict, or one None when 0.
 */
export function nestedLongKeyPickle(keyLength: number, depth: number, leaves = 0): Buffer {
  const bottom = leaves === 0 ? P(op.NONE) : P(op.EMPTY_DICT, op.MARK, ...Array.from({ length: leaves }, (_, i) => P(str(`x${i}`), op.NONE)), op.SETITEMS);
  return P(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    str('k'.repeat(keyLength)),
    BINPUT1,
    ...Array.from({ length: depth }, () => P(op.EMPTY_DICT, BINGET1)),
    bottom,
    Buffer.alloc(depth + 1, op.SETITEM),
    op.STOP,
  );
}

/** `{k0: S, k1: S, …}`: one string S pickled once and referenced by `n` leaves through the memo. */
export function sharedStringLeaves(s: string, n: number): Buffer {
  return P(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    str(s),
    BINPUT1,
    op.POP,
    op.MARK,
    ...Array.from({ length: n }, (_, i) => P(str(`k${i}`), BINGET1)),
    op.SETITEMS,
    op.STOP,
  );
}

/** `{v: [L, L, …]}`: a list L of `n` small ints pickled once and referenced `n` times. */
export function sharedScalarList(n: number): Buffer {
  return P(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    str('v'),
    op.EMPTY_LIST,
    op.MARK,
    Buffer.from(Array.from({ length: n }, (_, i) => [op.BININT1, i & 0xff]).flat()),
    op.APPENDS,
    BINPUT1,
    op.POP,
    op.EMPTY_LIST,
    op.MARK,
    Buffer.concat(Array.from({ length: n }, () => BINGET1)),
    op.APPENDS,
    op.SETITEM,
    op.STOP,
  );
}

/** `{k0: None, k1: None, …}`: `n` leaves that are not tensors. */
export function manyLeaves(n: number): Buffer {
  return P(op.PROTO, 2, op.EMPTY_DICT, op.MARK, ...Array.from({ length: n }, (_, i) => P(str(`k${i}`), op.NONE)), op.SETITEMS, op.STOP);
}

/** Any of the pickles above as a torch zip checkpoint. */
export const checkpoint = (pkl: Buffer): Buffer => torchZip(pkl);

/**
 * A MAT v5 struct nested `depth` deep, each level's one field named with `nameLength`
 * characters, and `fields` 1×1 doubles in the deepest struct: each field's name is about
 * depth × nameLength characters, stored once per level.
 */
export function matNestedLongNames(depth: number, nameLength: number, fields: number): Buffer {
  const bottom: Record<string, Buffer> = {};
  for (let i = 0; i < fields; i++) bottom[`f${i}`] = matDouble('', [1, 1], [i]);
  let inner = matStruct('', bottom);
  for (let i = 0; i < depth; i++) inner = matStruct(i === depth - 1 ? 'top' : '', { [`L${i}`.padEnd(nameLength, 'x')]: inner });
  return matFile([inner]);
}
