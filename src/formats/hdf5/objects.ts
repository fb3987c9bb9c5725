/**
 * HDF5 structure, read with bounded positional reads: the superblock (versions 0–3, found at
 * 0, 512, 1024 … so MATLAB's 512-byte user block works), object headers (v1 and v2 with
 * continuation blocks), the messages diffai needs (dataspace, datatype, layout, filter
 * pipeline, attributes, links, symbol tables) and group members from symbol-table B-trees
 * and link messages. Every address and size is checked against the file before it is read,
 * every structure has a size or count budget, and visited objects are remembered, so a
 * malformed or cyclic file fails with one line. Nothing here reads dataset elements.
 */
import { DiffaiError } from '../../errors.js';
import type { ByteCursor } from '../../io/cursor.js';
import type { RandomAccessFile } from '../../io/file.js';
import { cursorAt } from '../../io/range.js';
import { LeafTextBudget } from '../leaf-text.js';

export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Largest object-header block, attribute, heap or B-tree node read at once. */
const MAX_BLOCK = 16 * 1024 * 1024;
/** Most messages of one object, continuation blocks of one object, members of one group. */
const MAX_MESSAGES = 65_536;
const MAX_CONTINUATIONS = 4096;
const MAX_MEMBERS = 1_000_000;
/** Most B-tree nodes visited in one tree (groups and chunk indexes). */
export const MAX_BTREE_NODES = 1_000_000;
const UNDEFINED_ADDRESS = -1;

export interface Message {
  type: number;
  /** Absolute file offset of the message body and its size. */
  at: number;
  size: number;
}

export class Hdf5File {
  readonly base!: number;
  readonly offsetSize!: number;
  readonly lengthSize!: number;
  readonly rootAddress!: number;
  private headers = new Map<number, Message[]>();
  /** Text kept from attribute strings, across the file. */
  readonly leafText = new LeafTextBudget();
  /** Bytes the datasets ask the engine to produce, against the bytes they store. */
  readonly work = new WorkBudget(this);

  constructor(
    readonly file: RandomAccessFile,
    /** What the file is, for messages (`HDF5`, `MATLAB 7.3 MAT-file (HDF5)`). */
    readonly label = 'HDF5',
  ) {
    const at = findSuperblock(file, label);
    const c = cursorAt(file, at, Math.min(file.size - at, 128), { what: `${label} superblock` });
    c.skip(8, 'signature');
    const version = c.u8('superblock version');
    if (version === 0 || version === 1) {
      c.skip(4, 'versions');
      this.offsetSize = c.u8('size of offsets');
      this.lengthSize = c.u8('size of lengths');
      checkSizes(this, c);
      c.skip(1 + 4 + 4, 'group K and flags');
      if (version === 1) c.skip(4, 'indexed storage K');
      const base = this.offset(c, 'base address');
      this.base = base === UNDEFINED_ADDRESS || base === 0 ? at : base;
      this.offset(c, 'free-space address');
      this.offset(c, 'end of file address');
      this.offset(c, 'driver information address');
      this.offset(c, 'root link name offset');
      this.rootAddress = this.address(c, 'root object header address');
    } else if (version === 2 || version === 3) {
      this.offsetSize = c.u8('size of offsets');
      this.lengthSize = c.u8('size of lengths');
      checkSizes(this, c);
      c.skip(1, 'flags');
      const base = this.offset(c, 'base address');
      this.base = base === UNDEFINED_ADDRESS || base === 0 ? at : base;
      this.offset(c, 'superblock extension address');
      this.offset(c, 'end of file address');
      this.rootAddress = this.address(c, 'root object header address');
    } else {
      c.fail(`superblock version ${version} is not supported`);
    }
  }

  fail(message: string): never {
    throw new DiffaiError(this.file.path, `${this.label}: ${message}`);
  }

  /** An offset field (size of offsets bytes); UNDEFINED_ADDRESS for all ones. */
  offset(c: ByteCursor, field: string): number {
    return readSized(c, this.offsetSize, field, true);
  }

  length(c: ByteCursor, field: string): number {
    return readSized(c, this.lengthSize, field, false);
  }

