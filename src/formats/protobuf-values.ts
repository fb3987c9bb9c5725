/**
 * What ONNX and TensorFlow TensorProtos share: the element count of checked dims, and a packed
 * repeated field (`float_data`, `int32_data`, `float_val`, `half_val` …) as a byte source —
 * fixed-size values read in place, varints through the engine's varint source.
 */
import { dtypeInfo, type DType } from '../dtypes.js';
import type { ProtoReader } from '../io/protobuf.js';
import { countVarints } from '../io/varint.js';
import type { ByteSource } from './types.js';

/** The product of `dims`, each a non-negative safe integer, refused when it overflows. */
export function elementCount(proto: ProtoReader, label: string, dims: number[]): number {
  let numel = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) proto.fail(`${label} has a bad dimension ${d}`);
    numel *= d;
    if (!Number.isSafeInteger(numel)) proto.fail(`${label}: element count overflows`);
  }
  return numel;
}

/**
 * A packed field's payload (`start..end`) as `count` values of `dtype`, each one storage block
 * (an element, or a byte of two 4-bit elements): fixed-size values as a file range, varints
 * counted and left packed.
 */
export function packedValues(
  proto: ProtoReader,
  label: string,
  dtype: DType,
  packing: 'fixed' | 'varint',
  start: number,
  end: number,
): { count: number; source: ByteSource } {
  const path = proto.file.path;
  if (packing === 'fixed') {
    const { blockBytes } = dtypeInfo(dtype);
    if ((end - start) % blockBytes !== 0) proto.fail(`${label}: packed values of ${end - start} bytes are not whole elements`);
    return { count: (end - start) / blockBytes, source: { kind: 'file', path, offset: start, length: end - start } };
  }
  const count = countVarints(proto.file, start, end - start);
  return { count, source: { kind: 'varint', path, offset: start, length: end - start, count } };
}
