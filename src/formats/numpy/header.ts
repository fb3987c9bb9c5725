/**
 * The .npy header: magic `\x93NUMPY`, version 1.0/2.0/3.0, a little-endian header length
 * (u16 for 1.0, u32 for 2.0/3.0) and a Python dict literal with `descr`, `fortran_order`
 * and `shape`. Parsed from a bounded prefix; the data is never read here.
 */
import type { DType } from '../../dtypes.js';
import { DiffaiError } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import type { ByteRegion } from '../../io/range.js';
import { contiguousStrides, fortranStrides, stridedOffset, type LeafValue } from '../types.js';

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Headers larger than this are refused (numpy itself refuses > 10,000 bytes by default). */
const MAX_HEADER = 1024 * 1024;
const MAX_NDIM = 64;

export type NpyKind = 'numeric' | 'unicode' | 'bytes' | 'object' | 'unsupported';

export interface NpyHeader {
  version: string;
  /** Offset of the array data from the start of the .npy bytes. */
  dataOffset: number;
  descr: string;
  kind: NpyKind;
  /** For numeric arrays. */
  dtype?: DType;
  byteOrder: 'little' | 'big';
  /** Bytes per element (for unicode: 4 × characters). */
  itemsize: number;
  fortran: boolean;
  shape: number[];
  numel: number;
  /** numel × itemsize; -1 for object arrays (a pickle of unknown length follows). */
  dataLength: number;
  /** Why a kind 'unsupported' array cannot be read. */
  reason?: string;
}

export function isNpyMagic(head: Uint8Array): boolean {
  if (head.length < 6) return false;
  for (let i = 0; i < 6; i++) if (head[i] !== NPY_MAGIC[i]) return false;
  return true;
}

/**
 * Parses the header of the .npy bytes that `r` gives access to; `what` prefixes messages
 * (e.g. `entry 'w.npy': `). Checks that the data the header promises fits in `r.size`
 * (`dataSize` overrides it, e.g. an npz entry's declared size for a compressed stream).
 */
