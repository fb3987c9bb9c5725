/**
 * MATLAB Level 5 MAT-files (v5, v6, v7): the 128-byte header, then miMATRIX elements, each
 * possibly wrapped in an miCOMPRESSED (zlib) element. Only headers are read: the data of a
 * numeric array is described in place (a file range) or as a zlib stream with a `skip`.
 *
 * Naming: variables keep their names; struct fields are `var.field` (`var.<i>.field` for
 * struct arrays), cell elements `var.<i>` (0-based, MATLAB's column-major linear order).
 * Complex arrays (real and imaginary parts stored as separate blocks) become two tensors
 * `var.real` and `var.imag`. Sparse matrices become `var.data` (the stored nonzeros),
 * `var.ir` (row indices) and `var.jc` (column starts). Char arrays are leaves.
 * Arrays are column-major: each tensor carries a view so that its logical (C-order) index
 * (i, j, …) is MATLAB's A(i+1, j+1, …).
 * Version 7.3 files are HDF5 and are read by v73.ts.
 */
import { byteLength, type DType } from '../../dtypes.js';
import { DiffaiError } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import { RandomAccessFile } from '../../io/file.js';
import { InflatedRegion } from '../../io/inflate.js';
import { FileRegion, readRange, type ByteRegion } from '../../io/range.js';
import { describeMat73 } from './v73.js';
import { fortranStrides, fortranView, stridedOffset, type FormatReader, type LeafValue, type ModelDescription, type TensorDescriptor } from '../types.js';
import { nest } from '../numpy/header.js';
import { warningList } from '../warnings.js';
import { chargeName, tensorList } from '../tensor-list.js';
import { LeafTextBudget, MAX_LEAF_TEXT_BYTES } from '../leaf-text.js';

const miINT8 = 1,
  miUINT8 = 2,
  miINT16 = 3,
  miUINT16 = 4,
  miINT32 = 5,
  miUINT32 = 6;
const miMATRIX = 14,
  miCOMPRESSED = 15,
  miUTF8 = 16,
  miUTF16 = 17,
  miUTF32 = 18;

const MI_DTYPE: Record<number, DType> = {
  1: 'i8',
  2: 'u8',
  3: 'i16',
  4: 'u16',
  5: 'i32',
  6: 'u32',
  7: 'f32',
  9: 'f64',
  12: 'i64',
  13: 'u64',
};

const mxCELL = 1,
  mxSTRUCT = 2,
  mxOBJECT = 3,
  mxCHAR = 4,
  mxSPARSE = 5,
  mxFUNCTION = 16,
  mxOPAQUE = 17;
const MX_NUMERIC: Record<number, { cls: string; dtype: DType }> = {
  6: { cls: 'double', dtype: 'f64' },
  7: { cls: 'single', dtype: 'f32' },
  8: { cls: 'int8', dtype: 'i8' },
  9: { cls: 'uint8', dtype: 'u8' },
  10: { cls: 'int16', dtype: 'i16' },
  11: { cls: 'uint16', dtype: 'u16' },
  12: { cls: 'int32', dtype: 'i32' },
  13: { cls: 'uint32', dtype: 'u32' },
  14: { cls: 'int64', dtype: 'i64' },
  15: { cls: 'uint64', dtype: 'u64' },
};

const HEADER = 128;
const MAX_NAME = 4096;
const MAX_DIMS = 64;
const MAX_CHAR_LEAF_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;
/** Most elements of one cell or struct array (each needs its own sub-element). */
const MAX_CHILDREN = 1_000_000;
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Tag {
  type: number;
  nbytes: number;
  pos: number;
  /** Where the data starts (pos+4 for the small data element format). */
  dataPos: number;
  /** Where the next element starts (data padded to 8 bytes). */
  next: number;
  inline?: Buffer;
}

function looksLikeMatHeader(head: Uint8Array): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 20)).toString('latin1');
  return /^MATLAB \d\.\d MAT-file/.test(text);
}

class MatParser {
  private readonly le: boolean;
  readonly desc: ModelDescription;
  /** Char arrays kept as entries, across the file. */
  private readonly text = new LeafTextBudget();

