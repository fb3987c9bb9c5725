/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON, then the data
 * buffer. Checked as the reference crate checks it (DESIGN §7): header ≤ 100 MB and within
 * the file, known dtypes, each tensor's byte range exactly numel × dtype size, ranges in
 * bounds and non-overlapping.
 */
import { byteLength, type DType } from '../../dtypes.js';
import { DiffaiError, check } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import { RandomAccessFile } from '../../io/file.js';
import { JsonScanner, JsonSyntaxError } from '../../io/json-scanner.js';
import { checkRange, readRange } from '../../io/range.js';
import { TensorTable, tableDescription } from '../table.js';
import type { FormatReader, LeafValue, ModelDescription } from '../types.js';
import { MAX_DESCRIBED_ENTRIES, tooManyEntries } from '../tensor-list.js';

export const MAX_HEADER_BYTES = 100_000_000;

const SAFETENSORS_DTYPES = new Map<string, DType>(
  Object.entries({
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
  } satisfies Record<string, DType>),
);

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

  const header = new HeaderScan(file.path, 8 + headerLength, file.size - 8 - headerLength);
  try {
    header.scan(new HeaderWindow(file, 8, headerLength));
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new DiffaiError(path, `invalid safetensors header JSON: ${e.message}`);
    throw e;
  }
  checkTiling(path, header.tensors, header.dataStart, header.dataLength);
  checkUniqueNames(path, header.tensors);
  return tableDescription({ path, format: 'safetensors', leaves: header.leaves, warnings: [] }, header.tensors);
}

const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'] as const;
const DTYPE_NAMES = [...SAFETENSORS_DTYPES.keys()];
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const DTYPE_VALUES = DTYPE_NAMES.map((n) => SAFETENSORS_DTYPES.get(n)!);
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const METADATA_KEY = ascii('__metadata__');
// The compact member writers print, between its parts (plainMember).
const DTYPE_HEAD = ascii('":{"dtype":"');
const SHAPE_HEAD = ascii(',"shape":');
const OFFSETS_HEAD = ascii(',"data_offsets":');
const DTYPE_WORDS = DTYPE_NAMES.map(ascii);
/** Bytes of an element of each DTYPE_NAMES entry (safetensors dtypes have one element per block). */
const DTYPE_BYTES = DTYPE_VALUES.map((d) => byteLength(d, 1));

/** True when b[p, p + word.length) is `word`. */
function startsWith(b: Uint8Array, p: number, word: Uint8Array): boolean {
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return false;
  return true;
}

/** DTYPE_NAMES indices by the first letter of the name (a member's dtype is found by one or two compares). */
const DTYPES_BY_LETTER: Array<number[] | undefined> = [];
for (const [k, word] of DTYPE_WORDS.entries()) (DTYPES_BY_LETTER[word[0]!] ??= []).push(k);

/** The index in DTYPE_NAMES of the dtype name at p followed by its closing quote, or -1. */
function dtypeAt(b: Uint8Array, p: number): number {
  const candidates = DTYPES_BY_LETTER[b[p]!];
  if (candidates === undefined) return -1;
  // Indexed loops here and below: the first thousands of members run before the optimizing
  // compiler has this code, and an iterator there allocates per member.
  for (let c = 0; c < candidates.length; c++) {
    const k = candidates[c]!;
    const word = DTYPE_WORDS[k]!;
    if (b[p + word.length] === QUOTE && startsWith(b, p, word)) return k;
  }
  return -1;
}

/** Header bytes held at once (a member longer than this grows the window, up to the header). */
const HEADER_WINDOW = 4 << 20;

/**
 * The JSON header read a window at a time, so a 1,000,000-tensor header (~90 MB) never sits
 * in memory whole. Scanners over the window report offsets in the whole header.
 */
class HeaderWindow {
  private buf: Buffer;
  private filled = 0;
  /** Header offset of buf[0]. */
  private base = 0;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly start: number,
    private readonly length: number,
  ) {
    checkRange(file, start, length, { what: 'safetensors header', budget: MAX_HEADER_BYTES });
    // A Buffer: names decode through its latin1/utf8 slices (twice as fast as a TextDecoder for short strings).
    this.buf = Buffer.allocUnsafe(Math.min(HEADER_WINDOW, length));
    this.fill();
  }

  /** True when the window reaches the end of the header: a syntax error now is one. */
  get complete(): boolean {
    return this.base + this.filled === this.length;
  }

  scanner(): JsonScanner {
    return new JsonScanner(this.buf.subarray(0, this.filled), this.base);
  }

  /** Drops the bytes before window offset `keep` and reads on (a larger window when none could be dropped). */
  advance(keep: number): void {
    if (keep === 0 && this.filled === this.buf.length) {
      const larger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.length - this.base));
      larger.set(this.buf);
      this.buf = larger;
    } else {
      this.buf.copyWithin(0, keep, this.filled);
      this.filled -= keep;
      this.base += keep;
    }
    this.fill();
  }

  private fill(): void {
    const n = Math.min(this.buf.length - this.filled, this.length - this.base - this.filled);
    this.file.readInto(this.buf.subarray(this.filled, this.filled + n), this.start + this.base + this.filled);
    this.filled += n;
  }
}

