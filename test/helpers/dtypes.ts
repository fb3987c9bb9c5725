/**
 * Test-side element codecs, written independently of src/: decode stored bytes of every
 * dtype into exact values (numbers, or BigInt for 64-bit integers), and random/adversarial
 * generators that return both the bytes and the exact values they hold.
 */
import type { Exact } from './exact.js';

export const ALL_DTYPES = ['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool'] as const;
export type TestDType = (typeof ALL_DTYPES)[number];

export const SIZE: Record<TestDType, number> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  f8_e4m3: 1,
  f8_e5m2: 1,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u64: 8,
  u32: 4,
  u16: 2,
  u8: 1,
  bool: 1,
};

/** safetensors header names. */
export const ST_NAME: Record<TestDType, string> = {
  f64: 'F64',
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  f8_e4m3: 'F8_E4M3',
  f8_e5m2: 'F8_E5M2',
  i64: 'I64',
  i32: 'I32',
  i16: 'I16',
  i8: 'I8',
  u64: 'U64',
  u32: 'U32',
  u16: 'U16',
  u8: 'U8',
  bool: 'BOOL',
};

/** IEEE binary16 from its bits, by the formula (not a table, not src's decoder). */
export function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** bfloat16 from its bits: the upper half of an IEEE binary32, decoded by formula. */
export function bf16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0xff) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -133;
  return sign * (128 + m) * 2 ** (e - 134);
}

/** OCP float8 E4M3FN: no infinities, NaN = S.1111.111, max 448. */
export function e4m3FromBits(c: number): number {
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >> 3) & 0xf;
  const m = c & 0x7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (8 + m) * 2 ** (e - 10);
}

/** OCP float8 E5M2 (IEEE-like): Inf = S.11111.00, NaN = S.11111.xx, max 57344. */
export function e5m2FromBits(c: number): number {
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >> 2) & 0x1f;
  const m = c & 0x3;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -16;
  return sign * (4 + m) * 2 ** (e - 17);
}

/** float8 E4M3FNUZ (ONNX, from Graphcore's proposal): bias 8, no infinities, no −0; the one NaN is 0x80. */
export function e4m3fnuzFromBits(c: number): number {
  if (c === 0x80) return NaN;
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >> 3) & 0xf;
  const m = c & 0x7;
  if (e === 0) return sign * m * 2 ** -10;
  return sign * (8 + m) * 2 ** (e - 11);
}

/** float8 E5M2FNUZ: bias 16, no infinities, no −0; the one NaN is 0x80. */
export function e5m2fnuzFromBits(c: number): number {
  if (c === 0x80) return NaN;
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >> 2) & 0x1f;
  const m = c & 0x3;
  if (e === 0) return sign * m * 2 ** -17;
  return sign * (4 + m) * 2 ** (e - 18);
}

/** Exact values of little-endian stored elements. */
export function decode(bytes: Uint8Array, dtype: TestDType): Exact[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.length / SIZE[dtype]);
  const out: Exact[] = new Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'f64':
        out[i] = dv.getFloat64(i * 8, true);
        break;
      case 'f32':
        out[i] = dv.getFloat32(i * 4, true);
        break;
      case 'f16':
        out[i] = f16FromBits(dv.getUint16(i * 2, true));
        break;
      case 'bf16':
        out[i] = bf16FromBits(dv.getUint16(i * 2, true));
        break;
      case 'f8_e4m3':
        out[i] = e4m3FromBits(bytes[i]!);
        break;
      case 'f8_e5m2':
        out[i] = e5m2FromBits(bytes[i]!);
        break;
      case 'i64':
        out[i] = dv.getBigInt64(i * 8, true);
        break;
      case 'u64':
        out[i] = dv.getBigUint64(i * 8, true);
        break;
      case 'i32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'u32':
        out[i] = dv.getUint32(i * 4, true);
        break;
      case 'i16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'u16':
        out[i] = dv.getUint16(i * 2, true);
        break;
      case 'i8':
        out[i] = dv.getInt8(i);
        break;
      case 'u8':
        out[i] = bytes[i]!;
        break;
      case 'bool':
        out[i] = bytes[i]! !== 0 ? 1 : 0;
        break;
    }
  }
  return out;
}

