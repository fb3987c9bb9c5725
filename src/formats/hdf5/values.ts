/**
 * Small HDF5 values read whole: attribute values (strings, fixed or variable-length through
 * the global heap, and numbers) for entries and for the names Keras and MATLAB keep in
 * attributes, and object references (MATLAB cells). Sizes are capped before reading.
 */
import type { ByteCursor } from '../../io/cursor.js';
import { MAX_LEAF_TEXT_BYTES } from '../leaf-text.js';
import type { LeafValue } from '../types.js';
import type { Attribute, Hdf5File } from './objects.js';
import { readDataspace, readDatatype } from './types.js';

/** Most elements of an attribute turned into an entry, and bytes of one string. */
const MAX_VALUES = 4096;
const MAX_STRING = 1 << 20;

/** An attribute's value as an entry (a scalar or a list), or undefined for types not read. */
export function attributeValue(h: Hdf5File, a: Attribute): LeafValue | undefined {
  a.datatype.seek(0);
  a.dataspace.seek(0);
  a.data.seek(0);
  const type = readDatatype(h, a.datatype);
  const dims = readDataspace(h, a.dataspace);
  if (dims === undefined) return null;
  const count = dims.reduce((x, y) => x * y, 1);
  if (count > MAX_VALUES) return undefined;
  const values: LeafValue[] = [];
  for (let i = 0; i < count; i++) {
    switch (type.kind) {
      case 'string': {
        keepText(h, type.size);
        const raw = a.data.bytesView(type.size, 'string');
        const end = raw.indexOf(0);
        values.push(Buffer.from(raw.subarray(0, end >= 0 ? end : raw.length)).toString('utf8'));
        break;
      }
      case 'vlen-string':
        values.push(vlenString(h, a.data));
        break;
      case 'numeric':
        values.push(numberAt(a.data, type.dtype, type.byteOrder === 'little'));
        break;
      default:
        return undefined;
    }
  }
  return dims.length === 0 ? values[0]! : values;
}

/** Attribute strings count against the file's one text budget (many attributes can name one stored string). */
function keepText(h: Hdf5File, bytes: number): void {
  if (!h.leafText.take(bytes)) h.fail(`attribute strings hold more than ${MAX_LEAF_TEXT_BYTES} bytes in all`);
}

function numberAt(c: ByteCursor, dtype: string, le: boolean): LeafValue {
  c.littleEndian = le;
  switch (dtype) {
    case 'f64':
      return finite(c.f64());
    case 'f32':
      return finite(c.f32());
    case 'i8':
      return c.i8();
    case 'u8':
      return c.u8();
    case 'bool':
      return c.u8() !== 0;
    case 'i16':
      return c.i16();
    case 'u16':
      return c.u16();
    case 'i32':
      return c.i32();
    case 'u32':
      return c.u32();
    case 'i64':
      return Number(c.i64n());
    case 'u64':
      return Number(c.u64n());
    default:
      c.fail(`attribute of type ${dtype} is not read`);
  }
}

function finite(v: number): LeafValue {
  return Number.isFinite(v) ? v : String(v);
}

/** A variable-length string: its length, then a global heap collection address and object index. */
function vlenString(h: Hdf5File, c: ByteCursor): string {
  const length = c.u32('string length');
  const collection = h.offset(c, 'global heap address');
  const index = c.u32('global heap index');
  if (length === 0 || collection < 0) return '';
  if (length > MAX_STRING) c.fail(`a string of ${length} bytes is over the ${MAX_STRING}-byte limit`);
  keepText(h, length);
  return globalHeapObject(h, h.absolute(collection, 'global heap address'), index, length).toString('utf8');
}

function globalHeapObject(h: Hdf5File, at: number, index: number, length: number): Buffer {
  const head = h.cursor(at, 8 + h.lengthSize, 'global heap collection');
  if (head.ascii(4, 'signature') !== 'GCOL') head.fail('global heap collection without its GCOL signature');
  head.skip(4, 'version');
  const size = h.length(head, 'collection size');
  const c = h.cursor(at, size, 'global heap collection');
  c.skip(8 + h.lengthSize);
  while (c.remaining >= 8 + h.lengthSize) {
    const id = c.u16('object index');
    c.skip(6, 'reference count');
    const objectSize = h.length(c, 'object size');
    if (id === 0) break; // free space
    const data = c.buffer(objectSize, 'global heap object');
    if (id === index) {
      if (objectSize < length) c.fail(`global heap object ${index} holds ${objectSize} bytes, not ${length}`);
      return data.subarray(0, length);
    }
    c.align(8);
  }
  return h.fail(`global heap object ${index} not found`);
}

/** Object references (HDF5 class 7, object type): the absolute addresses they point at. */
export function objectReferences(h: Hdf5File, c: ByteCursor, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(h.address(c, 'object reference'));
  return out;
}
