/**
 * TensorFlow frozen graphs (`.pb`, a GraphDef protocol buffer): the tensors are the `value`
 * attributes of `Const` nodes, named after their node, in the graph and in its function
 * library. A TensorProto holds its elements in `tensor_content` (raw little-endian bytes) or
 * in a packed typed field (float_val, int_val, half_val …); TensorFlow's rule that a single
 * typed value stands for every element is kept as a broadcast view. A SavedModel's
 * `saved_model.pb` is read the same way through its meta graphs; its variables (the
 * `variables/` tensor bundle) are not read, and a warning says so.
 */
import { DiffaiError } from '../../errors.js';
import { byteLength, type DType } from '../../dtypes.js';
import { RandomAccessFile } from '../../io/file.js';
import { type ProtoField, ProtoReader, WIRE_LEN, WIRE_VARINT } from '../../io/protobuf.js';
import { elementCount, packedValues } from '../protobuf-values.js';
import type { FormatReader, LeafValue, ModelDescription, TensorDescriptor } from '../types.js';
import { warningList } from '../warnings.js';
import { tensorList } from '../tensor-list.js';

/** DataType enum of tensorflow/core/framework/types.proto (reference types are +100). */
const TF_DTYPES: Record<number, DType> = {
  1: 'f32',
  2: 'f64',
  3: 'i32',
  4: 'u8',
  5: 'i16',
  6: 'i8',
  8: 'c64',
  9: 'i64',
  10: 'bool',
  14: 'bf16',
  17: 'u16',
  18: 'c128',
  19: 'f16',
  22: 'u32',
  23: 'u64',
  24: 'f8_e5m2',
  25: 'f8_e4m3',
};
const TF_TYPE_NAMES: Record<number, string> = {
  7: 'DT_STRING',
  11: 'DT_QINT8',
  12: 'DT_QUINT8',
  13: 'DT_QINT32',
  15: 'DT_QINT16',
  16: 'DT_QUINT16',
  20: 'DT_RESOURCE',
  21: 'DT_VARIANT',
};

/** TensorProto typed fields: packing and the dtypes each may hold. */
const TYPED_FIELDS: Record<number, { packing: 'fixed' | 'varint'; types: DType[] }> = {
  5: { packing: 'fixed', types: ['f32'] }, // float_val
  6: { packing: 'fixed', types: ['f64'] }, // double_val
  7: { packing: 'varint', types: ['i32', 'i16', 'i8', 'u8', 'u16'] }, // int_val
  9: { packing: 'fixed', types: ['c64'] }, // scomplex_val
  10: { packing: 'varint', types: ['i64'] }, // int64_val
  11: { packing: 'varint', types: ['bool'] }, // bool_val
  12: { packing: 'fixed', types: ['c128'] }, // dcomplex_val
  13: { packing: 'varint', types: ['f16', 'bf16'] }, // half_val
  16: { packing: 'varint', types: ['u32'] }, // uint32_val
  17: { packing: 'varint', types: ['u64'] }, // uint64_val
};

const MAX_RANK = 64;
/** Most elements one repeated value may fill. */
const MAX_FILLED = 1 << 28;
const MAX_NODES = 2_000_000;

interface Walk {
  proto: ProtoReader;
  tensors: TensorDescriptor[];
  names: Set<string>;
  leaves: Record<string, LeafValue>;
  warnings: string[];
  nodes: number;
}

export const tensorflowReader: FormatReader = {
  name: 'tensorflow',
  sniff(head: Uint8Array, path: string): boolean {
    // GraphDef starts with a NodeDef (field 1) whose name comes first; SavedModel with its schema version (field 1, varint).
    return /\.pb$/i.test(path) && head.length >= 2 && (head[0] === 0x0a || head[0] === 0x08);
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      return describeGraph(file);
    } finally {
      file.close();
    }
  },
};

function describeGraph(file: RandomAccessFile): ModelDescription {
  const savedModel = readHeadByte(file) === 0x08;
  const proto = new ProtoReader(file, savedModel ? 'TensorFlow SavedModel' : 'TensorFlow GraphDef');
  const w: Walk = {
    proto,
    tensors: tensorList(file.path),
    names: new Set(),
    leaves: Object.create(null) as Record<string, LeafValue>,
    warnings: warningList(),
    nodes: 0,
  };
  if (savedModel) {
    let graphs = 0;
    proto.fields(0, file.size, (f) => {
      if (f.number === 1) w.leaves.saved_model_schema_version = varintValue(proto, f);
      else if (f.number === 2) {
        proto.expect(f, WIRE_LEN);
        proto.fields(f.start, f.end, (m) => {
          if (m.number === 2 && m.wire === WIRE_LEN) {
            graphs++;
            readGraphDef(w, m);
          }
        });
      }
    });
    if (graphs === 0) proto.fail('no meta graph with a graph_def');
    w.warnings.push("SavedModel variables (the variables/ tensor bundle) are not read; only the graph's constants are compared");
  } else {
    readGraphDef(w, { number: 0, wire: WIRE_LEN, value: file.size, start: 0, end: file.size });
  }
  if (w.nodes === 0) throw new DiffaiError(file.path, `${proto.what}: no nodes (not a TensorFlow graph, or a truncated one)`);
  return { path: file.path, format: 'tensorflow', tensors: w.tensors, leaves: w.leaves, warnings: w.warnings };
}

function readHeadByte(file: RandomAccessFile): number {
  return file.size > 0 ? file.read(0, 1)[0]! : -1;
}

function varintValue(proto: ProtoReader, f: ProtoField): number {
  proto.expect(f, WIRE_VARINT);
  if (Number.isNaN(f.value)) proto.fail(`field ${f.number} at byte ${f.start} is out of range`);
  return f.value;
}

