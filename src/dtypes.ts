/**
 * The dtype registry: every per-dtype fact lives in one record here (DESIGN §5 names).
 * Storage is described as blocks of `blockElements` elements in `blockBytes` bytes — 1 and
 * N for ordinary dtypes — so a block-quantized type (GGUF Q4_0: 32 elements in 18 bytes)
 * is one more record, not a special case. Every byte count goes through byteLength().
 *
 * Adding a dtype: add its name to DTYPES and its record to DTYPE_INFO; if the kernels need
 * it widened, name the WASM conversion export in `widen` (and export it from assembly/).
 */
import { DiffaiError } from './errors.js';

export const DTYPES = [
  'f64',
  'f32',
  'f16',
  'bf16',
  'f8_e4m3',
  'f8_e5m2',
  'f8_e4m3fnuz',
  'f8_e5m2fnuz',
  'i64',
  'i32',
  'i16',
  'i8',
  'u64',
  'u32',
  'u16',
  'u8',
  'bool',
  // 4-bit integers packed two to a byte (ONNX INT4/UINT4): a block of 2 elements in 1 byte.
  'i4',
  'u4',
  'c64',
  'c128',
  // ggml's block-quantized types (GGUF), dequantized to f32 by assembly/dequant.ts.
  'q4_0',
  'q4_1',
  'q5_0',
  'q5_1',
  'q8_0',
  'q2_k',
  'q3_k',
  'q4_k',
  'q5_k',
  'q6_k',
  'q8_k',
  'iq4_nl',
  'iq4_xs',
] as const;
export type DType = (typeof DTYPES)[number];

export type ElementClass = 'float' | 'int' | 'bool' | 'complex';
/** The two element kinds the kernels compute in. */
export type KernelFamily = 'f32' | 'f64';

/** WASM exports that widen n stored elements at src into the kernel family at dst. */
export type WidenKernel =
  | 'f16_to_f32'
  | 'bf16_to_f32'
  | 'f8e4m3_to_f32'
  | 'f8e5m2_to_f32'
  | 'f8e4m3fnuz_to_f32'
  | 'f8e5m2fnuz_to_f32'
  | 'i4_to_f32'
  | 'u4_to_f32'
  | 'i8_to_f32'
  | 'u8_to_f32'
  | 'i16_to_f32'
  | 'u16_to_f32'
  | 'bool_to_f32'
  | 'i32_to_f64'
  | 'u32_to_f64'
  | 'i64_to_f64'
  | 'u64_to_f64'
  | 'q4_0_to_f32'
  | 'q4_1_to_f32'
  | 'q5_0_to_f32'
  | 'q5_1_to_f32'
  | 'q8_0_to_f32'
  | 'q2_k_to_f32'
  | 'q3_k_to_f32'
  | 'q4_k_to_f32'
  | 'q5_k_to_f32'
  | 'q6_k_to_f32'
  | 'q8_k_to_f32'
  | 'iq4_nl_to_f32'
  | 'iq4_xs_to_f32';

/**
 * Stats kernels that read the stored elements directly: bf16/f16 widened in registers, Q4_K
 * summed from integer moments of its quants (assembly/quant-stats.ts), 8- and 16-bit integers
 * from exact integer sums (assembly/int-stats.ts).
 */
export type FusedStatsKernel = 'stats_bf16' | 'stats_f16' | 'stats_q4_k' | 'stats_i8' | 'stats_u8' | 'stats_i16' | 'stats_u16';

export interface DTypeInfo {
  /** The name in JSON output and the library API. */
  name: DType;
  class: ElementClass;
  /** Elements per storage block (1 unless block-quantized). */
  blockElements: number;
  /** Bytes per storage block. */
  blockBytes: number;
  /** Bits of one element: blockBytes·8 / blockElements (fractional for block types). */
  bits: number;
  /** The kind the kernels compute this dtype in (complex: of each part). */
  family: KernelFamily;
  /** The conversion the pipeline runs first, when the kernels cannot read it as stored. */
  widen?: { kernel: WidenKernel; to: KernelFamily };
  fusedStats?: FusedStatsKernel;
  /** Complex dtypes: the real dtype of each interleaved part. */
  complexPart?: DType;
}

type Spec = Omit<DTypeInfo, 'name' | 'bits' | 'blockElements'> & { blockElements?: number };

