/**
 * Hostile ONNX, GGUF, MAT v5 and PyTorch files of the second hostile round, built at test
 * time: many tiny tensors, repeated names, metadata beyond the text budget, external data
 * ranges that share bytes, views that revisit one storage. Small files that ask for much.
 */
import { key, len, str, varint, vint } from './protobuf_writer.js';
import { matDouble, matFile } from './hostile_files.js';
import { stateDictOf, torchZip, viewTensor } from './hostile_pickle.js';

const bytes = (a: number[]): Buffer => Buffer.from(a);

/** A length-delimited protobuf field around a Buffer payload (no array spread of large payloads). */
export function lenField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([bytes(key(field, 2)), bytes(varint(payload.length)), payload]);
}

/** An ONNX TensorProto: dims, data type, name, then any further fields. */
export function onnxTensor(name: string, dims: number[], dataType: number, ...rest: Buffer[]): Buffer {
  return Buffer.concat([bytes([...dims.flatMap((d) => vint(1, d)), ...vint(2, dataType), ...str(8, name)]), ...rest]);
}

/** A float32 scalar-vector tensor [1] of value 1 in raw_data. */
export function onnxOne(name: string): Buffer {
  return onnxTensor(name, [1], 1, bytes(len(9, [0, 0, 128, 63])));
}

/** An external_data entry (key, value) of a TensorProto, or data_location = EXTERNAL. */
export const onnxExternal = (k: string, v: string): Buffer => lenField(13, bytes([...str(1, k), ...str(2, v)]));
export const ONNX_EXTERNAL_LOCATION = bytes(vint(14, 1));

/** An ONNX ModelProto (ir_version 8) whose graph has these initializers, then further model fields. */
export function onnxModel(initializers: Buffer[], modelFields: Buffer[] = []): Buffer {
  return Buffer.concat([bytes(vint(1, 8)), lenField(7, Buffer.concat(initializers.map((t) => lenField(5, t)))), ...modelFields]);
}

/** A metadata_props entry of a ModelProto. */
export function onnxMetadata(k: string, value: string): Buffer {
  return lenField(14, Buffer.concat([bytes(str(1, k)), lenField(2, Buffer.from(value))]));
}

/** A MAT v5 file of `n` 1×1 double variables v0 … v(n−1). */
export function matManyVariables(n: number): Buffer {
  const one = matDouble('v', [1, 1], [0]);
  const vars: Buffer[] = [];
  for (let i = 0; i < n; i++) vars.push(i === 0 ? one : matDouble(`v${i}`, [1, 1], [i]));
  return matFile(vars);
}

/**
 * A torch zip whose `views` tensors are `b[i:]` of one float32 storage of `numel` elements
 * (as torch.save writes `{f't{i}': b[i:] …}`): each view covers nearly the whole storage.
 */
export function shiftedViews(numel: number, views: number): Buffer {
  const entries: Array<[string, Buffer]> = [];
  for (let i = 0; i < views; i++) entries.push([`t${i}`, viewTensor('0', numel, i, [numel - i], [1])]);
  return torchZip(stateDictOf(entries), { '0': Buffer.alloc(4 * numel) }, false);
}