/** Deterministic PRNG (mulberry32) with normals by Box–Muller. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  bits(count: number): bigint {
    let x = 0n;
    for (let k = 0; k < count; k += 16) x = (x << 16n) | BigInt(this.int(65536));
    return x & ((1n << BigInt(count)) - 1n);
  }
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
export function f64Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float64Array(values).buffer);
}
export function u16Bytes(bits: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(bits).buffer);
}

/**
 * Random bytes of `n` elements of `dtype`: normals for floats (from raw bit patterns for the
 * 16- and 8-bit floats, finite unless `specials`), the full range for integers, 0/1 for bool.
 */
export function randomBytes(dtype: TestDType, n: number, rng: Rng, specials = false): Uint8Array {
  const size = SIZE[dtype];
  const bytes = new Uint8Array(n * size);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'f64':
        dv.setFloat64(i * 8, rng.normal() * 3 + 0.5, true);
        break;
      case 'f32':
        dv.setFloat32(i * 4, rng.normal() * 2 - 0.25, true);
        break;
      case 'f16':
      case 'bf16': {
        // Random bit patterns, keeping exponents moderate (and finite unless specials).
        let h: number;
        const decodeBits = dtype === 'f16' ? f16FromBits : bf16FromBits;
        do {
          h = rng.int(65536);
        } while ((!specials && !Number.isFinite(decodeBits(h))) || (Number.isFinite(decodeBits(h)) && Math.abs(decodeBits(h)) > 1e6));
        dv.setUint16(i * 2, h, true);
        break;
      }
      case 'f8_e4m3':
      case 'f8_e5m2': {
        const decodeBits = dtype === 'f8_e4m3' ? e4m3FromBits : e5m2FromBits;
        let c: number;
        do c = rng.int(256);
        while (!specials && !Number.isFinite(decodeBits(c)));
        bytes[i] = c;
        break;
      }
      case 'i64':
        dv.setBigInt64(i * 8, BigInt.asIntN(64, rng.bits(64)), true);
        break;
      case 'u64':
        dv.setBigUint64(i * 8, rng.bits(64), true);
        break;
      case 'i32':
        dv.setInt32(i * 4, rng.int(2 ** 32) - 2 ** 31, true);
        break;
      case 'u32':
        dv.setUint32(i * 4, rng.int(2 ** 32), true);
        break;
      case 'i16':
        dv.setInt16(i * 2, rng.int(65536) - 32768, true);
        break;
      case 'u16':
        dv.setUint16(i * 2, rng.int(65536), true);
        break;
      case 'i8':
        dv.setInt8(i, rng.int(256) - 128);
        break;
      case 'u8':
        bytes[i] = rng.int(256);
        break;
      case 'bool':
        bytes[i] = rng.next() < 0.3 ? 1 : 0;
        break;
    }
  }
  return bytes;
}

/** The extreme values of each integer dtype, as stored bytes of one element each. */
export function integerExtremes(dtype: TestDType): Uint8Array {
  const size = SIZE[dtype];
  const values: bigint[] = dtype.startsWith('i')
    ? [-(1n << BigInt(size * 8 - 1)), (1n << BigInt(size * 8 - 1)) - 1n, -1n, 0n]
    : [0n, (1n << BigInt(size * 8)) - 1n, 1n, 0n];
  const bytes = new Uint8Array(values.length * size);
  values.forEach((v, i) => {
    let u = BigInt.asUintN(size * 8, v);
    for (let b = 0; b < size; b++) {
      bytes[i * size + b] = Number(u & 0xffn);
      u >>= 8n;
    }
  });
  return bytes;
}
