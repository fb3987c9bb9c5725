/**
 * HDF5 datatype and dataspace messages → diffai dtypes and shapes. Numeric types map to our
 * dtypes (byte order kept), h5py's boolean enum to bool, a two-float compound (`r`/`i`,
 * `real`/`imag`) to complex; strings and references are recognised so attributes and MATLAB
 * cells can be read; anything else is reported by class name.
 */
import type { DType } from '../../dtypes.js';
import type { ByteCursor } from '../../io/cursor.js';
import type { Hdf5File } from './objects.js';

export type Hdf5Type =
  | { kind: 'numeric'; dtype: DType; size: number; byteOrder: 'little' | 'big' }
  | { kind: 'string'; size: number }
  | { kind: 'vlen-string' }
  | { kind: 'reference'; size: number }
  | { kind: 'other'; name: string; size: number };

const CLASS_NAMES = ['fixed-point', 'floating-point', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enum', 'variable-length', 'array'];
const MAX_COMPOUND_MEMBERS = 1024;
const MAX_ENUM_MEMBERS = 65_536;
const MAX_TYPE_DEPTH = 16;

export function readDatatype(h: Hdf5File, c: ByteCursor, depth = 0): Hdf5Type {
  if (depth > MAX_TYPE_DEPTH) c.fail(`datatypes nested more than ${MAX_TYPE_DEPTH} deep`);
  const head = c.u8('datatype class');
  const cls = head & 0x0f;
  const version = head >> 4;
  const b0 = c.u8('class bits');
  const b1 = c.u8('class bits');
  c.skip(1, 'class bits');
  /** Member count of enums and compounds (class bits 0–15). */
  const members16 = b0 | (b1 << 8);
  const size = c.u32('datatype size');
  const order = b0 & 1 ? 'big' : 'little';
  switch (cls) {
    case 0: {
      c.skip(4, 'fixed-point properties');
      const signed = (b0 & 0x08) !== 0;
      const dtype = ({ 1: signed ? 'i8' : 'u8', 2: signed ? 'i16' : 'u16', 4: signed ? 'i32' : 'u32', 8: signed ? 'i64' : 'u64' } as Record<number, DType>)[
        size
      ];
      return dtype ? { kind: 'numeric', dtype, size, byteOrder: order } : { kind: 'other', name: `${size}-byte integer`, size };
    }
    case 1: {
      if (b0 & 0x40) return { kind: 'other', name: 'VAX float', size };
      c.skip(4, 'bit offset and precision');
      c.skip(1, 'exponent location');
      const expSize = c.u8('exponent size');
      c.skip(1, 'mantissa location');
      const mantSize = c.u8('mantissa size');
      c.skip(4, 'exponent bias');
      const key = `${size}:${expSize}:${mantSize}`;
      const dtype = ({ '2:5:10': 'f16', '2:8:7': 'bf16', '4:8:23': 'f32', '8:11:52': 'f64' } as Record<string, DType>)[key];
      return dtype
        ? { kind: 'numeric', dtype, size, byteOrder: order }
        : { kind: 'other', name: `${size}-byte float (exponent ${expSize}, mantissa ${mantSize} bits)`, size };
    }
    case 3:
      return { kind: 'string', size };
    case 7:
      return { kind: 'reference', size };
    case 8: {
      const base = readDatatype(h, c, depth + 1);
      const count = members16;
      const members: string[] = [];
      if (count > MAX_ENUM_MEMBERS) c.fail(`enum with ${count} members`);
      for (let i = 0; i < count; i++) members.push(version >= 3 ? cString(c) : paddedName(c));
      if (base.kind === 'numeric' && count === 2 && members[0] === 'FALSE' && members[1] === 'TRUE' && base.size === 1)
        return { kind: 'numeric', dtype: 'bool', size: 1, byteOrder: 'little' };
      return base;
    }
    case 6: {
      const count = members16;
      if (count > MAX_COMPOUND_MEMBERS) c.fail(`compound with ${count} members`);
      const members: Array<{ name: string; offset: number; type: Hdf5Type }> = [];
      for (let i = 0; i < count; i++) {
        const name = version >= 3 ? cString(c) : paddedName(c);
        const offset = version >= 3 ? readVarSize(c, size) : c.u32('member offset');
        if (version === 1) c.skip(28, 'member dimensions');
        members.push({ name, offset, type: readDatatype(h, c, depth + 1) });
      }
      const [re, im] = members;
      if (
        members.length === 2 &&
        re!.type.kind === 'numeric' &&
        im!.type.kind === 'numeric' &&
        re!.type.dtype === im!.type.dtype &&
        re!.offset === 0 &&
        im!.offset === re!.type.size &&
        size === 2 * re!.type.size &&
        /^(r|real)$/i.test(re!.name) &&
        /^(i|imag)$/i.test(im!.name)
      ) {
        const part = re!.type.dtype;
        if (part === 'f32') return { kind: 'numeric', dtype: 'c64', size, byteOrder: re!.type.byteOrder };
        if (part === 'f64') return { kind: 'numeric', dtype: 'c128', size, byteOrder: re!.type.byteOrder };
      }
      return { kind: 'other', name: `compound of ${members.map((m) => m.name).join(', ')}`, size };
    }
    case 9:
      return (b0 & 0x0f) === 1 ? { kind: 'vlen-string' } : { kind: 'other', name: 'variable-length sequence', size };
    default:
      return { kind: 'other', name: CLASS_NAMES[cls] ?? `class ${cls}`, size };
  }
}

function cString(c: ByteCursor): string {
  const start = c.pos;
  const rest = c.bytesView(c.remaining, 'name');
  const end = rest.indexOf(0);
  if (end < 0 || end > 4096) c.fail('an unterminated member name');
  c.seek(start + end + 1);
  return Buffer.from(rest.subarray(0, end)).toString('utf8');
}

/** A null-terminated name padded to a multiple of 8 bytes. */
function paddedName(c: ByteCursor): string {
  const start = c.pos;
  const name = cString(c);
  c.seek(start + (((name.length + 1 + 7) >> 3) << 3), 'padded name');
  return name;
}

function readVarSize(c: ByteCursor, compoundSize: number): number {
  if (compoundSize < 256) return c.u8('member offset');
  if (compoundSize < 65_536) return c.u16('member offset');
  if (compoundSize < 16_777_216) return c.u16('member offset') + c.u8('member offset') * 65_536;
  return c.u32('member offset');
}

/** Dataspace: the dims (a scalar is []); undefined for a null dataspace. */
export function readDataspace(h: Hdf5File, c: ByteCursor): number[] | undefined {
  const version = c.u8('dataspace version');
  const rank = c.u8('rank');
  c.u8('flags');
  if (version === 1) c.skip(5, 'reserved');
  else if (version === 2) {
    const type = c.u8('dataspace type');
    if (type === 2) return undefined;
  } else c.fail(`dataspace version ${version}`);
  if (rank > 32) c.fail(`rank ${rank} is over 32`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(h.length(c, 'dimension size'));
  return dims;
}