  /** A defined address, made absolute and checked to lie inside the file. */
  address(c: ByteCursor, field: string): number {
    const a = this.offset(c, field);
    if (a === UNDEFINED_ADDRESS) c.fail(`${field} is undefined`);
    return this.absolute(a, field);
  }

  absolute(a: number, field: string): number {
    const abs = this.base + a;
    if (!Number.isSafeInteger(abs) || abs < 0 || abs >= this.file.size) this.fail(`${field} ${a} lies outside the file`);
    return abs;
  }

  /** A bounded cursor over `length` bytes at absolute `at`. */
  cursor(at: number, length: number, what: string): ByteCursor {
    if (length > MAX_BLOCK) this.fail(`${what} of ${length} bytes is over the ${MAX_BLOCK}-byte limit`);
    return cursorAt(this.file, at, length, { what: `${this.label} ${what}` });
  }

  /** The messages of the object header at absolute `address` (cached). */
  messages(address: number): Message[] {
    const cached = this.headers.get(address);
    if (cached) return cached;
    const head = this.cursor(address, Math.min(16, this.file.size - address), 'object header');
    const list: Message[] = [];
    if (head.length >= 4 && head.u32('signature') === 0x5244484f /* OHDR */) readHeaderV2(this, address, list);
    else readHeaderV1(this, address, list);
    this.headers.set(address, list);
    return list;
  }

  /** The body of the first message of `type`, as a cursor, or undefined. */
  message(address: number, type: number, what: string): ByteCursor | undefined {
    const m = this.messages(address).find((x) => x.type === type);
    return m ? this.cursor(m.at, m.size, what) : undefined;
  }
}

/** How much larger than the bytes they store the datasets of a file may be: deflate's best ratio (about 1000:1), so real compressed files pass. */
export const MAX_EXPANSION = 1024;
/** Bytes of unwritten chunks (HDF5 reads them as zeros) a file may ask for beyond that. */
export const MAX_UNSTORED_BYTES = 1 << 30;

/**
 * The work a file asks for, bounded by what it stores. Every dataset (once, however many links
 * reach it) adds its array's bytes; the bytes it reads from the file count once however many
 * chunks or datasets point at them. A file whose arrays need more than MAX_EXPANSION times
 * its stored bytes, plus MAX_UNSTORED_BYTES, is refused: unwritten chunks repeated across
 * thousands of datasets, or one small deflated chunk named by every entry of a chunk index,
 * would otherwise be hours of inflating and counting zeros.
 */
export class WorkBudget {
  private datasets = new Set<number>();
  private logical = 0;
  private ranges: Array<{ offset: number; size: number }> = [];

  constructor(private readonly h: Hdf5File) {}

  /** A dataset (its object header address), its array's bytes and the file ranges it reads. */
  add(dataset: number, bytes: number, ranges: ReadonlyArray<{ offset: number; size: number }>): void {
    if (this.datasets.has(dataset)) return;
    this.datasets.add(dataset);
    this.logical += bytes;
    for (const r of ranges) this.ranges.push({ offset: r.offset, size: r.size });
    const allowed = () => MAX_UNSTORED_BYTES + MAX_EXPANSION * this.union;
    if (this.logical <= allowed()) return;
    // The union only grows, so the last one computed is a lower bound: recount only when it is not enough.
    this.union = this.stored();
    if (this.logical > allowed()) {
      this.h.fail(
        `datasets of ${this.logical} bytes from ${this.union} stored bytes (unwritten or repeated chunks): over the budget of ${MAX_EXPANSION} times the stored bytes plus 1 GiB`,
      );
    }
  }

  /** The union of the ranges when last counted. */
  private union = 0;

  /** Bytes of the file read by the datasets so far, each byte once (the union of their ranges). */
  private stored(): number {
    this.ranges.sort((a, b) => a.offset - b.offset);
    let total = 0;
    let end = 0;
    for (const r of this.ranges) {
      const from = Math.max(r.offset, end);
      const to = r.offset + r.size;
      if (to > from) {
        total += to - from;
        end = to;
      }
    }
    return total;
  }
}

