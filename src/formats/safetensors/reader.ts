/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON, then the data
 * buffer. Checked as the reference crate checks it (DESIGN §7): header ≤ 100 MB and within
 * the file, known dtypes, each tensor's byte range exactly numel × dtype size, ranges in
 * bounds and non-overlapping.
 */
import { parseJson } from '../../io/json.js';
import { byteLength, type DType } from '../../dtypes.js';
import { DiffaiError, check } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import { RandomAccessFile } from '../../io/file.js';
import { readRange } from '../../io/range.js';
import type { FormatReader, LeafValue, ModelDescription, TensorDescriptor } from '../types.js';

export const MAX_HEADER_BYTES = 100_000_000;

const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  F8_E4M3: 'f8_e4m3',
  F8_E5M2: 'f8_e5m2',
  I64: 'i64',
  I32: 'i32',
  I16: 'i16',
  I8: 'i8',
  U64: 'u64',
  U32: 'u32',
  U16: 'u16',
  U8: 'u8',
  BOOL: 'bool',
  C64: 'c64',
};

export const safetensorsReader: FormatReader = {
  name: 'safetensors',
  sniff(head: Uint8Array): boolean {
    if (head.length < 10) return false;
    const n = new ByteCursor(head, '').u64n('header length');
    // The JSON header starts with '{'. Absurd lengths are still claimed, so that describe()
    // can say what is wrong with them.
    return n >= 2n && head[8] === 0x7b;
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      return describeSafetensors(file);
    } finally {
      file.close();
    }
  },
};

function describeSafetensors(file: RandomAccessFile): ModelDescription {
  const path = file.path;
  check(file.size >= 8, path, `truncated: ${file.size} bytes, too short for a safetensors header length`);
  const rawLength = new ByteCursor(readRange(file, 0, 8), path, { what: 'safetensors header length' }).u64n('header length');
  check(rawLength <= BigInt(MAX_HEADER_BYTES), path, `safetensors header length ${rawLength} exceeds the 100 MB limit`);
  const headerLength = Number(rawLength);
  check(8 + headerLength <= file.size, path, `truncated: header length ${headerLength} exceeds the file size ${file.size}`);

  const text = readRange(file, 8, headerLength, { what: 'safetensors header', budget: MAX_HEADER_BYTES }).toString('utf8');
  const header = parseJson(text, path, 'invalid safetensors header JSON');
  check(isPlainObject(header), path, 'safetensors header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = file.size - dataStart;
  const tensors: TensorDescriptor[] = [];
  const leaves: Record<string, LeafValue> = Object.create(null);
  const ranges: Array<[number, number, string]> = [];

  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new DiffaiError(path, '__metadata__ is not a JSON object');
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw new DiffaiError(path, `__metadata__.${key} is not a string`);
        leaves[`__metadata__.${key}`] = value;
      }
      continue;
    }
    if (!isPlainObject(entry)) throw new DiffaiError(path, `tensor ${name}: entry is not a JSON object`);
    const { dtype: rawDtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof rawDtype !== 'string') throw new DiffaiError(path, `tensor ${name}: missing dtype`);
    const dtype = SAFETENSORS_DTYPES[rawDtype];
    if (dtype === undefined) throw new DiffaiError(path, `tensor ${name}: unknown dtype ${JSON.stringify(rawDtype)}`);
    if (!(Array.isArray(shape) && shape.every(isDimension))) throw new DiffaiError(path, `tensor ${name}: shape must be a list of non-negative integers`);
    if (!(Array.isArray(offsets) && offsets.length === 2 && offsets.every(isDimension)))
      throw new DiffaiError(path, `tensor ${name}: data_offsets must be two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw new DiffaiError(path, `tensor ${name}: data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataLength) throw new DiffaiError(path, `tensor ${name}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    // Checks throw directly: a message built per tensor is garbage for 100,000-tensor files.
    if (!Number.isSafeInteger(byteLength(dtype, numel))) throw new DiffaiError(path, `tensor ${name}: shape ${JSON.stringify(shape)} is too large`);
    if (end - begin !== byteLength(dtype, numel))
      throw new DiffaiError(
        path,
        `tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} × ${rawDtype} needs ${byteLength(dtype, numel)}`,
      );
    ranges.push([begin, end, name]);
    tensors.push({
      name,
      dtype,
      shape: shape as number[],
      numel,
      byteOrder: 'little',
      source: { kind: 'file', path, offset: dataStart + begin, length: end - begin },
    });
  }

  // As the reference implementation checks: sorted ranges tile the data exactly, with no
  // overlap, no gap and nothing after the last tensor (empty tensors take no room).
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let previous: [number, number, string] | undefined;
  let covered = 0;
  for (const range of ranges) {
    if (range[0] === range[1]) continue;
    if (previous && range[0] < previous[1]) {
      throw new DiffaiError(
        path,
        `tensors ${previous[2]} and ${range[2]} overlap (data_offsets [${previous[0]}, ${previous[1]}] and [${range[0]}, ${range[1]}])`,
      );
    }
    if (range[0] > covered) throw new DiffaiError(path, `data bytes ${covered}..${range[0]} belong to no tensor (gap before ${range[2]})`);
    covered = range[1];
    previous = range;
  }
  if (covered !== dataLength) throw new DiffaiError(path, `${dataLength - covered} bytes after the last tensor's data belong to no tensor`);

  return { path, format: 'safetensors', tensors, leaves, warnings: [] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