/** GraphDef: nodes (field 1), versions (4), and the function library's node definitions (2 → 1 → 3). */
function readGraphDef(w: Walk, g: ProtoField): void {
  const proto: ProtoReader = w.proto;
  proto.fields(g.start, g.end, (f) => {
    if (f.number === 1) readNode(w, f);
    else if (f.number === 4 && f.wire === WIRE_LEN)
      proto.fields(f.start, f.end, (v) => {
        if (v.number === 1) w.leaves['versions.producer'] = varintValue(proto, v);
        else if (v.number === 2) w.leaves['versions.min_consumer'] = varintValue(proto, v);
      });
    else if (f.number === 2 && f.wire === WIRE_LEN)
      proto.fields(f.start, f.end, (lib) => {
        if (lib.number === 1 && lib.wire === WIRE_LEN)
          proto.fields(lib.start, lib.end, (fn) => {
            if (fn.number === 3) readNode(w, fn);
          });
      });
  });
}

function readNode(w: Walk, f: ProtoField): void {
  const proto: ProtoReader = w.proto;
  proto.expect(f, WIRE_LEN);
  if (++w.nodes > MAX_NODES) proto.fail(`more than ${MAX_NODES} nodes`);
  let name = '';
  let op = '';
  let value: ProtoField | undefined;
  proto.fields(f.start, f.end, (n) => {
    if (n.number === 1) name = proto.string(n, 4096);
    else if (n.number === 2) op = proto.string(n, 256);
    else if (n.number === 5 && n.wire === WIRE_LEN) {
      let key = '';
      let attr: ProtoField | undefined;
      proto.fields(n.start, n.end, (e) => {
        if (e.number === 1) key = proto.string(e, 4096);
        else if (e.number === 2 && e.wire === WIRE_LEN) attr = e;
      });
      if (key === 'value' && attr)
        proto.fields(attr.start, attr.end, (a) => {
          if (a.number === 8 && a.wire === WIRE_LEN) value = a;
        });
    }
  });
  if (op !== 'Const' || !value) return;
  if (!name) proto.fail(`a Const node without a name at byte ${f.start}`);
  if (w.names.has(name)) {
    w.warnings.push(`node name '${name}' appears more than once; the first is compared`);
    return;
  }
  const t = readTensor(w, value, name);
  if (!t) return;
  w.names.add(name);
  w.tensors.push(t);
}

function readTensor(w: Walk, at: ProtoField, name: string): TensorDescriptor | undefined {
  const proto: ProtoReader = w.proto;
  const path = proto.file.path;
  const label = `tensor '${name}'`;
  let dataType = 0;
  const dims: number[] = [];
  let payload: ProtoField | undefined;
  proto.fields(at.start, at.end, (f) => {
    if (f.number === 1) dataType = varintValue(proto, f);
    else if (f.number === 2 && f.wire === WIRE_LEN)
      proto.fields(f.start, f.end, (s) => {
        if (s.number === 2 && s.wire === WIRE_LEN) {
          if (dims.length >= MAX_RANK) proto.fail(`${label} has more than ${MAX_RANK} dimensions`);
          let size = 0;
          proto.fields(s.start, s.end, (d) => {
            if (d.number === 1) size = varintValue(proto, d);
          });
          dims.push(size);
        } else if (s.number === 3 && s.wire === WIRE_VARINT && s.value !== 0) proto.fail(`${label} has an unknown rank`);
      });
    else if (f.number === 4 || TYPED_FIELDS[f.number]) {
      if (payload) proto.fail(`${label} has its values in more than one field`);
      if (f.wire !== WIRE_LEN) proto.fail(`${label}: field ${f.number} is not packed`);
      payload = f;
    }
  });
  if (dataType === 7) {
    w.warnings.push(`string tensor '${name}' is not compared`);
    return undefined;
  }
  const dtype = TF_DTYPES[dataType % 100];
  if (dtype === undefined) proto.fail(`${label} has element type ${TF_TYPE_NAMES[dataType % 100] ?? `DataType ${dataType}`}, which diffai does not read`);
  const numel = elementCount(proto, label, dims);
  const bytes = byteLength(dtype, numel);
  const desc: TensorDescriptor = { name, dtype, shape: dims, numel, byteOrder: 'little', source: { kind: 'file', path, offset: 0, length: 0 } };
  if (numel === 0) return desc;
  const values = payload as ProtoField | undefined; // assigned in the callback above
  if (!values) proto.fail(`${label} has ${numel} elements but no values`);
  const { start, end } = values;
  if (values.number === 4) {
    if (end - start !== bytes) proto.fail(`${label}: tensor_content holds ${end - start} bytes, but the shape needs ${bytes}`);
    desc.source = { kind: 'file', path, offset: start, length: bytes };
    return desc;
  }
  const typed = TYPED_FIELDS[values.number]!;
  if (!typed.types.includes(dtype)) proto.fail(`${label}: element type ${dtype} cannot be stored in field ${values.number}`);
  const { count, source } = packedValues(proto, label, dtype, typed.packing, start, end);
  if (count === numel) {
    desc.source = source;
  } else if (count === 1) {
    // TensorFlow's rule: one value stands for every element (bounded: each is visited).
    if (numel > MAX_FILLED) proto.fail(`${label}: one value filling ${numel} elements is over the ${MAX_FILLED}-element limit`);
    desc.source = source;
    desc.view = { offset: 0, strides: dims.map(() => 0) };
    if (source.kind === 'varint') proto.fail(`${label}: one packed ${dtype} value for ${numel} elements is not supported`);
  } else {
    proto.fail(`${label}: ${count} values for ${numel} elements (TensorFlow repeats the last value; diffai reads only full or single-value tensors)`);
  }
  return desc;
}