  constructor(
    readonly path: string,
    littleEndian: boolean,
    desc: ModelDescription,
  ) {
    this.le = littleEndian;
    this.desc = desc;
  }

  fail(msg: string): never {
    throw new DiffaiError(this.path, msg);
  }

  /** A bounded cursor in the file's byte order over bytes read from an element. */
  cursor(b: Uint8Array, what: string): ByteCursor {
    return new ByteCursor(b, this.path, { littleEndian: this.le, what });
  }

  async tag(r: ByteRegion, pos: number, end: number, what: string, pad = true): Promise<Tag> {
    const w = what === '' ? '' : `${what}: `;
    if (pos + 8 > end) this.fail(`${w}element at byte ${pos} runs past the end of its container (${end}); truncated?`);
    const b = await r.read(pos, 8);
    const c = this.cursor(b, w === '' ? 'element tag' : `${what} element tag`);
    const first = c.u32('type');
    if (first >>> 16 !== 0) {
      // Small data element: type in the low 16 bits, byte count in the high 16, data inline.
      const nbytes = first >>> 16;
      if (nbytes > 4) this.fail(`${w}small data element at byte ${pos} claims ${nbytes} bytes (at most 4)`);
      return { type: first & 0xffff, nbytes, pos, dataPos: pos + 4, next: pos + 8, inline: b.subarray(4, 4 + nbytes) };
    }
    const nbytes = c.u32('byte count');
    const dataPos = pos + 8;
    if (dataPos + nbytes > end) {
      this.fail(`${w}element at byte ${pos} holds ${nbytes} bytes but only ${end - dataPos} remain (truncated?)`);
    }
    const next = pad ? Math.min(end, dataPos + nbytes + ((8 - (nbytes % 8)) % 8)) : dataPos + nbytes;
    return { type: first, nbytes, pos, dataPos, next };
  }

  async data(r: ByteRegion, t: Tag, max: number, what: string): Promise<Buffer> {
    if (t.inline) return t.inline;
    if (t.nbytes > max) this.fail(`${what}: element of ${t.nbytes} bytes is over the ${max}-byte limit`);
    return r.read(t.dataPos, t.nbytes);
  }

