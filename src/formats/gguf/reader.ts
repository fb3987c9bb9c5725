/**
 * GGUF (llama.cpp, ggml) v2 and v3: magic `GGUF`, u32 version, u64 tensor count, u64
 * metadata count; the metadata key/value pairs; the tensor infos (name, dims innermost
 * first, ggml type, offset relative to the data section); the data section at the next
 * multiple of `general.alignment` (default 32). All little-endian.
 *
 * Metadata becomes leaves named by their keys; arrays of more than MAX_KEPT_ITEMS items and
 * strings over MAX_KEPT_STRING bytes (tokenizer vocabularies, merges) become one summary
 * string with their SHA-256, so a changed vocabulary still shows as Modified without the
 * whole vocabulary held in memory. Tensor shapes are given in C order (GGUF's dims reversed),
 * which is the order PyTorch/safetensors use for the same weights.
 */
import { byteLength, dtypeInfo } from '../../dtypes.js';
import { DiffaiError } from '../../errors.js';
import { RandomAccessFile } from '../../io/file.js';
import type { FormatReader, LeafValue, ModelDescription } from '../types.js';
import { GGML_TYPES, SUPPORTED_GGML_TYPES } from './ggml-types.js';
import { HeaderStream, sha256 } from './stream.js';
import { LeafTextBudget, MAX_LEAF_TEXT_BYTES, summarizedText } from '../leaf-text.js';
import { warningList } from '../warnings.js';
import { MAX_DESCRIBED_TENSORS, tensorList } from '../tensor-list.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
/** Budgets: far above real files (llama-3 70B: 724 tensors, ~40 keys; tensors: MAX_DESCRIBED_TENSORS; vocabularies of ~10⁵–10⁶ items). */
export const MAX_KEYS = 1 << 16;
export const MAX_KEY_BYTES = 1 << 16;
export const MAX_NAME_BYTES = 1 << 16;
export const MAX_DIMS = 4; // GGML_MAX_DIMS
export const MAX_ARRAY_DEPTH = 4;
/** Metadata values kept whole; longer ones are summarized by digest. */
export const MAX_KEPT_ITEMS = 1024;
export const MAX_KEPT_STRING = 1 << 16;
/** Items kept across all metadata arrays, so hostile metadata cannot grow the leaves without bound. */
export const MAX_KEPT_TOTAL = 1 << 18;

enum VT {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}
const VALUE_TYPE_NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];
/** Bytes of a scalar value type (strings: at least their 8-byte length; arrays: type + count). */
const MIN_VALUE_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

export const ggufReader: FormatReader = {
  name: 'gguf',
  sniff(head: Uint8Array): boolean {
    return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
  },
  async describe(path: string): Promise<ModelDescription> {
    return joinSplits(describeGgufFile(path));
  },
};

function describeGgufFile(path: string): ModelDescription {
  const file = RandomAccessFile.open(path);
  try {
    return describeGguf(file);
  } finally {
    file.close();
  }
}

/** gguf-split's file names: `<prefix>-00001-of-00003.gguf` (llama.cpp's llama_split_path). */
export const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;
const SPLIT_KEYS = ['split.no', 'split.count', 'split.tensors.count'];

/**
 * A model split by gguf-split: its first split names the others (`split.count`); their
 * tensors are joined into one model, and the `split.*` keys left out, so that a split model
 * compares with the same model in one file. Any other split alone is read alone, with a warning.
 */
