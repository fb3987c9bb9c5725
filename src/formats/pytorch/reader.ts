/**
 * PyTorch checkpoints: torch zip archives (torch ≥ 1.6, TorchScript archives too) and the
 * legacy pickle stream (torch < 1.6, many `pytorch_model.bin`). Describes tensors in place:
 * the central directory / the pickles are read, tensor bytes are not.
 */
import { byteLength, type DType } from '../../dtypes.js';
import { DiffaiError, UnsafePickleError } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import { RandomAccessFile } from '../../io/file.js';
import type { ByteCheck } from '../../io/random-access.js';
import { readRange } from '../../io/range.js';
import { fortranView, isContiguousLayout, type ByteSource, type FormatReader, type ModelDescription, type TensorDescriptor } from '../types.js';
import {
  ZIP_METHOD_DEFLATE,
  ZIP_METHOD_STORED,
  firstLocalName,
  looksLikeZip,
  placeRemoteEntries,
  readSmallEntry,
  readZipDirectory,
  resolveDataOffset,
  type ZipEntry,
} from '../zip/zip.js';
import { FlattenError, flatten, type Flattened } from './flatten.js';
import { TorchFormatError, numpyDtype, torchHooks, type NumpyArray, type StorageRef, type TorchContext, type TensorRef } from './torch.js';
import { BufferInput, FileInput, PickleError, PyDict, unpickle, type PickleInput, type PyValue } from './unpickler.js';
import { warningList } from '../warnings.js';
import { tensorList } from '../tensor-list.js';

/** Largest pickle accepted (data.pkl, or the legacy main pickle). */
export const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

/** The legacy format's magic number, as the LONG1 bytes torch writes after PROTO 2. */
const LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** Where one storage's bytes are. */
interface StorageLocation {
  /** The whole storage. */
  source: ByteSource;
  byteLength: number;
}

/** True when `name` (a zip entry name) is one torch writes first or early in an archive. */
export function isTorchZipEntryName(name: string): boolean {
  return (
    /(^|\/)data\.pkl$/.test(name) ||
    /(^|\/)data\/\d+$/.test(name) ||
    /(^|\/)(version|\.format_version|\.storage_alignment|byteorder|constants\.pkl)$/.test(name) ||
    /(^|\/)\.data\//.test(name)
  );
}

function isLegacyHead(head: Uint8Array): boolean {
  if (head.length < 14 || head[0] !== 0x80 || head[1]! < 2 || head[1]! > 5) return false;
  outer: for (let i = 2; i + LEGACY_MAGIC.length <= Math.min(head.length, 24); i++) {
    for (let j = 0; j < LEGACY_MAGIC.length; j++) if (head[i + j] !== LEGACY_MAGIC[j]) continue outer;
    return true;
  }
  return false;
}

function sniff(head: Uint8Array, path: string): boolean {
  if (isLegacyHead(head)) return true;
  if (!looksLikeZip(head)) return false;
  const first = firstLocalName(head);
  if (first?.complete) return isTorchZipEntryName(first.name);
  // The first name is cut off by the 64-byte head: look at the central directory.
  try {
    const file = RandomAccessFile.open(path);
    try {
      const dir = readZipDirectory(file, { resolveDataOffsets: false });
      return dir.entries.some((e) => /(^|\/)data\.pkl$/.test(e.name));
    } finally {
      file.close();
    }
  } catch {
    return first !== undefined && /\//.test(first.name) && !/\.npy$/.test(first.name);
  }
}

export const pytorchReader: FormatReader = {
  name: 'pytorch',
  sniff,
  describe: describePytorch,
};

export async function describePytorch(path: string): Promise<ModelDescription> {
  const file = RandomAccessFile.open(path);
  try {
    const head = file.readUpTo(0, 64);
    if (looksLikeZip(head)) return await describeZip(file);
    if (isLegacyHead(head)) return describeLegacy(file);
    if (head.length >= 262 || file.size >= 262) {
      const ustar = file.readUpTo(257, 5).toString('latin1');
      if (ustar === 'ustar') throw new DiffaiError(path, 'a tar-format PyTorch checkpoint (torch < 0.4) is not supported');
    }
    throw new DiffaiError(path, 'not a PyTorch checkpoint (neither a torch zip archive nor a legacy torch pickle)');
  } finally {
    file.close();
  }
}

