/**
 * Hostile pickles and torch-style zip archives, built byte by byte at test time (nothing large
 * is committed). Each builder returns the raw data.pkl bytes; `torchZip` wraps them (deflated,
 * as an attacker would, so that a small file inflates to a large pickle).
 */
import { buildZip } from './zip.js';

export const op = {
  PROTO: 0x80,
  STOP: 0x2e,
  NONE: 0x4e,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  MARK: 0x28,
  APPENDS: 0x65,
  APPEND: 0x61,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  MEMOIZE: 0x94,
  BINPUT: 0x71,
  BINGET: 0x68,
  REDUCE: 0x52,
  NEWOBJ: 0x81,
  BUILD: 0x62,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  LONG4: 0x8b,
  BININT1: 0x4b,
  NEWTRUE: 0x88,
  BINPERSID: 0x51,
  POP: 0x30,
} as const;

/** Concatenates opcodes, byte arrays and latin1 text. */
export function P(...parts: (Buffer | number[] | number | string)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

/** SHORT_BINUNICODE / BINUNICODE. */
export function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length < 256) return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
  const h = Buffer.alloc(5);
  h[0] = 0x58;
  h.writeUInt32LE(b.length, 1);
  return Buffer.concat([h, b]);
}

/** GLOBAL opcode (protocol 0 style, as attackers often write). */
export function global(module: string, name: string): Buffer {
  return P('c', module, '\n', name, '\n');
}

/** `module.name(*args)` where args are already-encoded values. */
export function call(module: string, name: string, ...args: Buffer[]): Buffer {
  return P(global(module, name), op.MARK, ...args, op.TUPLE, op.REDUCE);
}

export function pickle(body: Buffer): Buffer {
  return P(op.PROTO, 2, body, op.STOP);
}

/** n copies of one opcode byte, then STOP (the value left is the last one pushed). */
export function repeated(opcode: number, n: number, prefix: Buffer = Buffer.alloc(0)): Buffer {
  return P(op.PROTO, 2, prefix, Buffer.alloc(n, opcode), op.STOP);
}

/** A list of n Nones, appended in one batch. */
export function noneList(n: number): Buffer {
  return P(op.PROTO, 2, op.EMPTY_LIST, op.MARK, Buffer.alloc(n, op.NONE), op.APPENDS, op.STOP);
}

/** A list of n empty dicts. */
export function dictList(n: number): Buffer {
  return P(op.PROTO, 2, op.EMPTY_LIST, op.MARK, Buffer.alloc(n, op.EMPTY_DICT), op.APPENDS, op.STOP);
}

/** LONG4 with an n-byte payload. */
export function long4(n: number): Buffer {
  const h = Buffer.alloc(5);
  h[0] = op.LONG4;
  h.writeInt32LE(n, 1);
  return P(op.PROTO, 2, h, Buffer.alloc(n, 0x11), op.STOP);
}

/** The pickles that run code under CPython's unpickler but avoid a deny-list. */
export const CODE_RUNNING: Record<string, { pkl: Buffer; names: string }> = {
  torch_load: { pkl: pickle(call('torch', 'load', str('/tmp/attacker.pt'))), names: 'torch.load' },
  torch_serialization_load: { pkl: pickle(call('torch.serialization', 'load', str('/tmp/attacker.pt'))), names: 'torch.serialization.load' },
  numpy_load_allow_pickle: {
    pkl: pickle(call('numpy', 'load', str('/tmp/attacker.npy'), P(op.NONE), P(op.NEWTRUE))),
    names: 'numpy.load',
  },
  profile_run: { pkl: pickle(call('profile', 'run', str('import os; os.system("id")'))), names: 'profile.run' },
  posixpath_chain: { pkl: pickle(call('posixpath', 'os.execv', str('/bin/sh'), P(op.EMPTY_TUPLE))), names: 'posixpath.os.execv' },
  numpy_runstring: {
    pkl: pickle(call('numpy.testing._private.utils', 'runstring', str('__import__("os").system("id")'), P(op.EMPTY_DICT))),
    names: 'numpy.testing._private.utils.runstring',
  },
  attrgetter_execv: {
    // _operator.attrgetter('execv')(posixpath.os)(...) — the first call is already refused
    pkl: pickle(P(call('_operator', 'attrgetter', str('os.execv')), op.MARK, global('posixpath', 'os'), op.TUPLE, op.REDUCE)),
    names: '_operator.attrgetter',
  },
  ordered_dict_module_arg: {
    pkl: pickle(call('collections', 'OrderedDict', global('posixpath', 'os'))),
    names: 'posixpath.os',
  },
  computed_callable: {
    // pkgutil.resolve_name is refused by name; a call on the result of a call is refused too
    pkl: pickle(P(call('pkgutil', 'resolve_name', str('os:system')), op.MARK, str('id'), op.TUPLE, op.REDUCE)),
    names: 'pkgutil.resolve_name',
  },
};

