/**
 * MATLAB v7.3 MAT-files: HDF5 behind a 512-byte user block. Each root member is a variable;
 * its `MATLAB_class` attribute says what it is. Numeric and logical arrays are datasets
 * whose HDF5 dimensions are MATLAB's reversed (MATLAB is column-major), so a variable gets
 * MATLAB's shape and a column-major view, exactly as the v5 reader gives it; complex arrays
 * (a `real`/`imag` compound) are one complex tensor; structs are groups (`s.field`); cells are
 * datasets of object references into `#refs#` (`c.0`, `c.1` … in column-major order); sparse
 * arrays are groups of `data`/`ir`/`jc`; char arrays are entries; empty arrays store their
 * dimensions instead of data.
 */
import type { DType } from '../../dtypes.js';
import type { RandomAccessFile } from '../../io/file.js';
import { datasetInfo, describeDataset } from '../hdf5/dataset.js';
import { attributes, groupMembers, Hdf5File } from '../hdf5/objects.js';
import { MAX_DEPTH, MAX_OBJECTS } from '../hdf5/reader.js';
import { attributeValue, objectReferences } from '../hdf5/values.js';
import { fortranView, type LeafValue, type ModelDescription, type TensorDescriptor } from '../types.js';
import { warningList } from '../warnings.js';
import { chargeName, tensorList } from '../tensor-list.js';
import { MAX_LEAF_TEXT_BYTES } from '../leaf-text.js';

const CLASS_DTYPES: Record<string, DType> = {
  double: 'f64',
  single: 'f32',
  int8: 'i8',
  uint8: 'u8',
  int16: 'i16',
  uint16: 'u16',
  int32: 'i32',
  uint32: 'u32',
  int64: 'i64',
  uint64: 'u64',
  logical: 'bool',
};
/** Char arrays larger than this are skipped rather than made entries (as in the v5 reader). */
const MAX_CHAR_UNITS = 65_536;
/** Most elements of one cell array. */
const MAX_CELL = 1_000_000;

interface Walk {
  h: Hdf5File;
  desc: ModelDescription;
  objects: number;
}

export function describeMat73(file: RandomAccessFile): ModelDescription {
  const h = new Hdf5File(file, 'MATLAB 7.3 MAT-file (HDF5)');
  const desc: ModelDescription = {
    path: file.path,
    format: 'matlab',
    tensors: tensorList(file.path),
    leaves: Object.create(null) as Record<string, LeafValue>,
    warnings: warningList(),
  };
  const w: Walk = { h, desc, objects: 0 };
  for (const m of groupMembers(h, h.rootAddress)) {
    if (m.name.startsWith('#')) continue; // #refs# (cell contents) and #subsystem# (objects)
    variable(w, m.name, m.address, 0);
  }
  return desc;
}

function matlabAttributes(w: Walk, address: number): Map<string, LeafValue> {
  const out = new Map<string, LeafValue>();
  for (const a of attributes(w.h, address)) {
    if (!a.name.startsWith('MATLAB_')) continue;
    const v = attributeValue(w.h, a);
    if (v !== undefined) out.set(a.name, v);
  }
  return out;
}

function variable(w: Walk, name: string, address: number, depth: number): void {
  const { h, desc } = w;
  if (depth > MAX_DEPTH) h.fail(`cells/structs nested more than ${MAX_DEPTH} deep`);
  if (++w.objects > MAX_OBJECTS) h.fail(`more than ${MAX_OBJECTS} objects`);
  const attrs = matlabAttributes(w, address);
  const cls = String(attrs.get('MATLAB_class') ?? '');
  const info = datasetInfo(h, address);
  if (!info) {
    // A group: a struct, a sparse array, or an object MATLAB keeps in #subsystem#.
    if (attrs.has('MATLAB_sparse')) {
      sparse(w, name, address);
      return;
    }
    if (cls !== 'struct' && cls !== '') desc.warnings.push(`${name}: MATLAB object of class '${cls}' read as a struct`);
    for (const m of groupMembers(h, address)) if (!m.name.startsWith('#')) variable(w, `${name}.${m.name}`, m.address, depth + 1);
    return;
  }
  const shape = [...info.dims].reverse();
  if (attrs.get('MATLAB_empty')) {
    desc.tensors.push(emptyTensor(w, name, address, cls));
    return;
  }
  if (cls === 'cell') {
    if (info.type.kind !== 'reference') h.fail(`${name}: a cell array whose elements are not object references`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_CELL) h.fail(`${name}: cell array of ${count} elements is over the ${MAX_CELL} limit`);
    const refs = objectReferences(h, smallData(w, name, address, count * h.offsetSize), count);
    refs.forEach((at, i) => {
      variable(w, `${name}.${i}`, at, depth + 1);
    });
    return;
  }
  if (cls === 'char') {
    chargeName(desc.tensors, name);
    desc.leaves[name] = chars(w, name, address, shape);
    return;
  }
  if (cls === 'function_handle' || cls === '' || info.type.kind !== 'numeric') {
    desc.warnings.push(`${name}: MATLAB ${cls || 'value'} skipped; not supported`);
    return;
  }
  const t = describeDataset(h, address, name, info);
  const dtype = CLASS_DTYPES[cls];
  if (dtype && dtype !== t.dtype && !t.dtype.startsWith('c')) {
    if (dtype === 'bool' && t.dtype === 'u8') t.dtype = 'bool';
    else {
      t.storedAs = t.dtype;
      t.dtype = dtype;
      t.notes = [`MATLAB class ${cls} stored as ${t.storedAs}`];
    }
  }
  t.shape = shape;
  const view = fortranView(shape);
  if (view) t.view = view;
  desc.tensors.push(t);
}