  /** Parses one miMATRIX whose contents are bytes [start, end) of `r`. `name` is set for cell/struct children. */
  async matrix(r: ByteRegion, start: number, end: number, name: string | undefined, depth: number): Promise<void> {
    if (depth > MAX_DEPTH) this.fail(`cells/structs nested more than ${MAX_DEPTH} deep`);
    if (end === start) return; // an empty placeholder (e.g. an unset cell element)
    const where = name ?? `variable at byte ${start}`;
    const ft = await this.tag(r, start, end, where);
    if (ft.type !== miUINT32 || ft.nbytes !== 8) this.fail(`${where}: array flags sub-element is missing or malformed (type ${ft.type}, ${ft.nbytes} bytes)`);
    const fb = await this.data(r, ft, 8, where);
    const flags = this.cursor(fb, `${where} array flags`).u32('flags');
    const cls = flags & 0xff;
    const isComplex = (flags & 0x800) !== 0;
    const isLogical = (flags & 0x200) !== 0;
    if (cls === mxOPAQUE) {
      // Opaque objects (string, table, datetime, classdef …): skipped. Find a name for the message,
      // leniently (the layout after the flags is not documented); the container size bounds it anyway.
      let full = name;
      if (full === undefined) {
        try {
          let t = await this.tag(r, ft.next, end, where);
          if (t.type === miINT32) t = await this.tag(r, t.next, end, where);
          if (t.type === miINT8) full = (await this.data(r, t, MAX_NAME, where)).toString('utf8').replace(/\0+$/, '');
        } catch {
          /* no name */
        }
      }
      if (full === '') this.desc.warnings.push('MATLAB subsystem data (class objects) skipped');
      else this.desc.warnings.push(`${full ?? where}: MATLAB opaque object (string, table, classdef …) skipped; not supported`);
      return;
    }

    const dt = await this.tag(r, ft.next, end, where);
    if (dt.type !== miINT32 || dt.nbytes % 4 !== 0 || dt.nbytes === 0)
      this.fail(`${where}: dimensions sub-element is malformed (type ${dt.type}, ${dt.nbytes} bytes)`);
    if (dt.nbytes / 4 > MAX_DIMS) this.fail(`${where}: ${dt.nbytes / 4} dimensions (at most ${MAX_DIMS})`);
    const db = await this.data(r, dt, MAX_DIMS * 4, where);
    const dims: number[] = [];
    const dc = this.cursor(db, `${where} dimensions`);
    for (let i = 0; i < dt.nbytes / 4; i++) {
      const d = dc.i32('dimension');
      if (d < 0) this.fail(`${where}: negative dimension ${d}`);
      dims.push(d);
    }
    const nt = await this.tag(r, dt.next, end, where);
    if (nt.type !== miINT8 && nt.type !== miUINT8) this.fail(`${where}: array name sub-element is malformed (type ${nt.type})`);
    const ownName = (await this.data(r, nt, MAX_NAME, where)).toString('utf8').replace(/\0+$/, '');
    const full = name ?? ownName;
    if (name === undefined && ownName === '') {
      this.desc.warnings.push('MATLAB subsystem data (class objects) skipped');
      return;
    }
    let pos = nt.next;
    const numel = dims.reduce((a, b) => a * b, 1);
    const shape = `[${dims.join(', ')}]`;

    if (MX_NUMERIC[cls]) {
      const cinfo = MX_NUMERIC[cls]!;
      const pr = await this.tag(r, pos, end, full);
      const real = this.numericTensor(r, pr, dims, numel, cinfo, isLogical, full, full);
      if (isComplex) {
        const pi = await this.tag(r, pr.next, end, full);
        const imag = this.numericTensor(r, pi, dims, numel, cinfo, isLogical, full, `${full}.imag`);
        this.desc.tensors.push(...planarComplex(real, imag, full));
      } else {
        this.desc.tensors.push(real);
      }
      return;
    }
    switch (cls) {
      case mxCHAR: {
        const t = await this.tag(r, pos, end, full);
        if (t.nbytes > MAX_CHAR_LEAF_BYTES) {
          this.desc.warnings.push(`${full}: char array ${shape} of ${t.nbytes} bytes skipped (over ${MAX_CHAR_LEAF_BYTES} bytes)`);
          return;
        }
        if (!this.text.take(t.nbytes)) {
          this.desc.warnings.push(`${full}: char array ${shape} of ${t.nbytes} bytes skipped (the file's char arrays are over ${MAX_LEAF_TEXT_BYTES} bytes)`);
          return;
        }
        const b = await this.data(r, t, MAX_CHAR_LEAF_BYTES, full);
        chargeName(this.desc.tensors, full);
        this.desc.leaves[full] = this.chars(b, t.type, dims, numel, full);
        return;
      }
      case mxCELL: {
        if (numel > (end - pos) / 8) this.fail(`${full}: cell ${shape} cannot fit in ${end - pos} bytes`);
        if (numel > MAX_CHILDREN) this.fail(`${full}: cell ${shape} has more than ${MAX_CHILDREN} elements`);
        for (let i = 0; i < numel; i++) {
          const t = await this.tag(r, pos, end, `${full}.${i}`);
          if (t.type !== miMATRIX) this.fail(`${full}.${i}: cell element is not an miMATRIX (type ${t.type})`);
          await this.matrix(r, t.dataPos, t.dataPos + t.nbytes, `${full}.${i}`, depth + 1);
          pos = t.next;
        }
        return;
      }
      case mxSTRUCT:
      case mxOBJECT: {
        if (cls === mxOBJECT) {
          const ct = await this.tag(r, pos, end, full);
          const className = (await this.data(r, ct, MAX_NAME, full)).toString('utf8').replace(/\0+$/, '');
          this.desc.warnings.push(`${full}: MATLAB object of class '${className}' read as a struct`);
          pos = ct.next;
        }
        const lt = await this.tag(r, pos, end, full);
        if (lt.type !== miINT32 || lt.nbytes !== 4) this.fail(`${full}: struct field name length sub-element is malformed`);
        const fieldLen = this.cursor(await this.data(r, lt, 4, full), `${full} field name length`).i32('length');
        const ft2 = await this.tag(r, lt.next, end, full);
        if (fieldLen <= 0 || ft2.nbytes % fieldLen !== 0)
          this.fail(`${full}: struct field names (${ft2.nbytes} bytes) do not split into ${fieldLen}-byte names`);
        const fb2 = await this.data(r, ft2, 1 << 20, full);
        const fields: string[] = [];
        for (let o = 0; o < ft2.nbytes; o += fieldLen) fields.push(fb2.toString('utf8', o, o + fieldLen).replace(/\0[\s\S]*$/, ''));
        pos = ft2.next;
        if (fields.length > 0 && numel > (end - pos) / 8 / fields.length) this.fail(`${full}: struct ${shape} cannot fit in ${end - pos} bytes`);
        if (numel * fields.length > MAX_CHILDREN) this.fail(`${full}: struct ${shape} with ${fields.length} fields has more than ${MAX_CHILDREN} values`);
        for (let i = 0; fields.length > 0 && i < numel; i++) {
          for (const f of fields) {
            const child = numel === 1 ? `${full}.${f}` : `${full}.${i}.${f}`;
            const t = await this.tag(r, pos, end, child);
            if (t.type !== miMATRIX) this.fail(`${child}: struct field is not an miMATRIX (type ${t.type})`);
            await this.matrix(r, t.dataPos, t.dataPos + t.nbytes, child, depth + 1);
            pos = t.next;
          }
        }
        return;
      }
      case mxSPARSE: {
        if (dims.length !== 2) this.fail(`${full}: sparse array with ${dims.length} dimensions`);
        const ir = await this.tag(r, pos, end, full);
        const jc = await this.tag(r, ir.next, end, full);
        const pr = await this.tag(r, jc.next, end, full);
        for (const [t, what] of [
          [ir, 'row indices (ir)'],
          [jc, 'column starts (jc)'],
        ] as const) {
          if (t.type !== miINT32 && t.type !== miUINT32) this.fail(`${full}: sparse ${what} have type ${t.type}, expected 32-bit integers`);
        }
        if (jc.nbytes !== 4 * (dims[1]! + 1)) this.fail(`${full}: sparse column starts hold ${jc.nbytes / 4} entries, expected ${dims[1]! + 1}`);
        const note = `sparse ${dims[0]}x${dims[1]} matrix (compressed sparse columns)`;
        const sparseTensor = (t: Tag, nm: string, what: string): TensorDescriptor => {
          const dtype = MI_DTYPE[t.type];
          if (!dtype) this.fail(`${full}: sparse ${what} have data type ${t.type}`);
          const size = byteLength(dtype, 1);
          if (t.nbytes % size !== 0) this.fail(`${full}: sparse ${what} hold ${t.nbytes} bytes, not a multiple of ${size}`);
          const n = t.nbytes / size;
          return {
            name: nm,
            dtype: isLogical && what === 'values' && dtype === 'u8' ? 'bool' : dtype,
            shape: [n],
            numel: n,
            source: r.source(t.dataPos, t.nbytes),
            byteOrder: size === 1 ? 'little' : this.le ? 'little' : 'big',
            notes: [`${note}: ${what}`],
          };
        };
        if (isComplex) {
          const pi = await this.tag(r, pr.next, end, full);
          this.desc.tensors.push(sparseTensor(pr, `${full}.data.real`, 'values'), sparseTensor(pi, `${full}.data.imag`, 'values'));
        } else {
          this.desc.tensors.push(sparseTensor(pr, `${full}.data`, 'values'));
        }
        this.desc.tensors.push(sparseTensor(ir, `${full}.ir`, 'row indices'), sparseTensor(jc, `${full}.jc`, 'column starts'));
        return;
      }
      case mxFUNCTION:
        this.desc.warnings.push(`${full}: MATLAB function handle skipped`);
        return;
      default:
        this.fail(`${full}: unknown MATLAB array class ${cls}`);
    }
  }

