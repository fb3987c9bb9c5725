/**
 * What torch's (and numpy's) pickled constructors mean, as inert values: storages from
 * persistent ids, tensors from `_rebuild_tensor_v2` & co., OrderedDict, torch.Size, numpy
 * arrays/scalars/dtypes. Everything here only builds descriptions; nothing reads tensor data.
 */
import type { DType } from '../../dtypes.js';
import { ByteCursor } from '../../io/cursor.js';
import { PyBytes, PyDict, PyGlobal, PyObject, PySet, TUPLES, isHost, type HostValue, type PyValue, type UnpicklerHooks } from './unpickler.js';
import { halfToNumber } from '../../io/half.js';

/** torch storage class name → element dtype (and quantized scheme). */
const STORAGE_DTYPES: Record<string, { dtype: DType; quantized?: string } | { unsupported: string }> = {
  FloatStorage: { dtype: 'f32' },
  DoubleStorage: { dtype: 'f64' },
  HalfStorage: { dtype: 'f16' },
  BFloat16Storage: { dtype: 'bf16' },
  LongStorage: { dtype: 'i64' },
  IntStorage: { dtype: 'i32' },
  ShortStorage: { dtype: 'i16' },
  CharStorage: { dtype: 'i8' },
  ByteStorage: { dtype: 'u8' },
  BoolStorage: { dtype: 'bool' },
  ComplexFloatStorage: { dtype: 'c64' },
  ComplexDoubleStorage: { dtype: 'c128' },
  UInt16Storage: { dtype: 'u16' },
  UInt32Storage: { dtype: 'u32' },
  UInt64Storage: { dtype: 'u64' },
  Float8_e4m3fnStorage: { dtype: 'f8_e4m3' },
  Float8_e5m2Storage: { dtype: 'f8_e5m2' },
  QInt8Storage: { dtype: 'i8', quantized: 'qint8' },
  QUInt8Storage: { dtype: 'u8', quantized: 'quint8' },
  QInt32Storage: { dtype: 'i32', quantized: 'qint32' },
  UntypedStorage: { dtype: 'u8' },
  ComplexHalfStorage: { unsupported: 'complex32 (ComplexHalf)' },
  QUInt4x2Storage: { unsupported: 'quint4x2 (packed 4-bit)' },
  QUInt2x4Storage: { unsupported: 'quint2x4 (packed 2-bit)' },
  Float8_e4m3fnuzStorage: { unsupported: 'float8_e4m3fnuz' },
  Float8_e5m2fnuzStorage: { unsupported: 'float8_e5m2fnuz' },
};

/** torch dtype attribute name (GLOBAL 'torch <name>') → dtype. */
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'f32',
  float: 'f32',
  float64: 'f64',
  double: 'f64',
  float16: 'f16',
  half: 'f16',
  bfloat16: 'bf16',
  int64: 'i64',
  long: 'i64',
  int32: 'i32',
  int: 'i32',
  int16: 'i16',
  short: 'i16',
  int8: 'i8',
  uint8: 'u8',
  bool: 'bool',
  complex64: 'c64',
  cfloat: 'c64',
  complex128: 'c128',
  cdouble: 'c128',
  uint16: 'u16',
  uint32: 'u32',
  uint64: 'u64',
  float8_e4m3fn: 'f8_e4m3',
  float8_e5m2: 'f8_e5m2',
  qint8: 'i8',
  quint8: 'u8',
  qint32: 'i32',
};
const TORCH_QDTYPES: Record<string, string> = { qint8: 'qint8', quint8: 'quint8', qint32: 'qint32' };

export interface StorageRef extends HostValue {
  hostKind: 'storage';
  /** Storage key (zip: `data/<key>`; legacy: the storage-key list). */
  key: string;
  storageClass: string;
  /** Element dtype from the storage class; undefined when unsupported. */
  dtype: DType | undefined;
  unsupported?: string;
  quantized?: string;
  /** Declared size in elements of the storage class (bytes for UntypedStorage). */
  declaredNumel: number;
  location: string;
  /** Legacy storage views: element offset into the root storage. */
  baseOffset: number;
}