function checkSizes(h: Hdf5File, c: ByteCursor): void {
  if (![2, 4, 8].includes(h.offsetSize) || ![2, 4, 8].includes(h.lengthSize)) c.fail(`unsupported sizes of offsets/lengths ${h.offsetSize}/${h.lengthSize}`);
}

function readSized(c: ByteCursor, size: number, field: string, allowUndefined: boolean): number {
  if (size === 2) return c.u16(field);
  if (size === 4) {
    const v = c.u32(field);
    return allowUndefined && v === 0xffffffff ? UNDEFINED_ADDRESS : v;
  }
  const v = c.u64n(field);
  if (allowUndefined && v === 0xffffffffffffffffn) return UNDEFINED_ADDRESS;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) c.fail(`${field} ${v} is out of range`);
  return Number(v);
}

/** The superblock is at 0 or at 512, 1024, 2048 … (after a user block). */
function findSuperblock(file: RandomAccessFile, label: string): number {
  for (let at = 0; at + 8 <= file.size; at = at === 0 ? 512 : at * 2) {
    if (file.read(at, 8).equals(HDF5_SIGNATURE)) return at;
    if (at > 1 << 30) break;
  }
  throw new DiffaiError(file.path, `${label}: no superblock signature`);
}

function pushMessage(h: Hdf5File, list: Message[], m: Message): void {
  if (list.length >= MAX_MESSAGES) h.fail(`an object header has more than ${MAX_MESSAGES} messages`);
  list.push(m);
}

/** Version 1: a 16-byte prefix, then 8-aligned messages; continuation blocks hold more. */
function readHeaderV1(h: Hdf5File, address: number, list: Message[]): void {
  const p = h.cursor(address, 16, 'object header');
  const version = p.u8('object header version');
  if (version !== 1) p.fail(`object header version ${version} at byte ${address} is not supported`);
  p.skip(1);
  const count = p.u16('message count');
  p.skip(4, 'reference count');
  const size = p.u32('header size');
  const blocks: Array<[number, number]> = [[address + 16, size]];
  for (let b = 0; b < blocks.length; b++) {
    if (b > MAX_CONTINUATIONS) h.fail(`more than ${MAX_CONTINUATIONS} object header continuation blocks`);
    const [at, len] = blocks[b]!;
    const c = h.cursor(at, len, 'object header messages');
    while (c.remaining >= 8 && list.length < count) {
      const type = c.u16('message type');
      const msize = c.u16('message size');
      c.skip(4, 'message flags');
      const body = at + c.pos;
      c.skip(msize, 'message body');
      if (type === 0x10) blocks.push(continuation(h, body, msize, blocks));
      else pushMessage(h, list, { type, at: body, size: msize });
    }
  }
}

/** Version 2: "OHDR", flags, optional times, chunk 0; continuation blocks start "OCHK". */
function readHeaderV2(h: Hdf5File, address: number, list: Message[]): void {
  const p = h.cursor(address, Math.min(h.file.size - address, 32), 'object header');
  p.skip(4, 'signature');
  const version = p.u8('object header version');
  if (version !== 2) p.fail(`object header version ${version} is not supported`);
  const flags = p.u8('flags');
  if (flags & 0x20) p.skip(16, 'times');
  if (flags & 0x10) p.skip(4, 'attribute phase change');
  const sizeBytes = 1 << (flags & 3);
  const size = sizeBytes === 1 ? p.u8('chunk size') : sizeBytes === 2 ? p.u16('chunk size') : sizeBytes === 4 ? p.u32('chunk size') : p.u64('chunk size');
  const blocks: Array<[number, number]> = [[address + p.pos, size]];
  for (let b = 0; b < blocks.length; b++) {
    if (b > MAX_CONTINUATIONS) h.fail(`more than ${MAX_CONTINUATIONS} object header continuation blocks`);
    const [at, len] = blocks[b]!;
    const c = h.cursor(at, len, 'object header messages');
    if (b > 0) {
      if (c.u32('continuation signature') !== 0x4b48434f /* OCHK */) c.fail('continuation block without its OCHK signature');
    }
    const end = b === 0 ? len : len - 4; // chunk 0's size excludes its checksum; a continuation's length includes it
    while (end - c.pos >= 4) {
      const type = c.u8('message type');
      const msize = c.u16('message size');
      const mflags = c.u8('message flags');
      if (flags & 0x04) c.skip(2, 'creation order');
      const body = at + c.pos;
      c.skip(msize, 'message body');
      if (type === 0x10) blocks.push(continuation(h, body, msize, blocks));
      else if (type !== 0) pushMessage(h, list, { type, at: body, size: msize });
      void mflags;
    }
  }
}