  numericTensor(
    r: ByteRegion,
    t: Tag,
    dims: number[],
    numel: number,
    cinfo: { cls: string; dtype: DType },
    logical: boolean,
    full: string,
    name: string,
  ): TensorDescriptor {
    const stored = MI_DTYPE[t.type];
    if (!stored) this.fail(`${full}: ${cinfo.cls} array data has unexpected element type ${t.type}`);
    const size = byteLength(stored, 1);
    if (numel * size !== t.nbytes) {
      this.fail(`${full}: dimensions [${dims.join(', ')}] need ${numel * size} bytes of ${stored} but the data element holds ${t.nbytes}`);
    }
    // The tensor has its MATLAB class's dtype; a narrower storage type is read and widened.
    const dtype: DType = logical ? 'bool' : cinfo.dtype;
    const desc: TensorDescriptor = {
      name,
      dtype,
      shape: dims,
      numel,
      ...(stored !== dtype && !(logical && stored === 'u8') ? { storedAs: stored } : {}),
      source: r.source(t.dataPos, t.nbytes),
      byteOrder: size === 1 ? 'little' : this.le ? 'little' : 'big',
    };
    const view = fortranView(dims);
    if (view) desc.view = view;
    if (!logical && stored !== cinfo.dtype) desc.notes = [`MATLAB class ${cinfo.cls} stored as ${stored}`];
    return desc;
  }