/** Runs `fn`, turning the unpickler's and decoder's errors into one-line DiffaiErrors. */
function guard<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DiffaiError) throw e;
    if (e instanceof PickleError) {
      const message = `${what}: ${e.message}${e.position !== undefined ? ` (at byte ${e.position})` : ''}`;
      throw e.refused !== undefined ? new UnsafePickleError(path, message, [e.refused]) : new DiffaiError(path, message);
    }
    if (e instanceof TorchFormatError || e instanceof FlattenError) throw new DiffaiError(path, `${what}: ${e.message}`);
    if (e instanceof RangeError) throw new DiffaiError(path, `${what}: ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------- zip

function rangesOverlap(start: number, length: number, [from, to]: [number, number]): boolean {
  return start < to && start + Math.max(length, 1) > from;
}

async function describeZip(file: RandomAccessFile): Promise<ModelDescription> {
  const path = file.path;
  const dir = readZipDirectory(file, { resolveDataOffsets: false });
  placeRemoteEntries(file, dir);
  const pkls = dir.entries.filter((e) => /^([^/]+\/)?data\.pkl$/.test(e.name));
  if (pkls.length === 0) {
    if (dir.entries.some((e) => e.name.endsWith('.npy'))) {
      throw new DiffaiError(path, 'a zip of .npy files (NumPy .npz), not a PyTorch archive');
    }
    throw new DiffaiError(path, 'zip archive has no data.pkl: not a PyTorch checkpoint');
  }
  const warnings: string[] = warningList();
  const pkl = pkls[0]!;
  if (pkls.length > 1) warnings.push(`archive has ${pkls.length} data.pkl records; read ${pkl.name}`);
  const root = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length); // '' or 'name/'
  const byName = new Map<string, ZipEntry>();
  for (const e of dir.entries) if (e.name.startsWith(root)) byName.set(e.name.slice(root.length), e);
  const isTorchScript = byName.has('constants.pkl') || [...byName.keys()].some((n) => n.startsWith('code/'));

  let byteOrder: 'little' | 'big' = 'little';
  const bo = byName.get('byteorder');
  if (bo) {
    const text = (await readSmallEntry(file, bo, 16)).toString('latin1').trim();
    if (text === 'big') byteOrder = 'big';
    else if (text !== 'little') throw new DiffaiError(path, `unknown byteorder ${JSON.stringify(text)}`);
  }

  const pklData = await readSmallEntry(file, pkl, MAX_PICKLE_BYTES);
  const pklInFile = pkl.method === ZIP_METHOD_STORED;
  const pklBase = pklInFile ? resolveDataOffset(file, pkl, dir.centralDirectoryOffset) : 0;
  const ctx: TorchContext = { storages: new Map(), warnings, unlistedClasses: [] };
  const value = guard(path, 'data.pkl', () => unpickle(new BufferInput(pklData, pklBase), torchHooks(ctx)).value);
  const flat = guard(path, 'data.pkl', () => flatten(value));

  let pklSpan: [number, number] | undefined;
  const pklRange = (): [number, number] => (pklSpan ??= [pkl.localHeaderOffset, resolveDataOffset(file, pkl, dir.centralDirectoryOffset) + pkl.compressedSize]);
  const locations = new Map<string, StorageLocation>();
  const locate = (st: StorageRef): StorageLocation => {
    const hit = locations.get(st.key);
    if (hit) return hit;
    const entry = byName.get(`data/${st.key}`);
    if (!entry) throw new DiffaiError(path, `storage data/${st.key} is missing from the archive`);
    const dataOffset = resolveDataOffset(file, entry, dir.centralDirectoryOffset);
    // A storage record may not alias the pickle's own bytes (a second central-directory name
    // for data.pkl's record, or a range inside it): those bytes are code, not tensor data.
    if (entry.localHeaderOffset === pkl.localHeaderOffset || rangesOverlap(dataOffset, entry.compressedSize, pklRange())) {
      throw new DiffaiError(path, `storage ${entry.name} overlaps the archive's ${pkl.name} record`);
    }
    let loc: StorageLocation;
    if (entry.method === ZIP_METHOD_STORED) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        throw new DiffaiError(path, `stored entry ${entry.name} has different compressed and uncompressed sizes`);
      }
      loc = { source: { kind: 'file', path, offset: dataOffset, length: entry.uncompressedSize }, byteLength: entry.uncompressedSize };
    } else if (entry.method === ZIP_METHOD_DEFLATE) {
      loc = {
        source: {
          kind: 'deflate',
          path,
          offset: dataOffset,
          compressedLength: entry.compressedSize,
          format: 'raw',
          skip: 0,
          length: entry.uncompressedSize,
        },
        byteLength: entry.uncompressedSize,
      };
    } else {
      throw new DiffaiError(path, `storage ${entry.name} uses unsupported zip compression method ${entry.method}`);
    }
    locations.set(st.key, loc);
    return loc;
  };

  const tensors = buildDescriptors(path, flat, locate, byteOrder, pklInFile, warnings);
  checkViewWork(path, tensors, file.size);
  if (isTorchScript) warnings.push('TorchScript archive: tensors read from data.pkl; code and constants are ignored');
  if (flat.topKind.startsWith('pickled nn.Module')) {
    warnings.push(`${flat.topKind}: its parameters and persistent buffers are read as a state_dict`);
  }
  checkSomethingDecoded(path, flat, tensors);
  warnings.push(...flat.warnings);
  return { path, format: 'pytorch', tensors, leaves: flat.leaves, warnings, unlistedClasses: ctx.unlistedClasses };
}