function continuation(h: Hdf5File, body: number, size: number, blocks: Array<[number, number]>): [number, number] {
  const c = h.cursor(body, size, 'continuation message');
  const at = h.address(c, 'continuation address');
  const len = h.length(c, 'continuation length');
  if (at + len > h.file.size) h.fail(`continuation block ${at}+${len} runs past the end of the file`);
  // Blocks of one header never overlap; a repeated or overlapping block is a cycle.
  for (const [start, n] of blocks)
    if (at < start + n && start < at + len) h.fail(`object header continuation block at byte ${at} overlaps another block of the same header`);
  return [at, len];
}

/** A group member: its name and the absolute address of its object header. */
export interface Member {
  name: string;
  address: number;
}

/** The members of the group whose object header is at `address`, in name order. */
export function groupMembers(h: Hdf5File, address: number): Member[] {
  const out: Member[] = [];
  const table = h.message(address, 0x11, 'symbol table message');
  if (table) {
    const btree = h.address(table, 'group B-tree address');
    const heap = h.address(table, 'group local heap address');
    const names = localHeap(h, heap);
    visitGroupBtree(h, btree, names, out);
  }
  for (const m of h.messages(address)) {
    if (m.type === 0x06) {
      const link = readLink(h, h.cursor(m.at, m.size, 'link message'));
      if (link) push(h, out, link);
    } else if (m.type === 0x02) {
      const c = h.cursor(m.at, m.size, 'link info message');
      c.skip(1, 'version');
      const flags = c.u8('flags');
      if (flags & 1) c.skip(8, 'max creation index');
      const heapAddress = h.offset(c, 'fractal heap address');
      if (heapAddress !== UNDEFINED_ADDRESS) h.fail('groups with dense link storage (fractal heaps) are not supported');
    }
  }
  out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return out;
}

function push(h: Hdf5File, out: Member[], m: Member): void {
  if (out.length >= MAX_MEMBERS) h.fail(`a group has more than ${MAX_MEMBERS} members`);
  out.push(m);
}

/** A local heap's data segment (group member names). */
function localHeap(h: Hdf5File, address: number): ByteCursor {
  const c = h.cursor(address, 8 + 2 * h.lengthSize + h.offsetSize, 'local heap');
  if (c.ascii(4, 'signature') !== 'HEAP') c.fail('local heap without its HEAP signature');
  c.skip(4, 'version');
  const size = h.length(c, 'data segment size');
  h.length(c, 'free list offset');
  const data = h.address(c, 'data segment address');
  return h.cursor(data, size, 'local heap data');
}

function heapString(names: ByteCursor, offset: number): string {
  names.seek(offset, 'name offset');
  const start = names.pos;
  const bytes = names.bytesView(names.remaining, 'name');
  const end = bytes.indexOf(0);
  if (end < 0) names.fail(`name at offset ${offset} is not terminated`);
  names.seek(start);
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

/** Group B-tree (v1, type 0): leaves point at symbol table nodes (SNOD). */
function visitGroupBtree(h: Hdf5File, root: number, names: ByteCursor, out: Member[]): void {
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length) {
    const at = stack.pop()!;
    if (seen.has(at)) h.fail(`group B-tree node ${at} is reached twice`);
    seen.add(at);
    if (seen.size > MAX_BTREE_NODES) h.fail(`a group B-tree has more than ${MAX_BTREE_NODES} nodes`);
    const head = h.cursor(at, 8 + 2 * h.offsetSize, 'group B-tree node');
    if (head.ascii(4, 'signature') !== 'TREE') head.fail(`group B-tree node at byte ${at} without its TREE signature`);
    const type = head.u8('node type');
    if (type !== 0) head.fail(`group B-tree node of type ${type}`);
    const level = head.u8('node level');
    const used = head.u16('entries used');
    const nodeSize = 8 + 2 * h.offsetSize + (used + 1) * h.lengthSize + used * h.offsetSize;
    const c = h.cursor(at, nodeSize, 'group B-tree node');
    c.skip(8 + 2 * h.offsetSize);
    for (let i = 0; i < used; i++) {
      h.length(c, 'key');
      const child = h.address(c, 'child address');
      if (level > 0) stack.push(child);
      else readSymbolNode(h, child, names, out);
    }
  }
}