export async function parseNpyHeader(r: ByteRegion, file: string, what: string, dataSize = r.size): Promise<NpyHeader> {
  const fail = (msg: string): never => {
    throw new DiffaiError(file, `${what}${msg}`);
  };
  if (dataSize < 10) fail(`not a .npy array: ${dataSize} bytes is too short for a header`);
  const pre = new ByteCursor(await r.read(0, 10), file, { what: `${what}.npy preamble` });
  if (!isNpyMagic(pre.bytesView(6, 'magic'))) fail('not a .npy array: missing the \\x93NUMPY magic');
  const major = pre.u8('major version');
  const minor = pre.u8('minor version');
  const version = `${major}.${minor}`;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) fail(`unsupported .npy format version ${version}`);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = pre.u16('header length');
    start = 10;
  } else {
    if (dataSize < 12) fail(`.npy version ${version} header truncated`);
    headerLen = new ByteCursor(await r.read(8, 4), file, { what: `${what}.npy preamble`, base: 8 }).u32('header length');
    start = 12;
  }
  if (start + headerLen > dataSize) {
    fail(`.npy header length ${headerLen} exceeds the ${dataSize} bytes available (truncated or not a .npy file)`);
  }
  if (headerLen > MAX_HEADER) fail(`.npy header length ${headerLen} exceeds the ${MAX_HEADER}-byte limit`);
  const raw = await r.read(start, headerLen);
  const text = raw.toString(major === 3 ? 'utf8' : 'latin1');
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    return fail(`malformed .npy header (${(e as Error).message}): ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (typeof dict !== 'object' || dict === null || !(dict instanceof Map)) {
    return fail(`malformed .npy header: expected a dict, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  for (const k of ['descr', 'fortran_order', 'shape']) {
    if (!dict.has(k)) fail(`malformed .npy header: missing key '${k}'`);
  }
  const fortranV = dict.get('fortran_order');
  if (typeof fortranV !== 'boolean') return fail(`malformed .npy header: fortran_order must be True or False`);
  const shapeV = dict.get('shape');
  if (!Array.isArray(shapeV)) return fail(`malformed .npy header: shape must be a tuple`);
  if (shapeV.length > MAX_NDIM) fail(`malformed .npy header: ${shapeV.length} dimensions (at most ${MAX_NDIM})`);
  const shape: number[] = [];
  for (const d of shapeV) {
    if (typeof d !== 'bigint' || d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail(`malformed .npy header: bad dimension ${String(d)} in shape`);
    }
    shape.push(Number(d));
  }
  const descrV = dict.get('descr');
  const dataOffset = start + headerLen;
  const available = dataSize - dataOffset;

  let kind: NpyKind;
  let dtype: DType | undefined;
  let byteOrder: 'little' | 'big' = 'little';
  let itemsize = 0;
  let reason: string | undefined;
  let descr: string;
  if (typeof descrV === 'string') {
    descr = descrV;
    const d = parseDescr(descrV);
    if (!d) return fail(`malformed .npy header: unknown dtype descr '${descrV}'`);
    ({ kind, dtype, byteOrder, itemsize, reason } = d);
  } else if (Array.isArray(descrV)) {
    descr = text.slice(0, 200);
    kind = 'unsupported';
    reason = 'a structured (record) dtype';
  } else {
    return fail(`malformed .npy header: descr must be a string or a list`);
  }

  // numel, checked against the bytes present before trusting it.
  let numel = 1;
  for (const d of shape) numel *= d;
  let dataLength = -1;
  if (kind !== 'object' && kind !== 'unsupported') {
    if (numel > 0 && itemsize > 0 && numel > available / itemsize) {
      fail(`shape [${shape.join(', ')}] of ${descr} needs ${bigMul(shape, itemsize)} bytes but only ${available} follow the header`);
    }
    dataLength = numel * itemsize;
  } else if (kind === 'unsupported' && itemsize > 0 && numel > available / itemsize) {
    fail(`shape [${shape.join(', ')}] of ${descr} needs ${bigMul(shape, itemsize)} bytes but only ${available} follow the header`);
  }
  return { version, dataOffset, descr, kind, dtype, byteOrder, itemsize, fortran: fortranV, shape, numel, dataLength, reason };
}

function bigMul(shape: number[], itemsize: number): string {
  let n = BigInt(itemsize);
  for (const d of shape) n *= BigInt(d);
  return n.toString();
}

interface DescrInfo {
  kind: NpyKind;
  dtype?: DType;
  byteOrder: 'little' | 'big';
  itemsize: number;
  reason?: string;
}

const NUMERIC: Record<string, DType> = {
  f2: 'f16',
  f4: 'f32',
  f8: 'f64',
  i1: 'i8',
  i2: 'i16',
  i4: 'i32',
  i8: 'i64',
  u1: 'u8',
  u2: 'u16',
  u4: 'u32',
  u8: 'u64',
  b1: 'bool',
  c8: 'c64',
  c16: 'c128',
};