// ------------------------------------------------------------------------------- legacy

function describeLegacy(file: RandomAccessFile): ModelDescription {
  const path = file.path;
  const readAt = (pos: number, len: number): Uint8Array => readRange(file, pos, len, { what: 'legacy pickle' });
  const input = (start: number): PickleInput => new FileInput(readAt, start, Math.min(file.size, start + MAX_PICKLE_BYTES));
  const warnings: string[] = warningList();

  const magic = guard(path, 'legacy header', () => unpickle(input(0), {}, { maxOps: 100 }));
  if (magic.value !== LEGACY_MAGIC_NUMBER) throw new DiffaiError(path, 'legacy torch file with a wrong magic number');
  const proto = guard(path, 'legacy header', () => unpickle(input(magic.end), {}, { maxOps: 100 }));
  if (proto.value !== LEGACY_PROTOCOL_VERSION) {
    throw new DiffaiError(path, `unsupported legacy torch protocol version ${String(proto.value)}`);
  }
  const sys = guard(path, 'legacy system info', () => unpickle(input(proto.end), {}, { maxOps: 10_000 }));
  let byteOrder: 'little' | 'big' = 'little';
  if (sys.value instanceof PyDict && sys.value.get('little_endian') === false) byteOrder = 'big';

  const ctx: TorchContext = { storages: new Map(), warnings, unlistedClasses: [] };
  const main = guard(path, 'legacy pickle', () => unpickle(input(sys.end), torchHooks(ctx)));
  const keysP = guard(path, 'legacy storage keys', () => unpickle(input(main.end), {}));
  const keys = keysP.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || typeof k === 'number')) {
    throw new DiffaiError(path, 'legacy storage key list is malformed');
  }

  // Storages follow in key order: an int64 element count, then the bytes. A remote file takes
  // the count its pickle declares (torch writes the same number) and checks the stored one
  // before the storage's bytes are used, instead of one request per storage.
  const locations = new Map<string, StorageLocation>();
  const checks: ByteCheck[] = [];
  let pos = keysP.end;
  for (const k of keys as (string | number)[]) {
    const key = String(k);
    const st = ctx.storages.get(key);
    if (!st) throw new DiffaiError(path, `legacy storage ${key} is listed but never used`);
    if (!st.dtype) throw new DiffaiError(path, `legacy storage ${key} has an unsupported type (${st.unsupported ?? st.storageClass})`);
    if (pos + 8 > file.size) throw new DiffaiError(path, `truncated: legacy storage ${key} header at byte ${pos} is past the end of the file`);
    let count: bigint;
    if (file.expect && Number.isSafeInteger(st.declaredNumel) && st.declaredNumel >= 0) {
      count = BigInt(st.declaredNumel);
      const expected = new Uint8Array(8);
      new DataView(expected.buffer).setBigUint64(0, count, byteOrder === 'little');
      const bytes = Number(count * BigInt(byteLength(st.dtype, 1)));
      if (bytes > 0) {
        checks.push({
          position: pos,
          expected,
          mask: 0xff,
          guardStart: pos + 8,
          guardEnd: pos + 8 + bytes,
          mismatch: `legacy storage ${key}: the element count stored at byte ${pos} is not the ${count} its pickle declares; download the file and give its local path`,
        });
      }
    } else count = new ByteCursor(readRange(file, pos, 8), path, { littleEndian: byteOrder === 'little', what: `legacy storage ${key}` }).u64n('element count');
    const elsize = BigInt(byteLength(st.dtype, 1));
    const bytes = count * elsize;
    if (BigInt(pos) + 8n + bytes > BigInt(file.size)) {
      throw new DiffaiError(
        path,
        `truncated: legacy storage ${key} declares ${count} elements (${bytes} bytes) at byte ${pos + 8} but the file has ${file.size}`,
      );
    }
    const length = Number(bytes);
    locations.set(key, { source: { kind: 'file', path, offset: pos + 8, length }, byteLength: length });
    pos += 8 + length;
  }
  if (pos !== file.size) warnings.push(`${file.size - pos} trailing bytes after the last storage`);
  file.expect?.(checks);

  const flat = guard(path, 'legacy pickle', () => flatten(main.value));
  const locate = (st: StorageRef): StorageLocation => {
    const loc = locations.get(st.key);
    if (!loc) throw new DiffaiError(path, `legacy storage ${st.key} is used but not in the storage list`);
    return loc;
  };
  const tensors = buildDescriptors(path, flat, locate, byteOrder, true, warnings);
  checkViewWork(path, tensors, file.size);
  checkSomethingDecoded(path, flat, tensors);
  warnings.push(...flat.warnings);
  return { path, format: 'pytorch', tensors, leaves: flat.leaves, warnings, unlistedClasses: ctx.unlistedClasses };
}

