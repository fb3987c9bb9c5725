/**
 * A slow, obviously-correct decoder of a (small) tensor descriptor into JS numbers in
 * logical C order. Not for production statistics (the engine does those): it is the
 * reference path the format tests use to check offsets, strides, byte order and
 * compressed-stream skips, and a debugging aid.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { byteLength } from '../../src/dtypes.js';
import { storedDtype, type ByteSource, type FormatReader, type ModelDescription, type TensorDescriptor } from '../../src/formats/types.js';
import { bf16FromBits, e4m3FromBits, e4m3fnuzFromBits, e5m2FromBits, e5m2fnuzFromBits, f16FromBits } from './dtypes.js';
import { expectDescribeFailure } from './failure.js';

/** The bytes a ByteSource points at (reads the whole file: small test files only). */
export function readSourceBytes(src: ByteSource): Buffer {
  const file = readFileSync(src.path);
  if (src.kind === 'file') {
    if (src.offset + src.length > file.length) throw new Error(`source ${src.offset}+${src.length} beyond file of ${file.length}`);
    return file.subarray(src.offset, src.offset + src.length);
  }
  if (src.kind === 'varint' || src.kind === 'chunked') throw new Error(`${src.kind} sources are not decoded here`);
  const comp = file.subarray(src.offset, src.offset + src.compressedLength);
  const out = src.format === 'raw' ? inflateRawSync(comp) : inflateSync(comp);
  if (src.skip + src.length > out.length) throw new Error(`inflated stream of ${out.length} bytes too short for ${src.skip}+${src.length}`);
  return out.subarray(src.skip, src.skip + src.length);
}

/** Decodes the storage element `i` of `buf`; complex gives [re, im]. */
function element(buf: Buffer, dtype: TensorDescriptor['dtype'], le: boolean, i: number): number | [number, number] {
  const size = byteLength(dtype, 1);
  const o = i * size;
  switch (dtype) {
    case 'f64':
      return le ? buf.readDoubleLE(o) : buf.readDoubleBE(o);
    case 'f32':
      return le ? buf.readFloatLE(o) : buf.readFloatBE(o);
    case 'f16':
      return f16FromBits(le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    case 'bf16':
      return bf16FromBits(le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    case 'i64':
      return Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o));
    case 'u64':
      return Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
    case 'i32':
      return le ? buf.readInt32LE(o) : buf.readInt32BE(o);
    case 'u32':
      return le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
    case 'i16':
      return le ? buf.readInt16LE(o) : buf.readInt16BE(o);
    case 'u16':
      return le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
    case 'i8':
      return buf.readInt8(o);
    case 'f8_e4m3':
      return e4m3FromBits(buf.readUInt8(o));
    case 'f8_e5m2':
      return e5m2FromBits(buf.readUInt8(o));
    case 'f8_e4m3fnuz':
      return e4m3fnuzFromBits(buf.readUInt8(o));
    case 'f8_e5m2fnuz':
      return e5m2fnuzFromBits(buf.readUInt8(o));
    case 'u8':
      return buf.readUInt8(o);
    case 'bool':
      return buf.readUInt8(o) ? 1 : 0;
    case 'c64':
      return [le ? buf.readFloatLE(o) : buf.readFloatBE(o), le ? buf.readFloatLE(o + 4) : buf.readFloatBE(o + 4)];
    case 'c128':
      return [le ? buf.readDoubleLE(o) : buf.readDoubleBE(o), le ? buf.readDoubleLE(o + 8) : buf.readDoubleBE(o + 8)];
    default:
      throw new Error(`decodeTensor: ${dtype} is block-quantized; its values are checked against the GGUF generator's references`);
  }
}

/**
 * The tensor's elements in logical C order (applies `view`), at most `maxElements`. Without a
 * view the source must hold exactly the tensor; bool elements are 0 or 1.
 */