/** The numpy `dtype.str` grammar: byte order, kind letter, item size (`<f4`, `|b1`, `>c16`, `<U5`, `|O`). */
export function parseDescr(descr: string): DescrInfo | undefined {
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)(\[\w+\])?$/.exec(descr);
  if (!m) return undefined;
  const order = m[1] === '>' ? 'big' : 'little';
  const letter = m[2]!;
  const size = m[3] === '' ? -1 : Number(m[3]);
  if (letter === '?' && size === -1) return { kind: 'numeric', dtype: 'bool', byteOrder: 'little', itemsize: 1 };
  if (letter === 'O') return { kind: 'object', byteOrder: order, itemsize: 8 };
  if (size < 0) return undefined;
  const key = letter + String(size);
  const dtype = NUMERIC[key];
  if (dtype && m[4] === undefined) {
    return { kind: 'numeric', dtype, byteOrder: size === 1 ? 'little' : order, itemsize: size };
  }
  switch (letter) {
    case 'U':
      return { kind: 'unicode', byteOrder: order, itemsize: 4 * size };
    case 'S':
    case 'a':
      return { kind: 'bytes', byteOrder: 'little', itemsize: size };
    case 'V':
      return { kind: 'unsupported', byteOrder: order, itemsize: size, reason: 'a void (raw bytes) dtype' };
    case 'M':
    case 'm':
      return { kind: 'unsupported', byteOrder: order, itemsize: size, reason: `a datetime/timedelta dtype (${descr})` };
    case 'f':
    case 'c':
      if (size === 10 || size === 12 || size === 16 || size === 20 || size === 24 || size === 32) {
        return { kind: 'unsupported', byteOrder: order, itemsize: size, reason: `an extended-precision dtype (${descr})` };
      }
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Decodes a string array (kind 'unicode' or 'bytes') into a JSON-like leaf in logical order:
 * a string for 0-d, nested lists otherwise. Trailing NULs are stripped, as numpy does.
 */
export function decodeStringArray(h: NpyHeader, data: Buffer): LeafValue {
  const items: string[] = [];
  const c = new ByteCursor(data, '', { littleEndian: h.byteOrder !== 'big', what: 'string array' });
  for (let i = 0; i < h.numel; i++) {
    let s = '';
    if (h.kind === 'unicode') {
      for (let k = 0; k + 4 <= h.itemsize; k += 4) {
        const cp = c.u32('code point');
        if (cp > 0x10ffff) throw new Error('invalid code point');
        s += String.fromCodePoint(cp);
      }
    } else {
      s = c.latin1(h.itemsize, 'string', Infinity);
    }
    items.push(s.replace(/\0+$/, ''));
  }
  const strides = h.fortran ? fortranStrides(h.shape) : contiguousStrides(h.shape);
  return nest(h.shape, (idx) => items[stridedOffset(idx, strides)]!);
}

/** Builds nested lists over `shape` (C order) calling `at` for each index; a 0-d shape gives `at([])`. */
export function nest(shape: number[], at: (idx: number[]) => LeafValue): LeafValue {
  const idx: number[] = [];
  const rec = (k: number): LeafValue => {
    if (k === shape.length) return at(idx.slice());
    const out: LeafValue[] = [];
    for (let i = 0; i < shape[k]!; i++) {
      idx[k] = i;
      out.push(rec(k + 1));
    }
    return out;
  };
  return rec(0);
}

// ---------------------------------------------------------------------------------------
// A small, bounded parser of Python literals (dict, list, tuple, str, int, bool, None).

export type PyValue = null | boolean | bigint | number | string | PyValue[] | Map<string, PyValue>;

export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  let depth = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const err = (msg: string): never => {
    throw new Error(`${msg} at character ${i}`);
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === undefined) return err('unexpected end');
    if (c === '{' || c === '[' || c === '(') {
      if (++depth > 32) err('nesting too deep');
      const close = c === '{' ? '}' : c === '[' ? ']' : ')';
      i++;
      const map = new Map<string, PyValue>();
      const list: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        if (c === '{') {
          const k = value();
          if (typeof k !== 'string') err('dict keys must be strings');
          ws();
          if (text[i] !== ':') err("expected ':'");
          i++;
          map.set(k as string, value());
        } else {
          list.push(value());
        }
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) err(`expected ',' or '${close}'`);
      }
      depth--;
      return c === '{' ? map : list;
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') {
          const n = text[i + 1];
          i += 2;
          if (n === 'n') s += '\n';
          else if (n === 't') s += '\t';
          else if (n === '\\' || n === "'" || n === '"') s += n;
          else err('unsupported escape in string');
        } else {
          s += text[i++];
        }
      }
      if (text[i] !== c) err('unterminated string');
      i++;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i, i + 40));
    if (!m) return err('unexpected token');
    i += m[0].length;
    if (m[1] !== undefined) return BigInt(m[1]);
    return m[2] === 'True' ? true : m[2] === 'False' ? false : null;
  };
  const v = value();
  ws();
  if (i !== text.length) err('trailing characters');
  return v;
}