function joinSplits(first: ModelDescription): ModelDescription {
  const count = first.leaves['split.count'];
  if (typeof count !== 'number' || count <= 1) return first;
  const path = first.path;
  const no = first.leaves['split.no'];
  const name = SPLIT_NAME.exec(path);
  if (no !== 0 || !name) {
    return {
      ...first,
      warnings: [
        ...first.warnings,
        `split ${typeof no === 'number' ? no + 1 : '?'} of ${count} (gguf-split): read alone; give the first split to read the whole model`,
      ],
    };
  }
  const tensors = [...first.tensors];
  const names = new Set(tensors.map((t) => t.name));
  for (let k = 2; k <= count; k++) {
    const part = describeGgufFile(`${name[1]}-${String(k).padStart(5, '0')}-of-${name[3]}.gguf`);
    if (part.leaves['split.no'] !== k - 1 || part.leaves['split.count'] !== count)
      throw new DiffaiError(part.path, `not split ${k} of ${count} of ${path} (its split.no is ${JSON.stringify(part.leaves['split.no'] ?? null)})`);
    for (const t of part.tensors) {
      if (names.has(t.name)) throw new DiffaiError(part.path, `GGUF tensor ${shown(t.name)} is also in an earlier split`);
      names.add(t.name);
      tensors.push(t);
    }
  }
  const warnings = [...first.warnings];
  const expected = first.leaves['split.tensors.count'];
  if (typeof expected === 'number' && expected !== tensors.length)
    warnings.push(`split.tensors.count is ${expected} but the ${count} splits hold ${tensors.length} tensors`);
  const leaves: Record<string, LeafValue> = Object.create(null);
  for (const [k, v] of Object.entries(first.leaves)) if (!SPLIT_KEYS.includes(k)) leaves[k] = v;
  return { ...first, tensors, leaves, warnings };
}