function readSymbolNode(h: Hdf5File, at: number, names: ByteCursor, out: Member[]): void {
  const head = h.cursor(at, 8, 'symbol table node');
  if (head.ascii(4, 'signature') !== 'SNOD') head.fail(`symbol table node at byte ${at} without its SNOD signature`);
  head.skip(2);
  const count = head.u16('symbol count');
  const entry = 2 * h.offsetSize + 24;
  const c = h.cursor(at + 8, count * entry, 'symbol table node');
  for (let i = 0; i < count; i++) {
    const nameOffset = h.offset(c, 'link name offset');
    const address = h.address(c, 'object header address');
    c.skip(24, 'cache');
    push(h, out, { name: heapString(names, nameOffset), address });
  }
}

/** A link message: hard links only (soft and external links name no object here). */
function readLink(h: Hdf5File, c: ByteCursor): Member | undefined {
  const version = c.u8('link version');
  if (version !== 1) c.fail(`link message version ${version}`);
  const flags = c.u8('link flags');
  const type = flags & 0x08 ? c.u8('link type') : 0;
  if (flags & 0x04) c.skip(8, 'creation order');
  if (flags & 0x10) c.skip(1, 'charset');
  const lenSize = 1 << (flags & 3);
  const nameLength = lenSize === 1 ? c.u8('name length') : lenSize === 2 ? c.u16('name length') : lenSize === 4 ? c.u32('name length') : c.u64('name length');
  const name = c.utf8(nameLength, 'link name', 65_536);
  if (type !== 0) return undefined;
  return { name, address: h.address(c, 'link address') };
}

/** Attribute messages of an object: name → [datatype cursor, dataspace cursor, data cursor]. */
export interface Attribute {
  name: string;
  datatype: ByteCursor;
  dataspace: ByteCursor;
  data: ByteCursor;
}

export function attributes(h: Hdf5File, address: number): Attribute[] {
  const out: Attribute[] = [];
  for (const m of h.messages(address)) {
    if (m.type === 0x15) {
      const c = h.cursor(m.at, m.size, 'attribute info message');
      c.skip(1, 'version');
      const flags = c.u8('flags');
      if (flags & 1) c.skip(2, 'max creation index');
      if (h.offset(c, 'fractal heap address') !== UNDEFINED_ADDRESS) h.fail('dense attribute storage (fractal heaps) is not supported');
    }
    if (m.type !== 0x0c) continue;
    const c = h.cursor(m.at, m.size, 'attribute message');
    const version = c.u8('attribute version');
    if (version < 1 || version > 3) c.fail(`attribute message version ${version}`);
    c.skip(1, 'flags');
    const nameSize = c.u16('name size');
    const typeSize = c.u16('datatype size');
    const spaceSize = c.u16('dataspace size');
    if (version === 3) c.skip(1, 'charset');
    const pad = (n: number) => (version === 1 ? (n + 7) & ~7 : n);
    const nameBytes = c.bytesView(pad(nameSize), 'attribute name');
    const zero = nameBytes.indexOf(0);
    const name = Buffer.from(nameBytes.subarray(0, zero >= 0 && zero < nameSize ? zero : nameSize)).toString('utf8');
    const datatype = c.sub(pad(typeSize), 'attribute datatype', 'HDF5 attribute datatype');
    const dataspace = c.sub(pad(spaceSize), 'attribute dataspace', 'HDF5 attribute dataspace');
    const data = c.sub(c.remaining, 'attribute data', 'HDF5 attribute data');
    out.push({ name, datatype, dataspace, data });
  }
  return out;
}
