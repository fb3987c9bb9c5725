/**
 * QuantizeLinear/DequantizeLinear (QDQ) models: `y = (x − zero_point) · scale`. A quantized
 * initializer read by a DequantizeLinear node is linked to the float tensor it stands for —
 * its name without the `_quantized` suffix quantization tools add, else the node's output —
 * so the model view gives it the `quantized` role and `--quantization-analysis` can pair it
 * with the float model's tensor. With a per-tensor scale its statistics are of the
 * dequantized values (as for PyTorch's quantized tensors); a per-axis scale is noted.
 */
import { RandomAccessFile } from '../../io/file.js';
import { VarintStream } from '../../io/varint.js';
import { halfToNumber } from '../../io/half.js';
import { byteLength } from '../../dtypes.js';
import type { TensorDescriptor } from '../types.js';

export interface DequantizeNode {
  input: string;
  scale: string;
  zeroPoint: string | undefined;
  output: string;
}

const QUANTIZED_SUFFIX = /_quantized$/;

/** `file`: the open model file, where the scale and zero point scalars are read (external data opens its own). */
export function linkDequantized(tensors: TensorDescriptor[], nodes: DequantizeNode[], file: RandomAccessFile, warnings: string[]): void {
  if (nodes.length === 0) return;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const node of nodes) {
    const x = byName.get(node.input);
    if (!x || x.linkedTo !== undefined) continue; // an activation, or already linked
    const floatName = QUANTIZED_SUFFIX.test(x.name) ? x.name.replace(QUANTIZED_SUFFIX, '') : node.output;
    if (!floatName || floatName === x.name) continue;
    x.linkedTo = floatName;
    const scale = byName.get(node.scale);
    const zero = node.zeroPoint ? byName.get(node.zeroPoint) : undefined;
    for (const p of [scale, zero]) if (p && p.linkedTo === undefined) p.linkedTo = floatName;
    if (!scale) continue;
    if (scale.numel !== 1 || (zero && zero.numel !== 1)) {
      (x.notes ??= []).push(`quantized per axis (${scale.numel} scales): statistics are of the stored integers`);
      continue;
    }
    const s = scalarValue(file, scale);
    const z = zero ? scalarValue(file, zero) : 0;
    if (s === undefined || z === undefined || !Number.isFinite(s) || !Number.isFinite(z)) {
      warnings.push(`DequantizeLinear of '${x.name}': its scale or zero point could not be read; statistics are of the stored integers`);
      continue;
    }
    x.quantization = { scheme: 'onnx_dequantize_linear', scale: s, zeroPoint: z };
    (x.notes ??= []).push(`quantized: DequantizeLinear → ${floatName}`);
  }
}

/** The value of a one-element tensor in the model file, or undefined for a dtype a scale or zero point does not take. */
function scalarValue(file: RandomAccessFile, t: TensorDescriptor): number | undefined {
  const size = byteLength(t.dtype, 1);
  const bytes = Buffer.alloc(size);
  const src = t.source;
  if (src.kind === 'varint') {
    if (src.path !== file.path) return undefined;
    new VarintStream(file, src, size).readIntoSync(bytes);
  } else if (src.kind === 'file') {
    const f = src.path === file.path ? file : RandomAccessFile.open(src.path);
    try {
      f.readInto(bytes, src.offset);
    } finally {
      if (f !== file) f.close();
    }
  } else return undefined;
  switch (t.dtype) {
    case 'f32':
      return bytes.readFloatLE(0);
    case 'f64':
      return bytes.readDoubleLE(0);
    case 'f16':
      return halfToNumber(bytes.readUInt16LE(0));
    case 'bf16':
      return new Float32Array(new Uint32Array([bytes.readUInt16LE(0) << 16]).buffer)[0];
    case 'i8':
      return bytes.readInt8(0);
    case 'u8':
      return bytes.readUInt8(0);
    case 'i16':
      return bytes.readInt16LE(0);
    case 'u16':
      return bytes.readUInt16LE(0);
    case 'i32':
      return bytes.readInt32LE(0);
    default:
      return undefined;
  }
}