// -------------------------------------------------------------------------- descriptors

function checkSomethingDecoded(path: string, flat: Flattened, tensors: TensorDescriptor[]): void {
  if (tensors.length > 0) return;
  if (flat.placeholders.size > 0 && Object.keys(flat.leaves).length <= flat.placeholders.size) {
    const classes = [...flat.placeholders];
    throw new UnsafePickleError(
      path,
      `checkpoint holds ${flat.topKind} (${classes.slice(0, 3).join(', ')}) which diffai cannot decode without running code`,
      classes,
    );
  }
}

/** Bytes of element work a checkpoint may ask for beyond MAX_WORK_RATIO times its size. */
const MAX_WORK_BASE = 4 * 1024 ** 3;
/** Real checkpoints read each stored byte about once (views split a storage); a few overlapping views are fine. */
const MAX_WORK_RATIO = 16;

/**
 * Views of one storage can each cover most of it (`b[i:]` for i = 0…999 of a 100 MB storage:
 * a legitimate torch.save of 100 MB asking for 100 GB of statistics). The bytes every
 * distinct tensor visits (a broadcast or overlapping view: at most its storage span, as the
 * engine counts it by multiplicities) are bounded in proportion to the file.
 */
function checkViewWork(path: string, tensors: readonly TensorDescriptor[], fileBytes: number): void {
  const seen = new Set<string>();
  let work = 0;
  const limit = MAX_WORK_BASE + MAX_WORK_RATIO * fileBytes;
  for (const t of tensors) {
    // Deflated storages are counted by the inflate budget (formats/inflate-budget.ts), each read inflating from the stream's start.
    if (t.numel === 0 || t.source.kind === 'deflate') continue;
    const s = t.source;
    const v = t.view;
    const key = `${s.offset}\0${s.length}\0${v ? `${v.offset}:${v.strides.join(',')}` : '-'}\0${t.dtype}\0${t.shape.join(',')}`;
    if (seen.has(key)) continue; // a tie: one storage and view under two names is counted once
    seen.add(key);
    let elements = t.numel;
    if (v) {
      let span = 1;
      (v.dims ?? t.shape).forEach((d, k) => {
        span += Math.max(0, d - 1) * Math.abs(v.strides[k] ?? 0);
      });
      elements = Math.min(elements, span);
    }
    work += elements * byteLength(t.storedAs ?? t.dtype, 1);
    if (work > limit)
      throw new DiffaiError(
        path,
        `its tensors view the stored bytes over and over (${work}+ bytes of work from a ${fileBytes}-byte file, over ${MAX_WORK_RATIO}× its size plus 4 GiB)`,
      );
  }
}

function shapeNumel(path: string, name: string, shape: number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new DiffaiError(path, `tensor ${name}: shape [${shape.join(', ')}] is absurdly large`);
  }
  return n;
}

