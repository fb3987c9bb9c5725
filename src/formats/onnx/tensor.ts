/**
 * ONNX `TensorProto` → TensorDescriptor: element type, dims, and where the elements are —
 * `raw_data` or a packed fixed-size field (float_data, double_data) as a file range, a packed
 * varint field (int32_data, int64_data, uint64_data) as a varint source, or an external data
 * file (`location`/`offset`/`length`) resolved inside the model's directory. Nothing here reads
 * element data.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { byteLength, dtypeInfo, type DType } from '../../dtypes.js';
import { RandomAccessFile } from '../../io/file.js';
import { type ProtoField, type ProtoReader, WIRE_LEN, WIRE_VARINT } from '../../io/protobuf.js';
import { isRemotePath, remoteSibling } from '../../io/remote-path.js';
import { elementCount, packedValues } from '../protobuf-values.js';
import type { ByteSource, TensorDescriptor } from '../types.js';

/** TensorProto.DataType → our dtype; undefined for types we refuse by name. */
const ONNX_DTYPES: Record<number, DType | undefined> = {
  1: 'f32',
  2: 'u8',
  3: 'i8',
  4: 'u16',
  5: 'i16',
  6: 'i32',
  7: 'i64',
  9: 'bool',
  10: 'f16',
  11: 'f64',
  12: 'u32',
  13: 'u64',
  14: 'c64',
  15: 'c128',
  16: 'bf16',
  17: 'f8_e4m3',
  18: 'f8_e4m3fnuz',
  19: 'f8_e5m2',
  20: 'f8_e5m2fnuz',
  21: 'u4',
  22: 'i4',
};

/** Names of ONNX element types, for messages about the ones we do not read. */
export const ONNX_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  21: 'UINT4',
  22: 'INT4',
  8: 'STRING',
  23: 'FLOAT4E2M1',
  24: 'FLOAT8E8M0',
  25: 'UINT2',
  26: 'INT2',
};

export const STRING_TYPE = 8;

/** Which typed field holds which element types, and how (ONNX's onnx.proto comments). */
const TYPED_FIELDS: Record<number, { packing: 'fixed' | 'varint'; types: DType[] }> = {
  4: { packing: 'fixed', types: ['f32', 'c64'] }, // float_data
  5: { packing: 'varint', types: ['i32', 'i16', 'i8', 'u16', 'u8', 'bool', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'f8_e4m3fnuz', 'f8_e5m2fnuz', 'i4', 'u4'] }, // int32_data (INT4/UINT4: one packed byte per value)
  7: { packing: 'varint', types: ['i64'] }, // int64_data
  10: { packing: 'fixed', types: ['f64', 'c128'] }, // double_data
  11: { packing: 'varint', types: ['u32', 'u64'] }, // uint64_data
};

/** Most dims a tensor may have; ONNX runtimes allow far fewer. */
const MAX_RANK = 64;
/** Most external_data entries of one tensor (location, offset, length, checksum and a few more). */
const MAX_EXTERNAL_ENTRIES = 16;

export interface RawTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** raw_data, or the one typed field, as a payload range. */
  payload?: { field: number; start: number; end: number };
  external?: Map<string, string>;
  segment: boolean;
}

/** Reads the fields of a TensorProto without touching its data. */
export function readTensorProto(proto: ProtoReader, at: ProtoField): RawTensor {
  const t: RawTensor = { name: '', dataType: 0, dims: [], segment: false };
  proto.fields(at.start, at.end, (f) => {
    switch (f.number) {
      case 1:
        proto.varints(f, MAX_RANK, t.dims);
        break;
      case 2:
        proto.expect(f, WIRE_VARINT);
        t.dataType = f.value;
        break;
      case 3:
        t.segment = true;
        break;
      case 8:
        t.name = proto.string(f);
        break;
      case 9: // raw_data
      case 4:
      case 5:
      case 7:
      case 10:
      case 11:
        if (t.payload) proto.fail(`tensor '${t.name}' has its data in more than one field`);
        if (f.number !== 9 && f.wire !== WIRE_LEN) proto.fail(`tensor '${t.name}': typed field ${f.number} is not packed`);
        proto.expect(f, WIRE_LEN);
        t.payload = { field: f.number, start: f.start, end: f.end };
        break;
      case 13: {
        t.external ??= new Map();
        if (t.external.size >= MAX_EXTERNAL_ENTRIES) proto.fail(`tensor '${t.name}' has more than ${MAX_EXTERNAL_ENTRIES} external_data entries`);
        let key = '';
        let value = '';
        proto.fields(f.start, f.end, (e) => {
          if (e.number === 1) key = proto.string(e, 4096);
          else if (e.number === 2) value = proto.string(e, 4096);
        });
        t.external.set(key, value);
        break;
      }
      case 14:
        proto.expect(f, WIRE_VARINT);
        if (f.value === 1 && !t.external) t.external = new Map();
        break;
      default: // string_data (6), doc_string (12), metadata_props (16)
        break;
    }
  });
  return t;
}