export interface TensorRef extends HostValue {
  hostKind: 'tensor';
  storage: StorageRef;
  dtype: DType;
  /** Element offset into the storage (in elements of `dtype`). */
  offset: number;
  shape: number[];
  strides: number[];
  quantization?: { scheme: string; scale: number; zeroPoint: number };
  notes: string[];
}

/** A tensor the reader recognises but cannot describe (sparse, nested, per-channel quantized …). */
export interface UnsupportedTensor extends HostValue {
  hostKind: 'unsupported-tensor';
  reason: string;
}

export interface NumpyDtype extends HostValue {
  hostKind: 'np-dtype';
  code: string;
  byteOrder: 'little' | 'big' | 'none';
}

export interface NumpyArray extends HostValue {
  hostKind: 'ndarray';
  shape: number[] | undefined;
  dtype: NumpyDtype | undefined;
  fortran: boolean;
  data: PyBytes | undefined;
  problem?: string;
}

/** Thrown (as a plain Error) by hooks for structurally invalid torch values; the reader wraps it. */
export class TorchFormatError extends Error {}

function fail(msg: string): never {
  throw new TorchFormatError(msg);
}

/** Reads a non-negative safe integer. */
function int(v: PyValue | undefined, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return fail(`${what} is not a valid non-negative integer (${describe(v)})`);
}

function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'None';
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `sequence of ${v.length}`;
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof PyObject) return `<${v.className}>`;
  if (isHost(v)) return v.hostKind;
  return (v as object).constructor.name;
}

function intList(v: PyValue | undefined, what: string): number[] {
  if (!Array.isArray(v)) fail(`${what} is not a sequence (${describe(v)})`);
  if (v.length > 64) fail(`${what} has ${v.length} dimensions`);
  return v.map((x, i) => int(x, `${what}[${i}]`));
}