/**
 * The header scanned straight into a column-wise table (no intermediate JSON objects or
 * descriptors: an entry is parsed into the scan's own fields, its shape into one reused
 * array). Each member is parsed from its window and kept only once the separator after it
 * was read, so a member cut by the window's end is parsed again from a refilled window.
 * Each entry is checked as it is read; duplicate keys inside an entry keep the last value,
 * as JSON.parse would.
 */
class HeaderScan {
  tensors: TensorTable;
  leaves: Record<string, LeafValue> = Object.create(null);
  private json!: JsonScanner;
  private window!: HeaderWindow;
  private metadataSeen = false;
  // The entry being read.
  private rawDtype: string | undefined;
  private dtype: DType = 'f32';
  private numel = 0;
  private readonly shape: number[] = [];
  private readonly offsetList: number[] = [];
  private shapeOk = false;
  private offsetsOk = false;
  private begin = 0;
  private end = 0;

  constructor(
    readonly path: string,
    readonly dataStart: number,
    readonly dataLength: number,
  ) {
    // Sized for the header (an entry takes ~80 bytes of it), so a large table is not grown by copies.
    this.tensors = new TensorTable(path, Math.min(MAX_HEADER_BYTES, dataStart) / 80);
  }

  /** Refills the window from `mark` after a syntax error that may only mean the window ended too soon (rethrows otherwise). */
  private refill(e: unknown, mark: number): void {
    if (!(e instanceof JsonSyntaxError) || this.window.complete) throw e;
    this.window.advance(mark);
    this.json = this.window.scanner();
  }

  scan(window: HeaderWindow): void {
    this.window = window;
    this.json = window.scanner();
    let opened: boolean;
    for (;;) {
      try {
        opened = this.opening();
        break;
      } catch (e) {
        this.refill(e, 0);
      }
    }
    if (!opened) throw new DiffaiError(this.path, 'safetensors header is not a JSON object');
    this.json.pos++;
    let first = true;
    for (;;) {
      const mark = this.json.pos;
      let more: boolean;
      try {
        more = this.member(first);
      } catch (e) {
        this.refill(e, mark);
        continue;
      }
      first = false;
      if (!more) break;
    }
    // Only whitespace may follow, to the end of the header.
    for (;;) {
      if (!this.json.atEnd()) this.json.fail('unexpected data after the JSON object');
      if (this.window.complete) return;
      this.window.advance(this.json.pos);
      this.json = this.window.scanner();
    }
  }

  /** True when the header starts an object; any other value is consumed (its syntax checked). */
  private opening(): boolean {
    const json = this.json;
    if (json.peek() === OPEN_OBJECT) return true;
    json.skipValue();
    if (!json.atEnd()) json.fail('unexpected data after the JSON value');
    return false;
  }

  /** One member and the separator after it; kept only then. False after the last one. */
  private member(first: boolean): boolean {
    const json = this.json;
    if (first && json.empty(CLOSE_OBJECT)) return false;
    const fast = this.plainMember();
    if (fast !== undefined) return fast;
    const name = json.string();
    json.expect(0x3a);
    if (name === '__metadata__') {
      if (this.metadataSeen) throw new DiffaiError(this.path, 'duplicate __metadata__ entry in the header');
      const leaves = this.metadata(json);
      const more = json.more(CLOSE_OBJECT);
      this.metadataSeen = true;
      for (const [key, value] of leaves) this.leaves[`__metadata__.${key}`] = value;
      return more;
    }
    this.entry(json, name);
    const more = json.more(CLOSE_OBJECT);
    this.tensors.add(name, this.dtype, this.shape, this.numel, this.dataStart + this.begin, this.end - this.begin);
    return more;
  }