/** The descriptor of a non-string tensor; `modelPath` locates external data. */
export function describeTensor(proto: ProtoReader, t: RawTensor, modelPath: string): TensorDescriptor {
  const path = proto.file.path;
  const label = `tensor '${t.name}'`;
  if (t.segment) proto.fail(`${label} is stored in segments, which ONNX has deprecated and diffai does not read`);
  const dtype = ONNX_DTYPES[t.dataType];
  if (dtype === undefined) {
    const name = ONNX_TYPE_NAMES[t.dataType] ?? `data type ${t.dataType}`;
    proto.fail(`${label} has element type ${name}, which diffai does not read`);
  }
  const numel = elementCount(proto, label, t.dims);
  const { blockElements } = dtypeInfo(dtype);
  if (numel % blockElements !== 0)
    proto.fail(`${label}: ${ONNX_TYPE_NAMES[t.dataType] ?? dtype} tensors with an odd number of elements (${numel}) are not supported`);
  const bytes = byteLength(dtype, numel);
  let source: ByteSource;
  if (t.external) {
    source = externalSource(proto, t, modelPath, bytes);
  } else if (!t.payload) {
    if (numel !== 0) proto.fail(`${label} has ${numel} elements but no data`);
    source = { kind: 'file', path, offset: 0, length: 0 };
  } else if (t.payload.field === 9) {
    const length = t.payload.end - t.payload.start;
    if (length !== bytes)
      proto.fail(`${label}: raw_data holds ${length} bytes, but ${t.dims.length ? `[${t.dims.join(', ')}]` : 'a scalar'} of ${dtype} needs ${bytes}`);
    source = { kind: 'file', path, offset: t.payload.start, length };
  } else {
    const typed = TYPED_FIELDS[t.payload.field]!;
    if (!typed.types.includes(dtype)) proto.fail(`${label}: element type ${dtype} cannot be stored in field ${t.payload.field}`);
    const { start, end } = t.payload;
    if (typed.packing === 'fixed' && end - start !== bytes) proto.fail(`${label}: its packed values hold ${end - start} bytes, but the shape needs ${bytes}`);
    // One value per storage block: an element, or a byte of two packed 4-bit elements.
    const packed = packedValues(proto, label, dtype, typed.packing, start, end);
    if (packed.count !== numel / blockElements) proto.fail(`${label}: ${packed.count} packed values for ${numel} elements`);
    source = packed.source;
  }
  return { name: t.name, dtype, shape: t.dims, numel, source, byteOrder: 'little' };
}

/** External data: a file named by `location`, relative to the model and inside its directory. */
function externalSource(proto: ProtoReader, t: RawTensor, modelPath: string, bytes: number): ByteSource {
  const label = `tensor '${t.name}'`;
  const ext = t.external!;
  const location = ext.get('location');
  if (!location) proto.fail(`${label} is external but names no location`);
  if (isAbsolute(location) || location.includes('\0')) proto.fail(`${label}: external data location must be a relative path`);
  const { target, size } = isRemotePath(modelPath) ? remoteExternal(proto, label, modelPath, location) : localExternal(proto, label, modelPath, location);
  const offset = parseIntField(proto, label, 'offset', ext.get('offset') ?? '0');
  const length = ext.has('length') ? parseIntField(proto, label, 'length', ext.get('length')!) : size - offset;
  if (length !== bytes) proto.fail(`${label}: external data holds ${length} bytes, but the shape needs ${bytes}`);
  if (offset + length > size)
    proto.fail(`${label}: external data ${offset}..${offset + length} runs past the end of ${JSON.stringify(location)} (${size} bytes)`);
  return { kind: 'file', path: target, offset, length };
}

/**
 * External data ranges of different tensors must not share bytes: writers give each tensor
 * its own range, and a model naming one range thousands of times (shifted by a few bytes)
 * would ask for that range's statistics thousands of times.
 */
export function checkExternalOverlaps(proto: ProtoReader, tensors: readonly TensorDescriptor[], modelPath: string): void {
  const external = tensors.filter((t) => t.source.kind === 'file' && t.source.path !== modelPath && t.source.length > 0);
  if (external.length < 2) return;
  const key = (t: TensorDescriptor) => t.source as { path: string; offset: number; length: number };
  external.sort((a, b) => (key(a).path < key(b).path ? -1 : key(a).path > key(b).path ? 1 : key(a).offset - key(b).offset));
  for (let i = 1; i < external.length; i++) {
    const p = key(external[i - 1]!);
    const q = key(external[i]!);
    if (p.path === q.path && q.offset < p.offset + p.length)
      proto.fail(
        `tensors '${external[i - 1]!.name}' and '${external[i]!.name}' share external data bytes (${q.offset}..${Math.min(p.offset + p.length, q.offset + q.length)})`,
      );
  }
}

/** An external data file beside a local model: inside the model's directory (through symbolic links too), a regular file. */
function localExternal(proto: ProtoReader, label: string, modelPath: string, location: string): { target: string; size: number } {
  const dir = realpathSync(dirname(modelPath));
  const outside = (p: string): boolean => {
    const rel = relative(dir, p);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  if (outside(resolve(dir, location))) proto.fail(`${label}: external data file ${JSON.stringify(location)} lies outside the model's directory`);
  let target: string;
  try {
    target = realpathSync(resolve(dir, location));
  } catch {
    proto.fail(`${label}: external data file ${JSON.stringify(location)} does not exist`);
  }
  // A symlink inside the directory may still point out of it.
  if (outside(target)) proto.fail(`${label}: external data file ${JSON.stringify(location)} lies outside the model's directory`);
  const st = statSync(target);
  if (!st.isFile()) proto.fail(`${label}: external data ${JSON.stringify(location)} is not a regular file`);
  return { target, size: st.size };
}

/** An external data file beside a remote model: on the same server, never above the model's directory. */
function remoteExternal(proto: ProtoReader, label: string, modelPath: string, location: string): { target: string; size: number } {
  if (location.split(/[\\/]/).includes('..')) proto.fail(`${label}: external data file ${JSON.stringify(location)} lies outside the model's directory`);
  const target = remoteSibling(modelPath, location);
  const file = RandomAccessFile.open(target);
  file.close();
  return { target, size: file.size };
}

function parseIntField(proto: ProtoReader, label: string, key: string, text: string): number {
  const v = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(v)) proto.fail(`${label}: external data ${key} ${JSON.stringify(text)} is not a byte count`);
  return v;
}
