/** The tolerances of --regression-test: torch.testing.assert_close's per-dtype defaults, or the ones given. */
import { isFloat, type DType } from '../dtypes.js';
import type { TensorDescriptor } from '../formats/types.js';

/**
 * torch.testing.assert_close defaults (torch/testing/_comparison.py `_DTYPE_PRECISIONS`):
 * [rtol, atol]; integer and bool dtypes compare exactly (0, 0). torch has no default for the
 * 8-bit floats; bf16's is used. Complex dtypes take their part's.
 */
export const DEFAULT_TOLERANCE: Partial<Record<DType, { rtol: number; atol: number }>> = {
  f16: { rtol: 1e-3, atol: 1e-5 },
  bf16: { rtol: 1.6e-2, atol: 1e-5 },
  f32: { rtol: 1.3e-6, atol: 1e-5 },
  f64: { rtol: 1e-7, atol: 1e-7 },
  c64: { rtol: 1.3e-6, atol: 1e-5 },
  c128: { rtol: 1e-7, atol: 1e-7 },
  f8_e4m3: { rtol: 1.6e-2, atol: 1e-5 },
  f8_e5m2: { rtol: 1.6e-2, atol: 1e-5 },
};

/** The tolerance for the baseline tensor `a`: the given values where given, else its dtype's default (quantized tensors: f32's, they are compared dequantized). */
export function toleranceOf(a: TensorDescriptor, given: { rtol?: number; atol?: number } = {}): { rtol: number; atol: number; source: string } {
  const dtype: DType = a.quantization ? 'f32' : a.dtype;
  const def = DEFAULT_TOLERANCE[dtype] ?? (isFloat(dtype) ? DEFAULT_TOLERANCE.f32! : { rtol: 0, atol: 0 });
  const rtol = given.rtol ?? def.rtol;
  const atol = given.atol ?? def.atol;
  return { rtol, atol, source: given.rtol !== undefined || given.atol !== undefined ? 'given' : dtype };
}