  /**
   * One tensor member as writers print it, `"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}`
   * and its separator, read in one pass over the bytes: its name goes to the table as bytes
   * (no string), and it is kept only when every check passes. Anything else (other spacing or
   * key order, escapes in the name, `__metadata__`, a failing check, the window's end) leaves
   * the position as it was and returns undefined: member() then reads it token by token and
   * gives the precise message.
   */
  private plainMember(): boolean | undefined {
    const json = this.json;
    const b = json.bytes;
    const start = json.pos;
    if (json.peek() !== QUOTE) return undefined;
    const nameStart = json.pos + 1;
    let p = nameStart;
    let ascii = true;
    for (let c = b[p]; c !== QUOTE; c = b[++p]) {
      if (c === undefined || c === BACKSLASH || c < 0x20) return undefined;
      if (c >= 0x80) ascii = false;
    }
    const nameEnd = p;
    if (nameEnd - nameStart === METADATA_KEY.length && startsWith(b, nameStart, METADATA_KEY)) return undefined;
    if (!startsWith(b, nameEnd, DTYPE_HEAD)) return undefined;
    p = nameEnd + DTYPE_HEAD.length;
    const known = dtypeAt(b, p);
    if (known < 0) return undefined;
    p += DTYPE_NAMES[known]!.length + 1;
    if (!startsWith(b, p, SHAPE_HEAD)) return undefined;
    json.pos = p + SHAPE_HEAD.length;
    const dims = json.plainIntList(this.shape);
    if (dims >= 0 && startsWith(b, json.pos, OFFSETS_HEAD)) {
      if (this.shape.length !== dims) this.shape.length = dims;
      json.pos += OFFSETS_HEAD.length;
      const two = json.plainIntList(this.offsetList);
      p = json.pos;
      const separator = b[p + 1];
      if (two === 2 && b[p] === CLOSE_OBJECT && (separator === COMMA || separator === CLOSE_OBJECT)) {
        const dtype = DTYPE_VALUES[known]!;
        const begin = this.offsetList[0]!;
        const end = this.offsetList[1]!;
        const shape = this.shape;
        let numel = 1;
        for (let k = 0; k < shape.length; k++) numel *= shape[k]!;
        const bytes = numel * DTYPE_BYTES[known]!;
        if (begin <= end && end <= this.dataLength && Number.isSafeInteger(bytes) && end - begin === bytes) {
          json.pos = p + 2;
          this.tensors.addNamedBytes(b, nameStart, nameEnd, ascii, dtype, this.shape, numel, this.dataStart + begin, bytes);
          return separator === COMMA;
        }
      }
    }
    json.pos = start;
    return undefined;
  }

  private metadata(json: JsonScanner): Array<[string, string]> {
    if (json.peek() !== OPEN_OBJECT) {
      json.skipValue();
      throw new DiffaiError(this.path, '__metadata__ is not a JSON object');
    }
    json.pos++;
    const out: Array<[string, string]> = [];
    if (json.empty(CLOSE_OBJECT)) return out;
    do {
      const key = json.string();
      json.expect(0x3a);
      if (json.peek() !== QUOTE) {
        json.skipValue();
        throw new DiffaiError(this.path, `__metadata__.${key} is not a string`);
      }
      if (out.length === MAX_DESCRIBED_ENTRIES) throw tooManyEntries(this.path);
      out.push([key, json.string()]);
    } while (json.more(CLOSE_OBJECT));
    return out;
  }

  /** Reads and checks one tensor entry into dtype, shape, numel, begin and end. */
  private entry(json: JsonScanner, name: string): void {
    const path = this.path;
    if (json.peek() !== OPEN_OBJECT) {
      json.skipValue();
      throw new DiffaiError(path, `tensor ${name}: entry is not a JSON object`);
    }
    json.pos++;
    this.rawDtype = undefined;
    let shapeSeen = false;
    let offsetsSeen = false;
    if (!json.empty(CLOSE_OBJECT)) {
      do {
        const key = json.stringOf(ENTRY_KEYS);
        json.expect(0x3a);
        if (key === 0) {
          // The usual dtype names are matched in place (no string per tensor).
          if (json.peek() === QUOTE) {
            const known = json.stringOf(DTYPE_NAMES);
            this.rawDtype = known >= 0 ? DTYPE_NAMES[known] : json.lastString;
          } else {
            json.skipValue();
            this.rawDtype = undefined;
          }
        } else if (key === 1) {
          shapeSeen = true;
          this.shapeOk = this.dimensions(json, this.shape);
        } else if (key === 2) {
          offsetsSeen = true;
          this.offsetsOk = this.offsets(json);
        } else json.skipValue();
      } while (json.more(CLOSE_OBJECT));
    }
    const rawDtype = this.rawDtype;
    if (rawDtype === undefined) throw new DiffaiError(path, `tensor ${name}: missing dtype`);
    const dtype = SAFETENSORS_DTYPES.get(rawDtype);
    if (dtype === undefined) throw new DiffaiError(path, `tensor ${name}: unknown dtype ${JSON.stringify(rawDtype)}`);
    if (!shapeSeen || !this.shapeOk) throw new DiffaiError(path, `tensor ${name}: shape must be a list of non-negative integers`);
    if (!offsetsSeen || !this.offsetsOk) throw new DiffaiError(path, `tensor ${name}: data_offsets must be two non-negative integers`);
    const { begin, end, shape } = this;
    if (begin > end) throw new DiffaiError(path, `tensor ${name}: data_offsets [${begin}, ${end}] are reversed`);
    if (end > this.dataLength)
      throw new DiffaiError(path, `tensor ${name}: data_offsets [${begin}, ${end}] run past the end of the data (${this.dataLength} bytes)`);
    let numel = 1;
    for (const d of shape) numel *= d;
    // Checks throw directly: a message built per tensor is garbage for 100,000-tensor files.
    if (!Number.isSafeInteger(byteLength(dtype, numel))) throw new DiffaiError(path, `tensor ${name}: shape ${JSON.stringify(shape)} is too large`);
    if (end - begin !== byteLength(dtype, numel))
      throw new DiffaiError(
        path,
        `tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} × ${rawDtype} needs ${byteLength(dtype, numel)}`,
      );
    this.dtype = dtype;
    this.numel = numel;
  }