/** The byte range [start, start+length) of a storage source, keeping its kind. */
function subSource(src: ByteSource, start: number, length: number): ByteSource {
  if (src.kind === 'file') return { ...src, offset: src.offset + start, length };
  if (src.kind === 'deflate') return { ...src, skip: src.skip + start, length };
  throw new DiffaiError(src.path, 'a storage cannot be packed varints');
}

function buildDescriptors(
  path: string,
  flat: Flattened,
  locate: (st: StorageRef) => StorageLocation,
  byteOrder: 'little' | 'big',
  pickleInFile: boolean,
  warnings: string[],
): TensorDescriptor[] {
  const out = tensorList(path);
  for (const { name, ref } of flat.tensors) {
    if (ref.hostKind === 'ndarray') {
      const d = numpyDescriptor(path, name, ref, pickleInFile, warnings);
      if (d) out.push(d);
      continue;
    }
    out.push(torchDescriptor(path, name, ref, locate(ref.storage), byteOrder));
  }
  return out;
}

function torchDescriptor(path: string, name: string, t: TensorRef, loc: StorageLocation, byteOrder: 'little' | 'big'): TensorDescriptor {
  const el = byteLength(t.dtype, 1);
  const numel = shapeNumel(path, name, t.shape);
  const st = t.storage;
  const storageClassSize = st.dtype ? byteLength(st.dtype, 1) : 1;
  const declaredBytes = st.declaredNumel * storageClassSize;
  if (declaredBytes > loc.byteLength) {
    throw new DiffaiError(path, `storage ${st.key} declares ${st.declaredNumel} elements (${declaredBytes} bytes) but holds ${loc.byteLength} bytes`);
  }
  const storageNumel = Math.floor(loc.byteLength / el);
  const desc: TensorDescriptor = {
    name,
    dtype: t.dtype,
    shape: t.shape,
    numel,
    source: subSource(loc.source, 0, 0),
    byteOrder: el === 1 ? 'little' : byteOrder,
  };
  if (numel > 0) {
    let last = t.offset;
    for (let i = 0; i < t.shape.length; i++) last += (t.shape[i]! - 1) * t.strides[i]!;
    if (!Number.isSafeInteger(last) || last >= storageNumel) {
      throw new DiffaiError(
        path,
        `tensor ${name}: shape [${t.shape.join(', ')}] with strides [${t.strides.join(', ')}] at offset ${t.offset} runs past its storage of ${storageNumel} elements`,
      );
    }
    if (isContiguousLayout(t.shape, t.strides)) {
      // a contiguous slice: narrow the source to exactly its bytes
      desc.source = subSource(loc.source, t.offset * el, numel * el);
    } else {
      // a strided view: the whole storage plus offset/strides in elements
      desc.source = subSource(loc.source, 0, storageNumel * el);
      desc.view = { offset: t.offset, strides: [...t.strides] };
    }
  } else {
    desc.source = subSource(loc.source, Math.min(t.offset * el, loc.byteLength), 0);
  }
  if (t.quantization) desc.quantization = t.quantization;
  if (t.notes.length) desc.notes = [...t.notes];
  return desc;
}

function numpyDescriptor(path: string, name: string, a: NumpyArray, pickleInFile: boolean, warnings: string[]): TensorDescriptor | undefined {
  const dtype: DType | undefined = numpyDtype(a.dtype);
  if (a.problem || !a.shape || !a.data || !dtype) {
    warnings.push(`${name}: numpy array skipped: ${a.problem ?? (dtype ? 'incomplete' : `dtype ${a.dtype?.code ?? '?'} not supported`)}`);
    return undefined;
  }
  if (!pickleInFile || a.data.offset < 0) {
    warnings.push(`${name}: numpy array skipped: its bytes are not stored verbatim in the file`);
    return undefined;
  }
  const numel = shapeNumel(path, name, a.shape);
  const el = byteLength(dtype, 1);
  if (numel * el !== a.data.length) {
    throw new DiffaiError(path, `numpy array ${name}: shape [${a.shape.join(', ')}] needs ${numel * el} bytes but has ${a.data.length}`);
  }
  const desc: TensorDescriptor = {
    name,
    dtype,
    shape: a.shape,
    numel,
    source: { kind: 'file', path, offset: a.data.offset, length: a.data.length },
    byteOrder: a.dtype!.byteOrder === 'big' ? 'big' : 'little',
    notes: ['numpy array'],
  };
  const view = a.fortran ? fortranView(a.shape) : undefined;
  if (view) desc.view = view;
  return desc;
}

export type { PyValue };