export function decodeTensor(t: TensorDescriptor, maxElements = 1 << 20): Array<number | [number, number]> {
  if (t.numel > maxElements) throw new Error(`${t.name}: ${t.numel} elements is over the ${maxElements} limit`);
  if (t.imagSource) {
    // Planar complex: decode each part as a real tensor and pair them up.
    const part = t.dtype === 'c64' ? 'f32' : 'f64';
    const { imagSource, ...rest } = t;
    const re = decodeTensor({ ...rest, dtype: part }, maxElements) as number[];
    const im = decodeTensor({ ...rest, dtype: part, source: imagSource }, maxElements) as number[];
    return re.map((r, i) => [r, im[i]!]);
  }
  const buf = readSourceBytes(t.source);
  const le = t.byteOrder === 'little';
  const stored = storedDtype(t);
  const size = byteLength(stored, 1);
  const out: Array<number | [number, number]> = [];
  if (!t.view && buf.length !== t.numel * size) throw new Error(`${t.name}: a ${buf.length}-byte source for ${t.numel} contiguous elements of ${size} bytes`);
  if (t.numel === 0) return out;
  const strides = t.view?.strides ?? cStrides(t.shape);
  const offset = t.view?.offset ?? 0;
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let n = 0; n < t.numel; n++) {
    let s = offset;
    for (let k = 0; k < idx.length; k++) s += idx[k]! * strides[k]!;
    if ((s + 1) * size > buf.length) throw new Error(`${t.name}: storage element ${s} is outside the ${buf.length}-byte source`);
    out.push(element(buf, stored, le, s));
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

// ---------------------------------------------------------------------------------------
// Checking a description against a generator's reference.json (see fixtures/generate_numpy_matlab.py).

export interface RefStats {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  nan_count: number;
  posinf_count: number;
  neginf_count: number;
  zero_count: number;
  l2_norm: number;
}
export type RefValue = number | string | [RefValue, RefValue];
export interface RefTensor {
  dtype: string;
  shape: number[];
  stats: RefStats | { real: RefStats; imag: RefStats };
  values?: RefValue[];
}
export interface RefFile {
  tensors?: Record<string, RefTensor>;
  leaves?: Record<string, unknown>;
  warnings?: number | string[];
  error?: string;
}

function refNumber(v: RefValue): number | [number, number] {
  if (Array.isArray(v)) return [refNumber(v[0]) as number, refNumber(v[1]) as number];
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v as number;
}

/** float64 statistics over finite values (two-pass, population std; `count` of them), as the generators compute them. */
export function referenceStats(xs: number[]): RefStats & { count: number } {
  let n = 0,
    sum = 0,
    min = Infinity,
    max = -Infinity,
    nan = 0,
    pinf = 0,
    ninf = 0,
    zero = 0,
    sq = 0;
  for (const x of xs) {
    if (Number.isNaN(x)) nan++;
    else if (x === Infinity) pinf++;
    else if (x === -Infinity) ninf++;
    else {
      n++;
      sum += x;
      sq += x * x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    if (x === 0) zero++;
  }
  const mean = n ? sum / n : null;
  let m2 = 0;
  if (mean !== null) for (const x of xs) if (Number.isFinite(x)) m2 += (x - mean) ** 2;
  return {
    mean,
    std: n ? Math.sqrt(m2 / n) : null,
    min: n ? min : null,
    max: n ? max : null,
    nan_count: nan,
    posinf_count: pinf,
    neginf_count: ninf,
    zero_count: zero,
    l2_norm: Math.sqrt(sq),
    count: n,
  };
}

function closeTo(a: number | null, b: number | null, rel: number): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) < 1e-12;
}

function statProblems(got: RefStats, want: RefStats, what: string, rel: number): string[] {
  const out: string[] = [];
  for (const k of ['mean', 'std', 'min', 'max', 'l2_norm'] as const) {
    if (!closeTo(got[k], want[k], rel)) out.push(`${what}: ${k} ${got[k]} != ${want[k]}`);
  }
  for (const k of ['nan_count', 'posinf_count', 'neginf_count', 'zero_count'] as const) {
    if (got[k] !== want[k]) out.push(`${what}: ${k} ${got[k]} != ${want[k]}`);
  }
  return out;
}