export function describeGguf(file: RandomAccessFile): ModelDescription {
  const path = file.path;
  const s: HeaderStream = new HeaderStream(file, 'GGUF header');
  if (s.u32('magic') !== GGUF_MAGIC) s.fail('no GGUF magic');
  const version = s.u32('version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped === 2 || swapped === 3) s.fail(`big-endian GGUF (version ${swapped}) is not supported`);
    s.fail(version === 1 ? 'GGUF version 1 is not supported (only versions 2 and 3)' : `unsupported GGUF version ${version} (only versions 2 and 3)`);
  }
  // Each tensor info takes at least 8 + 4 + 4 + 8 bytes and each key/value pair 8 + 4 + 1.
  const tensorCount = s.size('tensor count', Math.min(MAX_DESCRIBED_TENSORS, Math.floor(s.remaining / 24)));
  const keyCount = s.size('metadata count', Math.min(MAX_KEYS, Math.floor(s.remaining / 13)));

  const leaves: Record<string, LeafValue> = Object.create(null);
  const budget = { kept: 0, text: new LeafTextBudget() };
  const keyText = new LeafTextBudget(); // keys apart: a key cannot be summarized
  let alignment = 32;
  s.what = 'GGUF metadata';
  for (let i = 0; i < keyCount; i++) {
    const key = s.string(`key ${i}`, MAX_KEY_BYTES);
    if (key in leaves) s.fail(`key ${shown(key)} appears twice`);
    if (!keyText.take(key.length)) s.fail(`metadata keys hold more than ${MAX_LEAF_TEXT_BYTES} bytes`);
    const type = s.u32(`type of ${shown(key)}`);
    if (key === 'general.alignment') {
      if (type !== VT.U32) s.fail(`general.alignment has type ${valueTypeName(type)}, not u32`);
      alignment = s.u32('general.alignment');
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) s.fail(`general.alignment ${alignment} is not a power of two`);
      leaves[key] = alignment;
      continue;
    }
    leaves[key] = readValue(s, type, shown(key), 0, budget);
  }

  s.what = 'GGUF tensor info';
  const tensors = tensorList(path);
  const names = new Set<string>();
  const ranges: Array<{ offset: number; bytes: number; name: string }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = s.string(() => `tensor ${i} name`, MAX_NAME_BYTES);
    let shownName: string | undefined;
    const label = (): string => (shownName ??= shown(name));
    if (names.has(name)) s.fail(`tensor ${label()} appears twice`);
    names.add(name);
    const nDims = s.u32(() => `tensor ${label()} dimension count`);
    if (nDims > MAX_DIMS) s.fail(`tensor ${label()} has ${nDims} dimensions (ggml allows at most ${MAX_DIMS})`);
    const ne: number[] = [];
    let numel = 1;
    for (let d = 0; d < nDims; d++) {
      const n = s.u64n(() => `tensor ${label()} dimension ${d}`);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) s.fail(`tensor ${label()} dimension ${d} (${n}) is too large`);
      ne.push(Number(n));
      numel *= Number(n);
      if (!Number.isSafeInteger(numel)) s.fail(`tensor ${label()} has too many elements (dimensions ${ne.join(' × ')} …)`);
    }
    const typeId = s.u32(() => `tensor ${label()} type`);
    const ggml = GGML_TYPES.get(typeId);
    if (!ggml) s.fail(`tensor ${label()} has unknown ggml type ${typeId}`);
    if (!ggml.dtype) s.fail(`tensor ${label()} has ggml type ${ggml.name}, which diffai does not read (it reads ${SUPPORTED_GGML_TYPES.join(', ')})`);
    const dtype = ggml.dtype;
    const { blockElements } = dtypeInfo(dtype);
    // ggml rows (dimension 0) hold whole blocks.
    if ((ne[0] ?? 1) % blockElements !== 0)
      s.fail(`tensor ${label()}: dimension 0 (${ne[0] ?? 1}) is not a multiple of the ${blockElements}-element ${ggml.name} block`);
    const bytes = byteLength(dtype, numel);
    if (!Number.isSafeInteger(bytes)) s.fail(`tensor ${label()} is too large`);
    const offset = s.u64n(() => `tensor ${label()} offset`);
    if (offset > BigInt(file.size)) s.fail(`tensor ${label()} offset ${offset} is past the end of the file (${file.size} bytes)`);
    if (Number(offset) % alignment !== 0) s.fail(`tensor ${label()} offset ${offset} is not a multiple of the alignment ${alignment}`);
    ranges.push({ offset: Number(offset), bytes, name });
    tensors.push({
      name,
      dtype,
      shape: [...ne].reverse(),
      numel,
      byteOrder: 'little',
      source: { kind: 'file', path, offset: Number(offset), length: bytes },
    });
  }

  const dataStart = Math.ceil(s.pos / alignment) * alignment;
  if (tensorCount > 0 && dataStart > file.size)
    throw new DiffaiError(path, `truncated: the GGUF data section would start at byte ${dataStart} but the file has ${file.size}`);
  const dataLength = file.size - dataStart;
  ranges.sort((a, b) => a.offset - b.offset);
  let end = 0;
  let previous = '';
  for (const r of ranges) {
    if (r.offset < end) throw new DiffaiError(path, `GGUF tensors ${shown(previous)} and ${shown(r.name)} overlap`);
    if (r.offset + r.bytes > dataLength)
      throw new DiffaiError(
        path,
        `truncated: GGUF tensor ${shown(r.name)} needs data bytes ${r.offset}..${r.offset + r.bytes} but the data section has ${dataLength} (file of ${file.size} bytes)`,
      );
    if (r.bytes > 0) {
      end = r.offset + r.bytes;
      previous = r.name;
    }
  }
  for (const t of tensors) if (t.source.kind === 'file') t.source.offset += dataStart;
  return { path, format: 'gguf', tensors, leaves, warnings: warningList() };
}

