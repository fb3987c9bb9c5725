/**
 * Hostile model files of every format, built byte by byte at test time (nothing large is
 * committed; big cases are sparse files or small files that claim a lot).
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { buildZip } from './zip.js';

/** A safetensors file: header JSON text as given (so it can be hostile), then `data`. */
export function safetensorsRaw(header: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

/** A valid safetensors file of f32 tensors (names as given, any characters). */
export function safetensors(tensors: Record<string, number[]>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header.__metadata__ = metadata;
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, values] of Object.entries(tensors)) {
    const b = Buffer.from(new Float32Array(values).buffer);
    header[name] = { dtype: 'F32', shape: [values.length], data_offsets: [offset, offset + b.length] };
    parts.push(b);
    offset += b.length;
  }
  return safetensorsRaw(JSON.stringify(header), Buffer.concat(parts));
}

/** A .npy file with the header dict text as given (padded as NumPy pads it), then `data`. */
export function npyRaw(dict: string, data: Buffer = Buffer.alloc(0), version = 1): Buffer {
  const lenBytes = version === 1 ? 2 : 4;
  const unpadded = 6 + 2 + lenBytes + Buffer.byteLength(dict) + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const text = Buffer.from(`${dict}${' '.repeat(padded - unpadded)}\n`, 'latin1');
  const head = Buffer.alloc(8 + lenBytes);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return Buffer.concat([head, text, data]);
}

/** A valid little-endian f8 .npy of a 1-d array. */
export function npyF64(values: number[]): Buffer {
  return npyRaw(`{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`, Buffer.from(new Float64Array(values).buffer));
}

/** An .npz (zip) of entries `<name>.npy`. */
export function npz(entries: Record<string, Buffer>, deflate = false): Buffer {
  return buildZip(Object.entries(entries).map(([name, data]) => ({ name: `${name}.npy`, data, deflate })));
}

// ---------------------------------------------------------------------------- MAT v5

const mi = { INT8: 1, UINT8: 2, INT32: 5, UINT32: 6, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 } as const;
const mx = { CELL: 1, STRUCT: 2, DOUBLE: 6 } as const;

/** A data element: tag (type, byte count) and the data padded to 8 bytes. */
function element(type: number, data: Buffer, declared = data.length): Buffer {
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(type, 0);
  tag.writeUInt32LE(declared, 4);
  const pad = Buffer.alloc((8 - (data.length % 8)) % 8);
  return Buffer.concat([tag, data, pad]);
}

function int32s(values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeInt32LE(v, 4 * i);
  });
  return b;
}

function matrixElement(cls: number, dims: number[], name: string, body: Buffer[]): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(cls, 0);
  return element(
    mi.MATRIX,
    Buffer.concat([element(mi.UINT32, flags), element(mi.INT32, int32s(dims)), element(mi.INT8, Buffer.from(name, 'latin1')), ...body]),
  );
}

/** A double matrix variable (column-major values). */
export function matDouble(name: string, dims: number[], values: number[]): Buffer {
  return matrixElement(mx.DOUBLE, dims, name, [element(mi.DOUBLE, Buffer.from(new Float64Array(values).buffer))]);
}

/** A 1×1 struct with the given fields (each a matrix element with an empty name). */
export function matStruct(name: string, fields: Record<string, Buffer>): Buffer {
  const names = Object.keys(fields);
  const width = Math.max(...names.map((n) => n.length)) + 1;
  const nameBytes = Buffer.alloc(width * names.length);
  names.forEach((n, i) => {
    nameBytes.write(n, i * width, 'latin1');
  });
  return matrixElement(mx.STRUCT, [1, 1], name, [element(mi.INT32, int32s([width])), element(mi.INT8, nameBytes), ...Object.values(fields)]);
}

/** A 1×1 cell holding one element. */
export function matCell(name: string, inner: Buffer): Buffer {
  return matrixElement(mx.CELL, [1, 1], name, [inner]);
}

/** A miCOMPRESSED element around zlib bytes as given (unpadded, as MATLAB writes it). */
export function matCompressedRaw(zlibData: Buffer): Buffer {
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(mi.COMPRESSED, 0);
  tag.writeUInt32LE(zlibData.length, 4);
  return Buffer.concat([tag, zlibData]);
}

/** `inner` (a full data element) zlib-compressed as a miCOMPRESSED element. */
export function matCompressed(inner: Buffer): Buffer {
  return element(mi.COMPRESSED, deflateSync(inner));
}

/** A MAT v5 file: 116-byte text, subsystem offset, version 0x0100, 'IM', then the elements. */
export function matFile(elements: Buffer[]): Buffer {
  const head = Buffer.alloc(128, 0x20);
  head.write('MATLAB 5.0 MAT-file, diffai hostile test', 0, 'latin1');
  head.fill(0, 116, 124);
  head.writeUInt16LE(0x0100, 124);
  head.write('IM', 126, 'latin1');
  return Buffer.concat([head, ...elements]);
}

/** Writes `head` and makes the file `size` bytes long without writing the rest (sparse). */
export function writeSparse(path: string, head: Buffer, size: number, tail: Buffer = Buffer.alloc(0)): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, size);
    if (tail.length > 0) writeSync(fd, tail, 0, tail.length, size - tail.length);
  } finally {
    closeSync(fd);
  }
}