/** A torch-style archive holding `pkl` as archive/data.pkl (deflated) plus storages. */
export function torchZip(pkl: Buffer, storages: Record<string, Buffer> = {}, deflate = true): Buffer {
  return buildZip([
    { name: 'archive/data.pkl', data: pkl, deflate },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/** `_rebuild_tensor_v2(storage <key> FloatStorage of numel, 0, (numel,), (1,), False, OrderedDict())`. */
export function rebuiltTensor(storageKey: string, numel: number): Buffer {
  return viewTensor(storageKey, numel, 0, [numel], [1]);
}

/** `{name: tensor}` state_dict pickle with one float32 tensor per name (storage key = index). */
export function stateDictPickle(names: string[], numel: number): Buffer {
  const items = names.map((n, i) => P(str(n), rebuiltTensor(String(i), numel)));
  return pickle(P(global('collections', 'OrderedDict'), op.EMPTY_TUPLE, op.REDUCE, op.MARK, ...items, op.SETITEMS));
}

/** A pickled integer of any size (BININT1, BININT, or LONG1 with 8 bytes, two's complement). */
export function pyInt(n: number | bigint): Buffer {
  const v = BigInt(n);
  if (v >= 0n && v < 256n) return P(op.BININT1, Number(v));
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(Number(v), 1);
    return b;
  }
  const b = Buffer.alloc(10);
  b[0] = 0x8a;
  b[1] = 8;
  b.writeBigInt64LE(BigInt.asIntN(64, v), 2);
  return b;
}

function pyTuple(items: Array<number | bigint>): Buffer {
  return P(op.MARK, ...items.map(pyInt), op.TUPLE);
}

/**
 * `_rebuild_tensor_v2` of a view: storage <key> of `storageNumel` elements of `storageClass`,
 * then (offset, shape, strides) exactly as given (broadcasts, overlaps, hostile numbers).
 */
export function viewTensor(
  storageKey: string,
  storageNumel: number | bigint,
  offset: number | bigint,
  shape: Array<number | bigint>,
  strides: Array<number | bigint>,
  storageClass = 'FloatStorage',
): Buffer {
  return P(
    global('torch._utils', '_rebuild_tensor_v2'),
    op.MARK,
    op.MARK,
    str('storage'),
    global('torch', storageClass),
    str(storageKey),
    str('cpu'),
    pyInt(storageNumel),
    op.TUPLE,
    op.BINPERSID,
    pyInt(offset),
    pyTuple(shape),
    pyTuple(strides),
    0x89,
    global('collections', 'OrderedDict'),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.TUPLE,
    op.REDUCE,
  );
}

/** `{name: tensor}` from already-pickled tensors (storage keys chosen by the caller). */
export function stateDictOf(entries: Array<[string, Buffer]>): Buffer {
  return pickle(P(global('collections', 'OrderedDict'), op.EMPTY_TUPLE, op.REDUCE, op.MARK, ...entries.map(([n, t]) => P(str(n), t)), op.SETITEMS));
}