/** A name from the file as messages show it: quoted, escaped (no control characters), at most 80 characters. */
export function shown(name: string): string {
  const quoted = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return quoted.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function valueTypeName(type: number): string {
  return VALUE_TYPE_NAMES[type] ?? `unknown (${type})`;
}

/** What metadata may keep: array items and string bytes across the whole header. */
interface Budget {
  kept: number;
  text: LeafTextBudget;
}

function readValue(s: HeaderStream, type: number, key: string, depth: number, budget: Budget): LeafValue {
  switch (type) {
    case VT.U8:
      return s.u8(key);
    case VT.I8:
      return s.i8(key);
    case VT.U16:
      return s.u16(key);
    case VT.I16:
      return s.i16(key);
    case VT.U32:
      return s.u32(key);
    case VT.I32:
      return s.i32(key);
    case VT.F32:
      return s.f32(key);
    case VT.F64:
      return s.f64(key);
    case VT.U64:
      return bigValue(s.u64n(key));
    case VT.I64:
      return bigValue(s.i64n(key));
    case VT.BOOL: {
      const b = s.u8(key);
      if (b > 1) s.fail(`${key}: bool value ${b} is neither 0 nor 1`);
      return b === 1;
    }
    case VT.STRING: {
      const n = s.size(`${key} length`, s.remaining);
      if (n <= MAX_KEPT_STRING && budget.text.take(n)) return s.text(n, key);
      const hash = sha256();
      s.hashBytes(n, hash, key);
      return summarizedText(n, hash.digest('hex'));
    }
    case VT.ARRAY: {
      if (depth >= MAX_ARRAY_DEPTH) s.fail(`${key}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
      const itemType = s.u32(`${key} item type`);
      if (itemType > VT.F64) s.fail(`${key}: unknown array item type ${itemType}`);
      const count = s.size(`${key} item count`, Math.floor(s.remaining / MIN_VALUE_BYTES[itemType]!));
      if (count <= MAX_KEPT_ITEMS && budget.kept + count <= MAX_KEPT_TOTAL) {
        budget.kept += count;
        const items: LeafValue[] = [];
        for (let i = 0; i < count; i++) items.push(readValue(s, itemType, key, depth + 1, budget));
        return items;
      }
      const hash = sha256();
      hashItems(s, itemType, count, key, depth + 1, hash);
      return `<array of ${count} ${valueTypeName(itemType)}, sha256 ${hash.digest('hex')}>`;
    }
    default:
      return s.fail(`${key} has unknown value type ${type}`);
  }
}

/**
 * Feeds `count` items of `type` to the hash. Fixed-size numbers go in as one run of bytes (a
 * 100 MB u8 array is a few hashed windows, not 10^8 calls), exactly as item by item would.
 */
function hashItems(s: HeaderStream, type: number, count: number, key: string, depth: number, hash: ReturnType<typeof sha256>): void {
  if (type === VT.STRING || type === VT.ARRAY) {
    for (let i = 0; i < count; i++) hashValue(s, type, key, depth, hash);
  } else if (type === VT.BOOL) {
    s.hashBools(count, hash, key);
  } else {
    s.hashBytes(count * MIN_VALUE_BYTES[type]!, hash, key);
  }
}

/** Feeds one value's bytes to the hash without keeping it (items of long arrays). */
function hashValue(s: HeaderStream, type: number, key: string, depth: number, hash: ReturnType<typeof sha256>): void {
  if (type === VT.STRING) {
    const n = s.size(`${key} item length`, s.remaining);
    hash.update(`${n}:`);
    s.hashBytes(n, hash, key);
  } else if (type === VT.ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) s.fail(`${key}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = s.u32(`${key} item type`);
    if (itemType > VT.F64) s.fail(`${key}: unknown array item type ${itemType}`);
    const count = s.size(`${key} item count`, Math.floor(s.remaining / MIN_VALUE_BYTES[itemType]!));
    hash.update(`[${itemType}:${count}]`);
    hashItems(s, itemType, count, key, depth + 1, hash);
  } else if (type === VT.BOOL) {
    const b = s.u8(key);
    if (b > 1) s.fail(`${key}: bool value ${b} is neither 0 nor 1`);
    hash.update(b ? '1' : '0');
  } else {
    s.hashBytes(MIN_VALUE_BYTES[type]!, hash, key);
  }
}

function bigValue(v: bigint): LeafValue {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}