/** Decodes the tensor from the bytes its descriptor points at and lists where it differs from the reference. */
export function tensorProblems(t: TensorDescriptor, ref: RefTensor, what: string, rel = 1e-9): string[] {
  const out: string[] = [];
  if (t.dtype !== ref.dtype) out.push(`${what}: dtype ${t.dtype} != ${ref.dtype}`);
  if (JSON.stringify(t.shape) !== JSON.stringify(ref.shape)) out.push(`${what}: shape [${t.shape}] != [${ref.shape}]`);
  if (t.numel !== ref.shape.reduce((a, b) => a * b, 1)) out.push(`${what}: numel ${t.numel}`);
  if (out.length) return out;
  let vals: Array<number | [number, number]>;
  try {
    vals = decodeTensor(t);
  } catch (e) {
    return [`${what}: cannot decode: ${(e as Error).message}`];
  }
  if (ref.values) {
    ref.values.forEach((rv, i) => {
      const w = refNumber(rv);
      const g = vals[i]!;
      const same = (a: number, b: number): boolean => (Number.isNaN(a) ? Number.isNaN(b) : a === b);
      const ok = Array.isArray(w) ? Array.isArray(g) && same(w[0], g[0]) && same(w[1], g[1]) : !Array.isArray(g) && same(w, g);
      if (!ok) out.push(`${what}[${i}]: ${JSON.stringify(g)} != ${JSON.stringify(rv)}`);
    });
  }
  if ('real' in ref.stats) {
    out.push(...statProblems(referenceStats(vals.map((v) => (v as number[])[0]!)), ref.stats.real, `${what}.real`, rel));
    out.push(...statProblems(referenceStats(vals.map((v) => (v as number[])[1]!)), ref.stats.imag, `${what}.imag`, rel));
  } else {
    out.push(...statProblems(referenceStats(vals as number[]), ref.stats, what, rel));
  }
  return out;
}

/** Lists every difference between a description and its reference entry (names, tensors, leaves, warning count). */
export function descriptionProblems(d: ModelDescription, ref: RefFile, what: string): string[] {
  const out: string[] = [];
  const names = d.tensors.map((t) => t.name).sort();
  const want = Object.keys(ref.tensors ?? {}).sort();
  if (JSON.stringify(names) !== JSON.stringify(want)) out.push(`${what}: tensors [${names}] != [${want}]`);
  if (new Set(names).size !== names.length) out.push(`${what}: duplicate tensor names`);
  for (const t of d.tensors) {
    const r = ref.tensors?.[t.name];
    if (r) out.push(...tensorProblems(t, r, `${what}:${t.name}`));
  }
  if (JSON.stringify(Object.entries(d.leaves).sort()) !== JSON.stringify(Object.entries(ref.leaves ?? {}).sort())) {
    out.push(`${what}: leaves ${JSON.stringify(d.leaves)} != ${JSON.stringify(ref.leaves ?? {})}`);
  }
  if (typeof ref.warnings !== 'object' && d.warnings.length !== (ref.warnings ?? 0)) {
    out.push(`${what}: ${d.warnings.length} warnings (${d.warnings.join(' | ')}), expected ${ref.warnings ?? 0}`);
  }
  return out;
}

/**
 * The tests of a fixture folder against its generator's reference.json (`ref`): the folder
 * holds exactly the files listed (and reference.json); each is sniffed by its reader, then a
 * file with an `error` fails with a one-line DiffaiError naming it and containing the error,
 * and any other describes with `format(file)`, its own path, and no `descriptionProblems`.
 */
export function itMatchesReference(
  dir: string,
  ref: Record<string, RefFile>,
  readerFor: (file: string) => FormatReader,
  format: (file: string) => string,
): void {
  const files = Object.keys(ref).sort();
  it('covers every fixture file', () => {
    expect(
      readdirSync(dir)
        .filter((f) => f !== 'reference.json')
        .sort(),
    ).toEqual(files);
  });
  for (const file of files) {
    const r = ref[file]!;
    const path = join(dir, file);
    const reader = readerFor(file);
    it(r.error !== undefined ? `${file} fails with a clear DiffaiError` : `${file} describes as the reference says`, async () => {
      expect(reader.sniff(readFileSync(path).subarray(0, 64), path)).toBe(true);
      if (r.error !== undefined) {
        await expectDescribeFailure(reader, path, r.error);
      } else {
        const d = await reader.describe(path);
        expect(d.format).toBe(format(file));
        expect(d.path).toBe(path);
        expect(descriptionProblems(d, r, file)).toEqual([]);
      }
    });
  }
}