  /** data_offsets into begin and end: true for a list of exactly two non-negative safe integers (consumed either way). */
  private offsets(json: JsonScanner): boolean {
    const two = this.offsetList;
    const ok = this.dimensions(json, two) && two.length === 2;
    if (ok) {
      this.begin = two[0]!;
      this.end = two[1]!;
    }
    return ok;
  }

  /**
   * A list of non-negative safe integers into `out` (its length set once, at the end): false
   * for any other value (consumed either way).
   */
  private dimensions(json: JsonScanner, out: number[]): boolean {
    if (json.peek() !== OPEN_LIST) {
      json.skipValue();
      out.length = 0;
      return false;
    }
    // `[16,4]` as writers print it, in one loop; anything else token by token.
    const plain = json.plainIntList(out);
    if (plain >= 0) {
      if (out.length !== plain) out.length = plain;
      return true;
    }
    json.pos++;
    let ok = true;
    let n = 0;
    if (!json.empty(CLOSE_LIST)) {
      do {
        if (json.atNumber()) {
          const v = json.number();
          if (!(Number.isSafeInteger(v) && v >= 0)) ok = false;
          out[n++] = v === 0 ? 0 : v; // JSON's -0 is the dimension 0
        } else {
          json.skipValue();
          ok = false;
        }
      } while (json.more(CLOSE_LIST));
    }
    if (out.length !== n) out.length = n;
    return ok;
  }
}

/**
 * As the reference implementation checks: sorted ranges tile the data exactly, with no
 * overlap, no gap and nothing after the last tensor (empty tensors take no room).
 */
function checkTiling(path: string, tensors: TensorTable, dataStart: number, dataLength: number): void {
  const begin = (i: number) => tensors.offset(i) - dataStart;
  const end = (i: number) => begin(i) + tensors.length(i);
  let order: ArrayLike<number> | undefined;
  for (let i = 1; i < tensors.count && order === undefined; i++) {
    if (begin(i) < begin(i - 1) || (begin(i) === begin(i - 1) && end(i) < end(i - 1))) {
      // Writers usually store tensors in offset order; only others pay for a sort.
      order = Uint32Array.from({ length: tensors.count }, (_, k) => k).sort((x, y) => begin(x) - begin(y) || end(x) - end(y));
    }
  }
  let previous = -1;
  let covered = 0;
  for (let k = 0; k < tensors.count; k++) {
    const i = order === undefined ? k : order[k]!;
    const b = begin(i);
    const e = end(i);
    if (b === e) continue;
    if (previous >= 0 && b < end(previous)) {
      const [pb, pe] = [begin(previous), end(previous)];
      throw new DiffaiError(path, `tensors ${tensors.name(previous)} and ${tensors.name(i)} overlap (data_offsets [${pb}, ${pe}] and [${b}, ${e}])`);
    }
    if (b > covered) throw new DiffaiError(path, `data bytes ${covered}..${b} belong to no tensor (gap before ${tensors.name(i)})`);
    covered = e;
    previous = i;
  }
  if (covered !== dataLength) throw new DiffaiError(path, `${dataLength - covered} bytes after the last tensor's data belong to no tensor`);
}

/** A name given twice (JSON.parse and the reference crate would silently keep the last entry) is refused. */
function checkUniqueNames(path: string, tensors: TensorTable): void {
  // Names in strictly ascending natural order (how writers list them) are distinct without
  // an index. (The table keeps the answer: the model view asks it again.)
  if (tensors.inNaturalOrder()) return;
  const repeat = tensors.names.firstRepeat();
  if (repeat >= 0) throw new DiffaiError(path, `tensor ${tensors.name(repeat)} appears twice in the header`);
}
