/**
 * ggml's tensor type ids (ggml.h `enum ggml_type`) as GGUF stores them, with the diffai
 * dtype each one is read as. Types without a dtype are refused by name: their blocks are
 * described here only so that the message can say what the file holds.
 */
import type { DType } from '../../dtypes.js';

export interface GgmlType {
  name: string;
  /** The diffai dtype; absent when diffai does not dequantize this type. */
  dtype?: DType;
}

export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map<number, GgmlType>([
  [0, { name: 'F32', dtype: 'f32' }],
  [1, { name: 'F16', dtype: 'f16' }],
  [2, { name: 'Q4_0', dtype: 'q4_0' }],
  [3, { name: 'Q4_1', dtype: 'q4_1' }],
  [4, { name: 'Q4_2 (removed from ggml)' }],
  [5, { name: 'Q4_3 (removed from ggml)' }],
  [6, { name: 'Q5_0', dtype: 'q5_0' }],
  [7, { name: 'Q5_1', dtype: 'q5_1' }],
  [8, { name: 'Q8_0', dtype: 'q8_0' }],
  [9, { name: 'Q8_1' }],
  [10, { name: 'Q2_K', dtype: 'q2_k' }],
  [11, { name: 'Q3_K', dtype: 'q3_k' }],
  [12, { name: 'Q4_K', dtype: 'q4_k' }],
  [13, { name: 'Q5_K', dtype: 'q5_k' }],
  [14, { name: 'Q6_K', dtype: 'q6_k' }],
  [15, { name: 'Q8_K', dtype: 'q8_k' }],
  [16, { name: 'IQ2_XXS' }],
  [17, { name: 'IQ2_XS' }],
  [18, { name: 'IQ3_XXS' }],
  [19, { name: 'IQ1_S' }],
  [20, { name: 'IQ4_NL', dtype: 'iq4_nl' }],
  [21, { name: 'IQ3_S' }],
  [22, { name: 'IQ2_S' }],
  [23, { name: 'IQ4_XS', dtype: 'iq4_xs' }],
  [24, { name: 'I8', dtype: 'i8' }],
  [25, { name: 'I16', dtype: 'i16' }],
  [26, { name: 'I32', dtype: 'i32' }],
  [27, { name: 'I64', dtype: 'i64' }],
  [28, { name: 'F64', dtype: 'f64' }],
  [29, { name: 'IQ1_M' }],
  [30, { name: 'BF16', dtype: 'bf16' }],
  [31, { name: 'Q4_0_4_4 (removed from ggml)' }],
  [32, { name: 'Q4_0_4_8 (removed from ggml)' }],
  [33, { name: 'Q4_0_8_8 (removed from ggml)' }],
  [34, { name: 'TQ1_0' }],
  [35, { name: 'TQ2_0' }],
  [36, { name: 'IQ4_NL_4_4 (removed from ggml)' }],
  [37, { name: 'IQ4_NL_4_8 (removed from ggml)' }],
  [38, { name: 'IQ4_NL_8_8 (removed from ggml)' }],
  [39, { name: 'MXFP4' }],
]);

/** The GGUF names of the types diffai reads, for messages. */
export const SUPPORTED_GGML_TYPES = [...GGML_TYPES.values()].filter((t) => t.dtype).map((t) => t.name);
