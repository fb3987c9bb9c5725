/** Element types diffai understands, with the names the output contract uses (DESIGN §5). */
export const DTYPES = [
  'f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2',
  'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool',
  'c64', 'c128',
] as const;
export type DType = (typeof DTYPES)[number];

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  f64: 8, f32: 4, f16: 2, bf16: 2, f8_e4m3: 1, f8_e5m2: 1,
  i64: 8, i32: 4, i16: 2, i8: 1, u64: 8, u32: 4, u16: 2, u8: 1, bool: 1,
  c64: 8, c128: 16,
};

/** Bits of one element (for quantization and memory analyses). */
export function dtypeBits(dtype: DType): number {
  return DTYPE_SIZE[dtype] * 8;
}

export function isComplex(dtype: DType): boolean {
  return dtype === 'c64' || dtype === 'c128';
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f64' || dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' || dtype === 'f8_e4m3' || dtype === 'f8_e5m2';
}