const SPECS: Record<DType, Spec> = {
  f64: { class: 'float', blockBytes: 8, family: 'f64' },
  f32: { class: 'float', blockBytes: 4, family: 'f32' },
  f16: { class: 'float', blockBytes: 2, family: 'f32', widen: { kernel: 'f16_to_f32', to: 'f32' }, fusedStats: 'stats_f16' },
  bf16: { class: 'float', blockBytes: 2, family: 'f32', widen: { kernel: 'bf16_to_f32', to: 'f32' }, fusedStats: 'stats_bf16' },
  f8_e4m3: { class: 'float', blockBytes: 1, family: 'f32', widen: { kernel: 'f8e4m3_to_f32', to: 'f32' } },
  f8_e5m2: { class: 'float', blockBytes: 1, family: 'f32', widen: { kernel: 'f8e5m2_to_f32', to: 'f32' } },
  f8_e4m3fnuz: { class: 'float', blockBytes: 1, family: 'f32', widen: { kernel: 'f8e4m3fnuz_to_f32', to: 'f32' } },
  f8_e5m2fnuz: { class: 'float', blockBytes: 1, family: 'f32', widen: { kernel: 'f8e5m2fnuz_to_f32', to: 'f32' } },
  i64: { class: 'int', blockBytes: 8, family: 'f64', widen: { kernel: 'i64_to_f64', to: 'f64' } },
  i32: { class: 'int', blockBytes: 4, family: 'f64', widen: { kernel: 'i32_to_f64', to: 'f64' } },
  i16: { class: 'int', blockBytes: 2, family: 'f32', widen: { kernel: 'i16_to_f32', to: 'f32' }, fusedStats: 'stats_i16' },
  i8: { class: 'int', blockBytes: 1, family: 'f32', widen: { kernel: 'i8_to_f32', to: 'f32' }, fusedStats: 'stats_i8' },
  u64: { class: 'int', blockBytes: 8, family: 'f64', widen: { kernel: 'u64_to_f64', to: 'f64' } },
  u32: { class: 'int', blockBytes: 4, family: 'f64', widen: { kernel: 'u32_to_f64', to: 'f64' } },
  u16: { class: 'int', blockBytes: 2, family: 'f32', widen: { kernel: 'u16_to_f32', to: 'f32' }, fusedStats: 'stats_u16' },
  u8: { class: 'int', blockBytes: 1, family: 'f32', widen: { kernel: 'u8_to_f32', to: 'f32' }, fusedStats: 'stats_u8' },
  bool: { class: 'bool', blockBytes: 1, family: 'f32', widen: { kernel: 'bool_to_f32', to: 'f32' } },
  i4: { class: 'int', blockElements: 2, blockBytes: 1, family: 'f32', widen: { kernel: 'i4_to_f32', to: 'f32' } },
  u4: { class: 'int', blockElements: 2, blockBytes: 1, family: 'f32', widen: { kernel: 'u4_to_f32', to: 'f32' } },
  c64: { class: 'complex', blockBytes: 8, family: 'f32', complexPart: 'f32' },
  c128: { class: 'complex', blockBytes: 16, family: 'f64', complexPart: 'f64' },
  q4_0: ggml(32, 18, 'q4_0_to_f32'),
  q4_1: ggml(32, 20, 'q4_1_to_f32'),
  q5_0: ggml(32, 22, 'q5_0_to_f32'),
  q5_1: ggml(32, 24, 'q5_1_to_f32'),
  q8_0: ggml(32, 34, 'q8_0_to_f32'),
  q2_k: ggml(256, 84, 'q2_k_to_f32'),
  q3_k: ggml(256, 110, 'q3_k_to_f32'),
  q4_k: { ...ggml(256, 144, 'q4_k_to_f32'), fusedStats: 'stats_q4_k' },
  q5_k: ggml(256, 176, 'q5_k_to_f32'),
  q6_k: ggml(256, 210, 'q6_k_to_f32'),
  q8_k: ggml(256, 292, 'q8_k_to_f32'),
  iq4_nl: ggml(32, 18, 'iq4_nl_to_f32'),
  iq4_xs: ggml(256, 136, 'iq4_xs_to_f32'),
};

/** A ggml block type: `blockElements` values in `blockBytes` bytes, dequantized to f32 by `kernel`. */
function ggml(blockElements: number, blockBytes: number, kernel: WidenKernel): Spec {
  return { class: 'float', blockElements, blockBytes, family: 'f32', widen: { kernel, to: 'f32' } };
}

export const DTYPE_INFO: Readonly<Record<DType, Readonly<DTypeInfo>>> = Object.fromEntries(
  DTYPES.map((name) => {
    const spec = SPECS[name];
    const blockElements = spec.blockElements ?? 1;
    return [name, Object.freeze({ ...spec, name, blockElements, bits: (spec.blockBytes * 8) / blockElements })];
  }),
) as Record<DType, DTypeInfo>;

export function dtypeInfo(dtype: DType): Readonly<DTypeInfo> {
  return DTYPE_INFO[dtype];
}

/**
 * Bytes that `numel` elements of `dtype` occupy in storage: the one byte count in diffai.
 * Refuses counts that are not whole storage blocks.
 */
export function byteLength(dtype: DType, numel: number): number {
  const { blockElements, blockBytes } = DTYPE_INFO[dtype];
  if (blockElements === 1) return numel * blockBytes;
  if (numel % blockElements !== 0) {
    throw new DiffaiError(undefined, `${numel} elements of ${dtype} is not a whole number of ${blockElements}-element blocks`);
  }
  return (numel / blockElements) * blockBytes;
}

/** Whether a byte count holds whole elements (blocks) of `dtype`; the element count when so. */
export function elementsIn(dtype: DType, bytes: number): number | undefined {
  const { blockElements, blockBytes } = DTYPE_INFO[dtype];
  return bytes % blockBytes === 0 ? (bytes / blockBytes) * blockElements : undefined;
}

/** True for block-quantized dtypes (more than one element per storage block). */
export function isBlockQuantized(dtype: DType): boolean {
  return DTYPE_INFO[dtype].blockElements > 1;
}

export function isComplex(dtype: DType): boolean {
  return DTYPE_INFO[dtype].class === 'complex';
}

export function isFloat(dtype: DType): boolean {
  return DTYPE_INFO[dtype].class === 'float';
}
