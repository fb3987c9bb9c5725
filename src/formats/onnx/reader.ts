/**
 * ONNX (`.onnx`): a protocol-buffers ModelProto. Tensors are the graph's initializers and the
 * `value` tensors of Constant nodes, in the main graph and in control-flow subgraphs (If,
 * Loop, Scan bodies). The model's fields (ir_version, producer, opsets, metadata_props) are
 * entries. QuantizeLinear/DequantizeLinear models: each quantized initializer that a
 * DequantizeLinear node reads is linked to the float tensor it stands for, and with a
 * per-tensor scale its statistics are of the dequantized values. The protobuf is walked
 * with positional reads (src/io/protobuf.ts); element data stays in the file.
 */
import { DiffaiError } from '../../errors.js';
import { RandomAccessFile } from '../../io/file.js';
import { type ProtoField, ProtoReader, WIRE_LEN, WIRE_VARINT } from '../../io/protobuf.js';
import type { FormatReader, LeafValue, ModelDescription, TensorDescriptor } from '../types.js';
import { LeafTextBudget, MAX_LEAF_TEXT_BYTES, summarizedText } from '../leaf-text.js';
import { linkDequantized, type DequantizeNode } from './qdq.js';
import { checkExternalOverlaps, describeTensor, readTensorProto, STRING_TYPE } from './tensor.js';
import { warningList } from '../warnings.js';
import { tensorList } from '../tensor-list.js';

/** Subgraphs nest inside attributes of nodes; real models nest a few levels. */
const MAX_GRAPH_DEPTH = 32;
/** Most nodes read across all graphs: a large transformer export has some 10^5. */
const MAX_NODES = 2_000_000;
/** Most metadata_props entries: far above real models, so memory stays bounded (tensors: MAX_DESCRIBED_TENSORS). */
const MAX_METADATA = 100_000;
/** Most inputs/outputs of one node. */
const MAX_NODE_IO = 100_000;

interface Walk {
  proto: ProtoReader;
  modelPath: string;
  tensors: TensorDescriptor[];
  names: Set<string>;
  leaves: Record<string, LeafValue>;
  warnings: string[];
  dequantize: DequantizeNode[];
  nodes: number;
  metadata: number;
  /** Metadata text kept across the model (values; keys apart, as a key cannot be summarized). */
  text: LeafTextBudget;
  keyText: LeafTextBudget;
}

export const onnxReader: FormatReader = {
  name: 'onnx',
  sniff(head: Uint8Array, path: string): boolean {
    return looksLikeModelProto(head, /\.onnx$/i.test(path));
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      return describeOnnx(file);
    } finally {
      file.close();
    }
  },
};

/**
 * ModelProto has no magic: writers start with `ir_version` (field 1, a small varint) and
 * follow with a string or the graph. A file named .onnx need only start with a valid key.
 */