/** The bytes of a small contiguous or compact dataset. */
function smallData(w: Walk, name: string, address: number, bytes: number) {
  const info = datasetInfo(w.h, address)!;
  const size = 'size' in info.type ? info.type.size : 0;
  const dtype = ({ 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' } as Record<number, DType>)[size];
  if (!dtype) w.h.fail(`${name}: elements of ${size} bytes`);
  // The elements read as plain integers of their size, to locate their bytes.
  const probe: TensorDescriptor = describeDataset(w.h, address, name, { dims: info.dims, type: { kind: 'numeric', dtype, size, byteOrder: 'little' } });
  const src = probe.source;
  if (src.kind !== 'file' || src.length < bytes) w.h.fail(`${name}: its ${bytes} bytes of references or dimensions are not stored contiguously`);
  return w.h.cursor(src.offset, bytes, `${name} data`);
}

/** An empty array: its dataset holds MATLAB's dimensions (uint64) instead of elements. */
function emptyTensor(w: Walk, name: string, address: number, cls: string): TensorDescriptor {
  const info = datasetInfo(w.h, address)!;
  const count = info.dims.reduce((a, b) => a * b, 1);
  const dims: number[] = [];
  if (count <= 32 && info.type.kind === 'numeric' && info.type.size === 8) {
    const c = smallData(w, name, address, count * 8);
    for (let i = 0; i < count; i++) dims.push(c.u64('dimension'));
  }
  const shape = dims.length ? dims : [0, 0];
  return { name, dtype: CLASS_DTYPES[cls] ?? 'f64', shape, numel: 0, source: { kind: 'file', path: w.h.file.path, offset: 0, length: 0 }, byteOrder: 'little' };
}

function chars(w: Walk, name: string, address: number, shape: number[]): LeafValue {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_CHAR_UNITS) {
    w.desc.warnings.push(`${name}: char array [${shape.join(', ')}] skipped (over ${MAX_CHAR_UNITS} characters)`);
    return null;
  }
  if (!w.h.leafText.take(count * 2)) {
    w.desc.warnings.push(`${name}: char array [${shape.join(', ')}] skipped (the file's char arrays are over ${MAX_LEAF_TEXT_BYTES} bytes)`);
    return null;
  }
  const bytes = smallData(w, name, address, count * 2).bytesView(count * 2, 'chars');
  const units = new Uint16Array(count);
  for (let i = 0; i < count; i++) units[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
  const [rows = 1] = shape;
  const cols = rows === 0 ? 0 : count / rows;
  if (rows === 1) return fromUnits(units);
  // Column-major: row r is units r, r+rows, r+2·rows …
  const line = new Uint16Array(cols);
  return Array.from({ length: rows }, (_, r) => {
    for (let j = 0; j < cols; j++) line[j] = units[r + j * rows]!;
    return fromUnits(line);
  });
}

/** UTF-16 code units as a string, unpaired surrogates kept (a char array hard-linked 200× made 200 × 64 Ki of them). */
function fromUnits(units: Uint16Array): string {
  let out = '';
  for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode.apply(null, units.subarray(i, i + 8192) as unknown as number[]);
  return out;
}

/** A sparse matrix: a group holding `data` (nonzeros), `ir` (row indices) and `jc` (column starts). */
function sparse(w: Walk, name: string, address: number): void {
  const members = new Map(groupMembers(w.h, address).map((m) => [m.name, m.address]));
  for (const part of ['data', 'ir', 'jc']) {
    const at = members.get(part);
    if (at === undefined) continue; // an all-zero sparse matrix has no data/ir
    const info = datasetInfo(w.h, at);
    if (!info) w.h.fail(`${name}.${part}: not a dataset`);
    const t = describeDataset(w.h, at, `${name}.${part}`, info);
    t.shape = [t.numel];
    w.desc.tensors.push(t);
  }
}
