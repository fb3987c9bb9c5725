/**
 * The globals a checkpoint may use, in the spirit of torch's `weights_only` loader
 * (torch/_weights_only_unpickler.py `_get_allowed_globals`). diffai never runs a pickle, but
 * users read its verdict as "safe to torch.load", so a pickle that would *call* anything not
 * listed here under CPython is refused. The list is documented in docs/pytorch-safety.md.
 */

/** Callables a pickle may call (REDUCE / INST / OBJ): each only builds plain data. */
const CALLABLE = new Set([
  // torch tensor and parameter rebuild functions (what torch.save writes)
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_sparse_csr_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._utils._rebuild_xla_tensor',
  'torch._utils._rebuild_mlc_tensor',
  'torch._tensor._rebuild_from_type_v2',
  'torch.serialization._get_layout',
  'torch.Size',
  'torch.device',
  'torch.nn.parameter.Parameter',
  'torch.Tensor',
  'torch._tensor.Tensor',
  // containers and a few builtins
  'collections.OrderedDict',
  'collections.Counter',
  'collections.defaultdict',
  'builtins.dict',
  'builtins.list',
  'builtins.tuple',
  'builtins.set',
  'builtins.frozenset',
  'builtins.slice',
  'builtins.complex',
  'builtins.bytes',
  'builtins.bytearray',
  '__builtin__.dict',
  '__builtin__.list',
  '__builtin__.tuple',
  '__builtin__.set',
  '__builtin__.frozenset',
  '__builtin__.slice',
  '__builtin__.complex',
  '__builtin__.bytearray',
  '_codecs.encode', // protocol-2 bytes: _codecs.encode(latin1 text, 'latin1')
  // numpy's reconstruct path for plain numeric arrays and scalars
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.dtype',
  // plain-object protocol 0/1 reconstruction (object.__new__(cls), no user code)
  'copyreg._reconstructor',
  'copy_reg._reconstructor',
  'copyreg.__newobj__',
  'copy_reg.__newobj__',
]);

/** Plain classes whose instances (NEWOBJ + BUILD of their attributes) are expected data. */
const KNOWN_CLASSES = new Set([
  'argparse.Namespace',
  'collections.OrderedDict',
  'torch.nn.parameter.Parameter',
  'torch.Tensor',
  'torch._tensor.Tensor',
  'builtins.object',
  '__builtin__.object',
  'numpy.ndarray',
]);

/** Non-callable torch attributes that appear as values (dtypes, qschemes, layouts, formats). */
const TORCH_VALUES = new Set([
  'float32',
  'float',
  'float64',
  'double',
  'float16',
  'half',
  'bfloat16',
  'int64',
  'long',
  'int32',
  'int',
  'int16',
  'short',
  'int8',
  'uint8',
  'bool',
  'complex32',
  'chalf',
  'complex64',
  'cfloat',
  'complex128',
  'cdouble',
  'uint16',
  'uint32',
  'uint64',
  'float8_e4m3fn',
  'float8_e5m2',
  'float8_e4m3fnuz',
  'float8_e5m2fnuz',
  'qint8',
  'quint8',
  'qint32',
  'quint4x2',
  'quint2x4',
  'per_tensor_affine',
  'per_channel_affine',
  'per_tensor_symmetric',
  'per_channel_symmetric',
  'per_channel_affine_float_qparams',
  'strided',
  'sparse_coo',
  'sparse_csr',
  'sparse_csc',
  'sparse_bsr',
  'sparse_bsc',
  '_mkldnn',
  'contiguous_format',
  'channels_last',
  'channels_last_3d',
  'preserve_format',
]);

export function qualname(module: string, name: string): string {
  return `${module}.${name}`;
}

/** True when a pickle may call `module.name`. */
export function isAllowedCall(module: string, name: string): boolean {
  return CALLABLE.has(qualname(module, name)) || isTorchStorageClass(module, name);
}

/** True for classes whose plain instances are expected (no warning). */
export function isKnownClass(module: string, name: string): boolean {
  return KNOWN_CLASSES.has(qualname(module, name)) || isAllowedCall(module, name);
}

/** True when `module.name` may be passed as an argument to an allowed call. */
export function isAllowedValue(module: string, name: string): boolean {
  if (isKnownClass(module, name)) return true;
  if ((module === 'torch' || module === 'torch.cuda') && TORCH_VALUES.has(name)) return true;
  if (module === 'numpy' && (name === 'ndarray' || name === 'dtype')) return true;
  return false;
}

/** torch.FloatStorage, torch.cuda.HalfStorage, torch.storage.UntypedStorage, … */
function isTorchStorageClass(module: string, name: string): boolean {
  return (module === 'torch' || module === 'torch.cuda' || module === 'torch.storage') && /^\w{1,40}Storage$/.test(name);
}