  /** A char array as a leaf: a string for a row, a list of rows for a matrix, nested lists for N-d. */
  chars(b: Buffer, type: number, dims: number[], numel: number, full: string): LeafValue {
    let units: string[];
    switch (type) {
      case miUTF8:
        units = Array.from(b.toString('utf8'));
        break;
      case miUTF16:
      case miUINT16:
      case miINT16: {
        units = [];
        const c = this.cursor(b, `${full} characters`);
        while (c.remaining >= 2) units.push(String.fromCharCode(c.u16('UTF-16 unit')));
        break;
      }
      case miUTF32:
      case miUINT32: {
        units = [];
        const c = this.cursor(b, `${full} characters`);
        while (c.remaining >= 4) {
          const cp = c.u32('code point');
          units.push(cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd');
        }
        break;
      }
      case miUINT8:
      case miINT8:
        units = Array.from(b.toString('latin1'));
        break;
      default:
        this.fail(`${full}: char array data has unexpected element type ${type}`);
    }
    if (units.length !== numel) return units.join('');
    if (numel === 0) return '';
    const [d0, d1] = [dims[0]!, dims[1] ?? 1];
    const rest = dims.slice(2);
    const page = (p: number): LeafValue => {
      const rows: string[] = [];
      for (let i = 0; i < d0; i++) {
        let s = '';
        for (let j = 0; j < d1; j++) s += units[p * d0 * d1 + i + d0 * j];
        rows.push(s);
      }
      return d0 === 1 ? rows[0]! : rows;
    };
    if (rest.every((d) => d === 1)) return page(0);
    const pageStrides = fortranStrides(rest);
    return nest(rest, (idx) => page(stridedOffset(idx, pageStrides)));
  }
}

export const matlabReader: FormatReader = {
  name: 'matlab',
  sniff(head: Uint8Array, path: string): boolean {
    if (looksLikeMatHeader(head)) return true;
    // Claim other *.mat files too, so that a broken one gets a MAT-file message.
    const other = head.length >= 4 && ((head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x93 || head[0] === 0x89);
    return /\.mat$/i.test(path) && !other;
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      const size = file.size;
      if (size < HEADER) throw new DiffaiError(path, `not a MAT-file: ${size} bytes is shorter than the 128-byte header`);
      const hdr = readRange(file, 0, HEADER, { what: 'MAT-file header' });
      const hc = new ByteCursor(hdr, path, { what: 'MAT-file header' });
      const text = hc.latin1(116, 'descriptive text');
      const hdf5At512 = size >= 520 && readRange(file, 512, 8, { what: 'HDF5 signature' }).equals(HDF5_SIGNATURE);
      const versionLE = hc.seek(124).u16('version');
      if (text.startsWith('MATLAB 7.3') || hdf5At512 || (versionLE === 0x0200 && text.startsWith('MATLAB'))) {
        if (!hdf5At512) throw new DiffaiError(path, 'MATLAB 7.3 MAT-file without its HDF5 signature at byte 512');
        return describeMat73(file);
      }
      if (!looksLikeMatHeader(hdr)) {
        throw new DiffaiError(path, `not a MATLAB v5 MAT-file: the header does not start with 'MATLAB 5.0 MAT-file' (MAT v4 files are not supported)`);
      }
      const ind = hc.seek(126).latin1(2, 'endian indicator');
      if (ind !== 'IM' && ind !== 'MI') {
        throw new DiffaiError(path, `bad endian indicator ${JSON.stringify(ind)} at bytes 126-127 (expected 'IM' or 'MI'); not a valid MAT-file`);
      }
      const le = ind === 'IM';
      const desc: ModelDescription = { path, format: 'matlab', tensors: tensorList(path), leaves: Object.create(null), warnings: warningList() };
      hc.littleEndian = le;
      const version = hc.seek(124).u16('version');
      if (version !== 0x0100) desc.warnings.push(`unexpected MAT-file version 0x${version.toString(16)} (expected 0x0100)`);
      const p = new MatParser(path, le, desc);
      const whole = new FileRegion(file, 0, size, '');
      let pos = HEADER;
      while (pos < size) {
        if (size - pos < 8) {
          const rest = readRange(file, pos, size - pos, { what: 'trailing bytes' });
          if (rest.some((x) => x !== 0)) desc.warnings.push(`${size - pos} trailing bytes after the last element ignored`);
          break;
        }
        const t = await p.tag(whole, pos, size, '', false);
        if (t.type === miMATRIX) {
          await p.matrix(whole, t.dataPos, t.dataPos + t.nbytes, undefined, 0);
        } else if (t.type === miCOMPRESSED) {
          const what = `compressed element at byte ${pos}: `;
          const inf = new InflatedRegion(file, t.dataPos, t.nbytes, 'zlib', what);
          try {
            const it = await p.tag(inf, 0, Infinity, `compressed element at byte ${pos}`);
            if (it.type !== miMATRIX) {
              desc.warnings.push(`compressed element at byte ${pos} holds element type ${it.type}, not an array; skipped`);
            } else {
              await p.matrix(inf, it.dataPos, it.dataPos + it.nbytes, undefined, 0);
            }
          } finally {
            inf.close();
          }
        } else {
          throw new DiffaiError(path, `unexpected element type ${t.type} at byte ${pos} (expected miMATRIX or miCOMPRESSED); corrupt MAT-file`);
        }
        pos = t.dataPos + t.nbytes;
      }
      const seen = new Set<string>();
      for (const t of desc.tensors) {
        if (seen.has(t.name)) throw new DiffaiError(path, `two arrays are both named '${t.name}'`);
        seen.add(t.name);
      }
      return desc;
    } finally {
      file.close();
    }
  },
};

/**
 * MATLAB stores a complex array's real and imaginary parts apart: one complex tensor whose
 * `source` holds the real parts and `imagSource` the imaginary ones, as NumPy's complex arrays
 * are one tensor. Complex integers (no complex integer dtype) and parts stored as different
 * types stay two tensors, `name.real` and `name.imag`.
 */
function planarComplex(real: TensorDescriptor, imag: TensorDescriptor, name: string): TensorDescriptor[] {
  const dtype = real.dtype === 'f32' ? 'c64' : real.dtype === 'f64' ? 'c128' : undefined;
  if (dtype && real.storedAs === imag.storedAs && real.byteOrder === imag.byteOrder) return [{ ...real, name, dtype, imagSource: imag.source }];
  return [
    { ...real, name: `${name}.real`, notes: [...(real.notes ?? []), 'complex: real part'] },
    { ...imag, name: `${name}.imag`, notes: [...(imag.notes ?? []), 'complex: imaginary part'] },
  ];
}