export function looksLikeModelProto(head: Uint8Array, namedOnnx: boolean): boolean {
  if (head.length < 2) return false;
  if (head[0] === 0x08 && head[1]! >= 1 && head[1]! <= 64) {
    if (head.length === 2) return true;
    return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(head[2]!);
  }
  return namedOnnx && [0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(head[0]!);
}

function describeOnnx(file: RandomAccessFile): ModelDescription {
  const proto = new ProtoReader(file, 'ONNX model');
  const w: Walk = {
    proto,
    modelPath: file.path,
    tensors: tensorList(file.path),
    names: new Set(),
    leaves: Object.create(null) as Record<string, LeafValue>,
    warnings: warningList(),
    dequantize: [],
    nodes: 0,
    metadata: 0,
    text: new LeafTextBudget(),
    keyText: new LeafTextBudget(),
  };
  let graphs = 0;
  proto.fields(0, file.size, (f) => {
    switch (f.number) {
      case 1:
        w.leaves.ir_version = varint(proto, f);
        break;
      case 2:
        w.leaves.producer_name = proto.string(f);
        break;
      case 3:
        w.leaves.producer_version = proto.string(f);
        break;
      case 4:
        w.leaves.domain = proto.string(f);
        break;
      case 5:
        w.leaves.model_version = varint(proto, f);
        break;
      case 7:
        proto.expect(f, WIRE_LEN);
        if (++graphs > 1) proto.fail('more than one graph');
        readGraph(w, f, 0);
        break;
      case 8:
        readOpset(w, f);
        break;
      case 14:
        readMetadataProp(w, f);
        break;
      default: // doc_string, training_info, functions, configuration
        break;
    }
  });
  if (graphs === 0) throw new DiffaiError(file.path, 'ONNX model: no graph (not an ONNX model, or a truncated one)');
  checkExternalOverlaps(proto, w.tensors, file.path);
  linkDequantized(w.tensors, w.dequantize, file, w.warnings);
  return { path: file.path, format: 'onnx', tensors: w.tensors, leaves: w.leaves, warnings: w.warnings };
}

function varint(proto: ProtoReader, f: ProtoField): number {
  proto.expect(f, WIRE_VARINT);
  if (Number.isNaN(f.value)) proto.fail(`field ${f.number} at byte ${f.start} is out of range`);
  return f.value;
}

function readOpset(w: Walk, f: ProtoField): void {
  let domain = '';
  let version: number | undefined;
  w.proto.fields(f.start, f.end, (e) => {
    if (e.number === 1) domain = w.proto.string(e, 4096);
    else if (e.number === 2) version = varint(w.proto, e);
  });
  if (version !== undefined) w.leaves[`opset_import.${domain || 'ai.onnx'}`] = version;
}

function readMetadataProp(w: Walk, f: ProtoField): void {
  let key = '';
  let value = '';
  w.proto.fields(f.start, f.end, (e) => {
    if (e.number === 1) key = w.proto.string(e, 4096);
    else if (e.number === 2) value = w.text.take(e.end - e.start) ? w.proto.string(e) : summarizedText(e.end - e.start, w.proto.sha256(e));
  });
  if (++w.metadata > MAX_METADATA) w.proto.fail(`more than ${MAX_METADATA} metadata_props entries`);
  if (!w.keyText.take(key.length)) w.proto.fail(`metadata_props keys hold more than ${MAX_LEAF_TEXT_BYTES} bytes`);
  w.leaves[`metadata_props.${key}`] = value;
}

function readGraph(w: Walk, f: ProtoField, depth: number): void {
  if (depth > MAX_GRAPH_DEPTH) w.proto.fail(`subgraphs nested more than ${MAX_GRAPH_DEPTH} deep`);
  w.proto.fields(f.start, f.end, (g) => {
    switch (g.number) {
      case 1:
        readNode(w, g, depth);
        break;
      case 2:
        if (depth === 0) w.leaves['graph.name'] = w.proto.string(g);
        break;
      case 5:
        addTensor(w, g, '');
        break;
      case 15:
        w.warnings.push(`ONNX sparse initializers are not read (one in graph at byte ${g.start})`);
        break;
      default: // inputs, outputs, value_info, doc_string, quantization_annotation
        break;
    }
  });
}

function readNode(w: Walk, f: ProtoField, depth: number): void {
  if (++w.nodes > MAX_NODES) w.proto.fail(`more than ${MAX_NODES} nodes`);
  const proto: ProtoReader = w.proto;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: ProtoField[] = [];
  let opType = '';
  let domain = '';
  proto.fields(f.start, f.end, (n) => {
    switch (n.number) {
      case 1:
        if (inputs.length >= MAX_NODE_IO) proto.fail(`a node has more than ${MAX_NODE_IO} inputs`);
        inputs.push(proto.string(n, 4096));
        break;
      case 2:
        if (outputs.length >= MAX_NODE_IO) proto.fail(`a node has more than ${MAX_NODE_IO} outputs`);
        outputs.push(proto.string(n, 4096));
        break;
      case 4:
        opType = proto.string(n, 256);
        break;
      case 5:
        proto.expect(n, WIRE_LEN);
        attributes.push(n);
        break;
      case 7:
        domain = proto.string(n, 256);
        break;
      default:
        break;
    }
  });
  const standard = domain === '' || domain === 'ai.onnx';
  if (standard && opType === 'DequantizeLinear' && inputs.length >= 2) {
    w.dequantize.push({ input: inputs[0]!, scale: inputs[1]!, zeroPoint: inputs[2], output: outputs[0] ?? '' });
  }
  for (const a of attributes) readAttribute(w, a, depth, standard && opType === 'Constant' ? outputs[0] : undefined);
}

/** Attributes: a Constant's `value` tensor (named after the node's output) and subgraphs. */
function readAttribute(w: Walk, f: ProtoField, depth: number, constantOutput: string | undefined): void {
  const proto: ProtoReader = w.proto;
  let name = '';
  const tensors: ProtoField[] = [];
  const graphs: ProtoField[] = [];
  proto.fields(f.start, f.end, (a) => {
    if (a.number === 1) name = proto.string(a, 4096);
    else if (a.number === 5 && a.wire === WIRE_LEN) tensors.push(a);
    else if ((a.number === 6 || a.number === 11) && a.wire === WIRE_LEN) graphs.push(a);
  });
  if (constantOutput !== undefined && name === 'value') for (const t of tensors) addTensor(w, t, constantOutput);
  for (const g of graphs) readGraph(w, g, depth + 1);
}

function addTensor(w: Walk, f: ProtoField, fallbackName: string): void {
  w.proto.expect(f, WIRE_LEN);
  const raw = readTensorProto(w.proto, f);
  raw.name ||= fallbackName;
  if (!raw.name) w.proto.fail(`an unnamed tensor at byte ${f.start}`);
  if (raw.dataType === STRING_TYPE) {
    w.warnings.push(`string tensor '${raw.name}' is not compared`);
    return;
  }
  if (w.names.has(raw.name)) {
    w.warnings.push(`tensor name '${raw.name}' appears more than once; the first is compared`);
    return;
  }
  w.names.add(raw.name);
  w.tensors.push(describeTensor(w.proto, raw, w.modelPath));
}
