/**
 * A slow, obviously-correct decoder of a (small) tensor descriptor into JS numbers in
 * logical C order. Not for production statistics (the engine does those): it is the
 * reference path the format tests use to check offsets, strides, byte order and
 * compressed-stream skips, and a debugging aid.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { DTYPE_SIZE } from '../../dtypes.js';
import type { ByteSource, TensorDescriptor } from '../types.js';

/** The bytes a ByteSource points at (reads the whole file: small test files only). */
export function readSourceBytes(src: ByteSource): Buffer {
  const file = readFileSync(src.path);
  if (src.kind === 'file') {
    if (src.offset + src.length > file.length) throw new Error(`source ${src.offset}+${src.length} beyond file of ${file.length}`);
    return file.subarray(src.offset, src.offset + src.length);
  }
  const comp = file.subarray(src.offset, src.offset + src.compressedLength);
  const out = src.format === 'raw' ? inflateRawSync(comp) : inflateSync(comp);
  if (src.skip + src.length > out.length) throw new Error(`inflated stream of ${out.length} bytes too short for ${src.skip}+${src.length}`);
  return out.subarray(src.skip, src.skip + src.length);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decodes the storage element `i` of `buf`; complex gives [re, im]. */
function element(buf: Buffer, dtype: TensorDescriptor['dtype'], le: boolean, i: number): number | [number, number] {
  const size = DTYPE_SIZE[dtype];
  const o = i * size;
  switch (dtype) {
    case 'f64': return le ? buf.readDoubleLE(o) : buf.readDoubleBE(o);
    case 'f32': return le ? buf.readFloatLE(o) : buf.readFloatBE(o);
    case 'f16': return halfToFloat(le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    case 'bf16': {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(le ? buf.readUInt16LE(o) : buf.readUInt16BE(o), 0);
      return b.readFloatBE(0);
    }
    case 'i64': return Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o));
    case 'u64': return Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
    case 'i32': return le ? buf.readInt32LE(o) : buf.readInt32BE(o);
    case 'u32': return le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
    case 'i16': return le ? buf.readInt16LE(o) : buf.readInt16BE(o);
    case 'u16': return le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
    case 'i8': return buf.readInt8(o);
    case 'u8': case 'bool': case 'f8_e4m3': case 'f8_e5m2': return buf.readUInt8(o);
    case 'c64': return [le ? buf.readFloatLE(o) : buf.readFloatBE(o), le ? buf.readFloatLE(o + 4) : buf.readFloatBE(o + 4)];
    case 'c128': return [le ? buf.readDoubleLE(o) : buf.readDoubleBE(o), le ? buf.readDoubleLE(o + 8) : buf.readDoubleBE(o + 8)];
  }
}

/** The tensor's elements in logical C order (applies `view`), at most `maxElements`. */
export function decodeTensor(t: TensorDescriptor, maxElements = 1 << 20): Array<number | [number, number]> {
  if (t.numel > maxElements) throw new Error(`${t.name}: ${t.numel} elements is over the ${maxElements} limit`);
  const buf = readSourceBytes(t.source);
  const le = t.byteOrder === 'little';
  const size = DTYPE_SIZE[t.dtype];
  const out: Array<number | [number, number]> = [];
  if (t.numel === 0) return out;
  const strides = t.view?.strides ?? cStrides(t.shape);
  const offset = t.view?.offset ?? 0;
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let n = 0; n < t.numel; n++) {
    let s = offset;
    for (let k = 0; k < idx.length; k++) s += idx[k]! * strides[k]!;
    if ((s + 1) * size > buf.length) throw new Error(`${t.name}: storage element ${s} is outside the ${buf.length}-byte source`);
    out.push(element(buf, t.dtype, le, s));
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < t.shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function cStrides(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    st[k] = s;
    s *= shape[k]!;
  }
  return st;
}