function asNumber(v: PyValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

function globalIs(v: PyValue | undefined, module: string, name: string): boolean {
  return v instanceof PyGlobal && v.module === module && v.name === name;
}

function isTorchModule(m: string): boolean {
  return m === 'torch' || m === 'torch.cuda' || m.startsWith('torch.');
}

export interface TorchContext {
  /** Storages by key, shared between tensors (tied weights). */
  storages: Map<string, StorageRef>;
  warnings: string[];
}

export function storageFromPid(ctx: TorchContext, pid: PyValue): StorageRef {
  if (!Array.isArray(pid) || pid.length < 5) fail(`unexpected persistent id (${describe(pid)})`);
  const [tag, cls, key, location, numel, viewMeta] = pid;
  if (tag !== 'storage') fail(`unexpected persistent id tag ${describe(tag)}`);
  if (!(cls instanceof PyGlobal) || !isTorchModule(cls.module)) fail(`persistent id names no torch storage class (${describe(cls)})`);
  if (typeof key !== 'string' && typeof key !== 'number') fail(`storage key is not a string (${describe(key)})`);
  const keyStr = String(key);
  if (!/^[\w.-]{1,128}$/.test(keyStr)) fail(`storage key ${JSON.stringify(keyStr.slice(0, 40))} is not a valid name`);
  const info = STORAGE_DTYPES[cls.name];
  if (!info) fail(`unknown storage class ${cls.qualname}`);
  const declaredNumel = int(numel, `size of storage ${keyStr}`);
  let baseOffset = 0;
  let rootKey = keyStr;
  if (viewMeta !== undefined && viewMeta !== null) {
    // legacy storage view: (view_key, offset, view_size) into root storage `key`
    if (!Array.isArray(viewMeta) || viewMeta.length < 3) fail('malformed legacy storage view metadata');
    baseOffset = int(viewMeta[1], 'legacy storage view offset');
    rootKey = keyStr;
  }
  const existing = ctx.storages.get(rootKey);
  const ref: StorageRef = {
    hostKind: 'storage',
    key: rootKey,
    storageClass: cls.qualname,
    dtype: 'dtype' in info ? info.dtype : undefined,
    ...('unsupported' in info ? { unsupported: info.unsupported } : {}),
    ...('quantized' in info && info.quantized ? { quantized: info.quantized } : {}),
    declaredNumel: existing ? Math.max(existing.declaredNumel, declaredNumel) : declaredNumel,
    location: typeof location === 'string' ? location : 'cpu',
    baseOffset,
  };
  if (existing) {
    if (existing.storageClass !== ref.storageClass) {
      ctx.warnings.push(`storage ${rootKey} is referenced as both ${existing.storageClass} and ${ref.storageClass}`);
    }
    if (baseOffset === 0) return existing;
  } else {
    ctx.storages.set(rootKey, baseOffset === 0 ? ref : { ...ref, baseOffset: 0 });
  }
  return ref;
}

function tensorFrom(
  storage: PyValue | undefined,
  offset: PyValue | undefined,
  size: PyValue | undefined,
  stride: PyValue | undefined,
  dtypeOverride?: PyValue,
): TensorRef | UnsupportedTensor {
  if (!isHost(storage) || storage.hostKind !== 'storage') fail(`tensor storage is not a storage (${describe(storage)})`);
  const st = storage as StorageRef;
  const shape = intList(size, 'tensor size');
  const strides = intList(stride, 'tensor stride');
  if (strides.length !== shape.length) fail(`tensor has ${shape.length} dimensions but ${strides.length} strides`);
  let off = int(offset, 'tensor storage offset');
  if (st.unsupported) return { hostKind: 'unsupported-tensor', reason: `dtype ${st.unsupported} is not supported` };
  let dtype = st.dtype!;
  const notes: string[] = [];
  if (dtypeOverride !== undefined && dtypeOverride !== null) {
    if (!(dtypeOverride instanceof PyGlobal) || !isTorchModule(dtypeOverride.module)) fail(`tensor dtype is not a torch dtype (${describe(dtypeOverride)})`);
    const d = TORCH_DTYPES[dtypeOverride.name];
    if (!d) return { hostKind: 'unsupported-tensor', reason: `dtype torch.${dtypeOverride.name} is not supported` };
    if (st.storageClass.endsWith('UntypedStorage')) {
      // byte storage: offset is in elements of the tensor dtype already (torch ≥ 2 _rebuild_tensor_v3)
      dtype = d;
    } else if (d !== dtype) {
      fail(`tensor dtype torch.${dtypeOverride.name} does not match its ${st.storageClass}`);
    }
  }
  off += st.baseOffset;
  if (st.quantized) notes.push(`quantized: ${st.quantized}`);
  return { hostKind: 'tensor', storage: st, dtype, offset: off, shape, strides, notes };
}

function seq(args: PyValue[]): PyValue[] {
  return args;
}

/** Hooks that give torch/numpy/stdlib constructors their meaning. */
export function torchHooks(ctx: TorchContext): UnpicklerHooks {
  const construct = (cls: PyGlobal, args: PyValue[], how: 'reduce' | 'newobj' | 'inst'): PyValue | undefined => {
    const m = cls.module;
    const n = cls.name;
    if (m === 'torch._utils') {
      switch (n) {
        case '_rebuild_tensor':
          return tensorFrom(args[0], args[1], args[2], args[3]);
        case '_rebuild_tensor_v2':
          return tensorFrom(args[0], args[1], args[2], args[3]);
        case '_rebuild_tensor_v3':
          return tensorFrom(args[0], args[1], args[2], args[3], args[6]);
        case '_rebuild_parameter':
        case '_rebuild_parameter_with_state':
        case '_rebuild_parameter_v2':
          return args[0] ?? null;
        case '_rebuild_qtensor':
          return qtensor(args);
        case '_rebuild_sparse_tensor':
        case '_rebuild_sparse_csr_tensor':
          return { hostKind: 'unsupported-tensor', reason: 'sparse tensors are not supported' } as UnsupportedTensor;
        case '_rebuild_nested_tensor':
          return { hostKind: 'unsupported-tensor', reason: 'nested tensors are not supported' } as UnsupportedTensor;
        case '_rebuild_meta_tensor_no_storage':
          return { hostKind: 'unsupported-tensor', reason: 'meta tensors have no data' } as UnsupportedTensor;
        case '_rebuild_wrapper_subclass':
        case '_rebuild_device_tensor_from_numpy':
        case '_rebuild_xla_tensor':
        case '_rebuild_mlc_tensor':
          return { hostKind: 'unsupported-tensor', reason: `${n} tensors are not supported` } as UnsupportedTensor;
        default:
          return undefined;
      }
    }
    if (m === 'torch._tensor' && n === '_rebuild_from_type_v2') {
      // (func, new_type, args, state): a tensor subclass; rebuild the plain tensor
      const func = args[0];
      const fargs = args[2];
      if (func instanceof PyGlobal && Array.isArray(fargs)) return construct(func, fargs, 'reduce');
      return undefined;
    }
    if (m === 'torch' && n === 'Size') return Array.isArray(args[0]) ? seqTuple(args[0]) : seqTuple([]);
    if (m === 'torch' && n === 'device')
      return args
        .filter((a) => a !== null)
        .map(String)
        .join(':');
    if ((m === 'collections' && (n === 'OrderedDict' || n === 'defaultdict')) || ((m === 'builtins' || m === '__builtin__') && n === 'dict')) {
      const d = new PyDict();
      const src = n === 'defaultdict' ? undefined : args[0];
      if (Array.isArray(src)) {
        for (const pair of src) if (Array.isArray(pair) && pair.length === 2) d.set(pair[0]!, pair[1]!);
      } else if (src instanceof PyDict) {
        for (const [k, v] of src.map) d.map.set(k, v);
      }
      return d;
    }
    if ((m === 'builtins' || m === '__builtin__') && (n === 'set' || n === 'frozenset')) {
      return new PySet(Array.isArray(args[0]) ? [...args[0]] : [], n === 'frozenset');
    }
    if ((m === 'builtins' || m === '__builtin__') && (n === 'list' || n === 'tuple')) {
      const items = Array.isArray(args[0]) ? [...args[0]] : [];
      return n === 'tuple' ? seqTuple(items) : items;
    }
    if ((m === 'builtins' || m === '__builtin__') && n === 'slice') {
      return `slice(${args.map((a) => (a === null ? 'None' : String(a))).join(', ')})`;
    }
    if ((m === 'builtins' || m === '__builtin__') && n === 'complex') {
      const re = asNumber(args[0]) ?? 0;
      const im = asNumber(args[1]) ?? 0;
      return `(${re}${im < 0 || Object.is(im, -0) ? '-' : '+'}${Math.abs(im)}j)`;
    }
    if (m === '_codecs' && n === 'encode' && typeof args[0] === 'string') {
      // protocol-2 bytes: latin1 text; keep the content (no file position)
      const s = args[0];
      const data = Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      return new PyBytes(-1, data.length, data);
    }
    if ((m === 'builtins' || m === '__builtin__') && (n === 'bytes' || n === 'bytearray')) {
      if (args.length === 0) return new PyBytes(-1, 0, new Uint8Array(0));
      if (args[0] instanceof PyBytes) return args[0];
      return undefined;
    }
    if (isNumpyCore(m) && n === '_reconstruct') {
      return { hostKind: 'ndarray', shape: undefined, dtype: undefined, fortran: false, data: undefined } as NumpyArray;
    }
    if (m === 'numpy' && n === 'dtype') {
      const code = typeof args[0] === 'string' ? args[0] : '?';
      return { hostKind: 'np-dtype', code, byteOrder: 'little' } as NumpyDtype;
    }
    if (isNumpyCore(m) && n === 'scalar') return numpyScalar(args[0], args[1]);
    void how;
    return undefined;
  };
  return {
    persistentLoad: (pid) => storageFromPid(ctx, pid),
    construct,
    unknownClass(qualname) {
      ctx.warnings.push(`pickle holds instances of ${qualname}, which is not on the allow-list; kept as inert leaves (nothing of it is run)`);
    },
    build(obj, state) {
      if (isHost(obj) && obj.hostKind === 'np-dtype' && Array.isArray(state)) {
        const bo = state[1];
        (obj as NumpyDtype).byteOrder = bo === '>' ? 'big' : bo === '|' ? 'none' : 'little';
        return true;
      }
      if (isHost(obj) && obj.hostKind === 'ndarray' && Array.isArray(state)) {
        const a = obj as NumpyArray;
        // (version, shape, dtype, is_fortran, rawdata)
        const [, shape, dtype, fortran, raw] = state;
        try {
          a.shape = intList(shape, 'numpy array shape');
        } catch (e) {
          a.problem = (e as Error).message;
        }
        if (isHost(dtype) && dtype.hostKind === 'np-dtype') a.dtype = dtype as NumpyDtype;
        a.fortran = fortran === true;
        if (raw instanceof PyBytes) a.data = raw;
        else a.problem ??= 'numpy object arrays are not supported';
        return true;
      }
      if (isHost(obj)) return true; // BUILD on tensors (requires_grad state etc.): nothing to keep
      return false;
    },
  };
}

function seqTuple(items: PyValue[]): PyValue[] {
  TUPLES.add(items);
  return seq(items);
}

function isNumpyCore(m: string): boolean {
  return m === 'numpy.core.multiarray' || m === 'numpy._core.multiarray';
}

function qtensor(args: PyValue[]): TensorRef | UnsupportedTensor {
  // (storage, storage_offset, size, stride, quantizer_params, requires_grad, backward_hooks)
  const t = tensorFrom(args[0], args[1], args[2], args[3]);
  if (t.hostKind !== 'tensor') return t;
  const q = args[4];
  if (!Array.isArray(q) || q.length < 1) fail('quantized tensor without quantizer parameters');
  const scheme = q[0];
  const schemeName = scheme instanceof PyGlobal ? scheme.name : typeof scheme === 'string' ? scheme : describe(scheme);
  const qdtype = t.storage.quantized ?? 'quantized';
  if (schemeName === 'per_tensor_affine') {
    const scale = asNumber(q[1]);
    const zeroPoint = asNumber(q[2]);
    if (scale === undefined || zeroPoint === undefined) fail('quantized tensor with a non-numeric scale or zero point');
    t.quantization = { scheme: qdtype, scale, zeroPoint };
    t.notes = [`quantized: ${qdtype} per-tensor affine, scale=${scale}, zero_point=${zeroPoint}`];
    return t;
  }
  return { hostKind: 'unsupported-tensor', reason: `quantized ${qdtype} tensor with ${schemeName} quantization is not supported (only per-tensor affine)` };
}

const NP_CODES: Record<string, DType> = {
  f8: 'f64',
  f4: 'f32',
  f2: 'f16',
  i8: 'i64',
  i4: 'i32',
  i2: 'i16',
  i1: 'i8',
  u8: 'u64',
  u4: 'u32',
  u2: 'u16',
  u1: 'u8',
  b1: 'bool',
  c8: 'c64',
  c16: 'c128',
};

export function numpyDtype(d: NumpyDtype | undefined): DType | undefined {
  if (!d) return undefined;
  return NP_CODES[d.code];
}

function numpyScalar(dtype: PyValue | undefined, data: PyValue | undefined): PyValue | undefined {
  if (!isHost(dtype) || dtype.hostKind !== 'np-dtype' || !(data instanceof PyBytes) || !data.data) return undefined;
  const d = dtype as NumpyDtype;
  const b = data.data;
  const need: Record<string, number> = { f8: 8, f4: 4, f2: 2, i8: 8, i4: 4, i2: 2, i1: 1, u8: 8, u4: 4, u2: 2, u1: 1, b1: 1 };
  if (need[d.code] === undefined || b.length < need[d.code]!) return undefined;
  const c = new ByteCursor(b, '', { littleEndian: d.byteOrder !== 'big', what: 'numpy scalar' });
  switch (d.code) {
    case 'f8':
      return c.f64();
    case 'f4':
      return c.f32();
    case 'f2':
      return halfToNumber(c.u16());
    case 'i8': {
      const v = c.i64n();
      return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    case 'u8': {
      const v = c.u64n();
      return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    case 'i4':
      return c.i32();
    case 'u4':
      return c.u32();
    case 'i2':
      return c.i16();
    case 'u2':
      return c.u16();
    case 'i1':
      return c.i8();
    case 'u1':
      return c.u8();
    case 'b1':
      return c.u8() !== 0;
    default:
      return undefined;
  }
}

export { TORCH_QDTYPES, globalIs };
