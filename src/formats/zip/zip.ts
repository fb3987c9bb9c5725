/**
 * A positional zip central-directory reader. It reads only the end records, the central
 * directory and (per entry) the local header, never the archive. Shared by the PyTorch
 * (torch zip archives) and NumPy (.npz) readers.
 *
 * Handles zip64 (the zip64 end record and locator, zip64 extra fields in central entries);
 * torch's writer always appends a zip64 end record without saturating the classic fields,
 * so the zip64 record is preferred whenever it is present and valid.
 */
import { DiffaiError } from '../../errors.js';
import { ByteCursor } from '../../io/cursor.js';
import { RandomAccessFile } from '../../io/file.js';
import type { ByteCheck } from '../../io/random-access.js';
import { inflateRangeSync } from '../../io/inflate.js';
import { cursorAt, readRange } from '../../io/range.js';

export const ZIP_METHOD_STORED = 0;
export const ZIP_METHOD_DEFLATE = 8;

export interface ZipEntry {
  /** Entry name as stored (UTF-8 when flag bit 11 is set, else decoded as latin1). */
  name: string;
  /** Bytes of the name in the central directory. */
  nameLength: number;
  /** Compression method (0 stored, 8 deflate, anything else is listed but unsupported). */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Absolute offset of the local file header. */
  localHeaderOffset: number;
  /** Absolute offset of the entry's (possibly compressed) data: local header parsed. */
  dataOffset: number;
  /** True when the entry needed zip64 fields. */
  zip64: boolean;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** True when the archive has a zip64 end-of-central-directory record. */
  zip64: boolean;
  /** Absolute offset and size of the central directory. */
  centralDirectoryOffset: number;
  centralDirectorySize: number;
}

/**
 * Most entries a zip may have. Real torch archives hold one entry per storage plus a few
 * records (a few thousand at most for the largest single-file checkpoints); real .npz files
 * one per array. 131,072 is 30× that and keeps a full diff of two such archives within the
 * tool's memory budget; more is refused by name (a 1.2-million-entry archive is a denial of
 * service, not a model).
 */
export const MAX_ZIP_ENTRIES = 131_072;
/** Largest central directory read (bytes): 512 bytes per entry of the budget. */
export const MAX_CENTRAL_DIRECTORY_BYTES = MAX_ZIP_ENTRIES * 512;

export interface ZipReadOptions {
  /** Largest central directory accepted (bytes); default MAX_CENTRAL_DIRECTORY_BYTES. */
  maxCentralDirectoryBytes?: number;
  /** Most entries accepted; default MAX_ZIP_ENTRIES. */
  maxEntries?: number;
  /** Parse local headers to find data offsets (default true). */
  resolveDataOffsets?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const MAX_COMMENT = 0xffff;

/** True when `head` starts with a zip local file header (or an empty archive's end record). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06));
}

/**
 * The name of the first local file header in `head`, and whether it was cut off by the end of
 * `head`. Undefined when `head` is not a local file header.
 */
export function firstLocalName(head: Uint8Array): { name: string; complete: boolean; nameLength: number } | undefined {
  if (head.length < LOCAL_HEADER_SIZE) return undefined;
  const c = new ByteCursor(head, '', { what: 'zip local header' });
  if (c.u32('signature') !== SIG_LOCAL) return undefined;
  const nameLength = c.seek(26).u16('name length');
  c.seek(LOCAL_HEADER_SIZE);
  const n = Math.min(c.remaining, nameLength);
  return { name: c.latin1(n, 'name', Infinity), complete: n === nameLength, nameLength };
}

/** Reads the central directory of the zip archive open in `file`. */
export function readZipDirectory(file: RandomAccessFile, options: ZipReadOptions = {}): ZipDirectory {
  const path = file.path;
  const maxCd = options.maxCentralDirectoryBytes ?? MAX_CENTRAL_DIRECTORY_BYTES;
  const maxEntries = options.maxEntries ?? MAX_ZIP_ENTRIES;
  const size = file.size;
  if (size < EOCD_SIZE) throw new DiffaiError(path, `zip: file too small to be a zip archive (${size} bytes)`);

  // Find the end-of-central-directory record in the last 64 KiB + 22 bytes.
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLen;
  const tail = cursorAt(file, tailStart, tailLen, { what: 'zip end records' });
  let eocdRel = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tail.seek(i).u32('end record signature') === SIG_EOCD) {
      const commentLen = tail.seek(i + 20).u16('comment length');
      if (i + EOCD_SIZE + commentLen <= tailLen) {
        eocdRel = i;
        break;
      }
    }
  }
  if (eocdRel < 0) {
    throw new DiffaiError(path, 'zip: no end-of-central-directory record (truncated or not a zip archive)');
  }
  const eocdPos = tailStart + eocdRel;
  const eocd = tail.seek(eocdRel + 4);
  const diskNo = eocd.u16('disk number');
  const cdDisk = eocd.u16('central directory disk');
  let count = eocd.skip(2).u16('entry count');
  let cdSize = eocd.u32('central directory size');
  let cdOffset = eocd.u32('central directory offset');
  let zip64 = false;

  // zip64 locator: 20 bytes right before the EOCD.
  if (eocdPos >= 20) {
    const loc = cursorAt(file, eocdPos - 20, 20, { what: 'zip64 locator' });
    if (loc.u32('signature') === SIG_ZIP64_LOCATOR) {
      const recPos = loc.skip(4).u64('zip64 end record offset');
      if (recPos + 56 > eocdPos - 20) throw new DiffaiError(path, 'zip: zip64 end record offset points outside the archive');
      const rec = cursorAt(file, recPos, 56, { what: 'zip64 end record' });
      if (rec.u32('signature') !== SIG_ZIP64_EOCD) throw new DiffaiError(path, 'zip: bad zip64 end-of-central-directory signature');
      zip64 = true;
      const recDisk = rec.seek(16).u32('disk number');
      const recCdDisk = rec.u32('central directory disk');
      count = rec.seek(32).u64('zip64 entry count');
      cdSize = rec.u64('zip64 central directory size');
      cdOffset = rec.u64('zip64 central directory offset');
      if (recDisk !== 0 || recCdDisk !== 0) {
        throw new DiffaiError(path, 'zip: multi-disk (split) archives are not supported');
      }
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new DiffaiError(path, 'zip: end record needs zip64 fields but the zip64 locator is missing');
    }
  }
  if (!zip64 && (diskNo !== 0 || cdDisk !== 0)) throw new DiffaiError(path, 'zip: multi-disk (split) archives are not supported');
  if (cdOffset + cdSize > eocdPos) {
    throw new DiffaiError(path, `zip: central directory (${cdOffset}+${cdSize}) overlaps the end record at ${eocdPos} (truncated?)`);
  }
  if (count > maxEntries) throw new DiffaiError(path, `zip: ${count} entries exceed the limit of ${maxEntries} (model archives have a few thousand)`);
  if (cdSize > maxCd) throw new DiffaiError(path, `zip: central directory of ${cdSize} bytes exceeds the ${maxCd}-byte limit`);
  if (count * CENTRAL_HEADER_SIZE > cdSize) throw new DiffaiError(path, `zip: ${count} entries cannot fit a ${cdSize}-byte central directory`);

  const cd = cursorAt(file, cdOffset, cdSize, { what: 'zip central directory', budget: maxCd });
  const entries: ZipEntry[] = [];
  /** Where each entry's record ends at the least: local header, its name and the data (extra fields unknown yet). */
  const minimalEnds: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = cd.pos;
    if (cd.remaining < CENTRAL_HEADER_SIZE || cd.u32('entry signature') !== SIG_CENTRAL) {
      throw new DiffaiError(path, `zip: central directory entry ${i} is malformed`);
    }
    const flags = cd.seek(p + 8).u16('flags');
    const method = cd.u16('method');
    const crc32 = cd.skip(4).u32('crc32');
    let csize = cd.u32('compressed size');
    let usize = cd.u32('uncompressed size');
    const nameLen = cd.u16('name length');
    const extraLen = cd.u16('extra length');
    const commentLen = cd.u16('comment length');
    let localOff = cd.skip(8).u32('local header offset');
    if (nameLen + extraLen + commentLen > cd.remaining) throw new DiffaiError(path, `zip: central directory entry ${i} runs past the directory`);
    const name = cd.buffer(nameLen, 'entry name').toString(flags & 0x800 ? 'utf8' : 'latin1');
    const extra = cd.sub(extraLen, 'extra field', 'zip extra field');
    cd.skip(commentLen, 'entry comment');
    let entryZip64 = false;
    if (usize === 0xffffffff || csize === 0xffffffff || localOff === 0xffffffff) {
      // zip64 extended information: only the saturated fields, in order usize, csize, offset.
      let found = false;
      while (extra.remaining >= 4) {
        const id = extra.u16('extra id');
        const len = extra.u16('extra length');
        if (len > extra.remaining) break;
        const field = extra.sub(len, 'extra data', 'zip64 extra field');
        if (id === 0x0001) {
          const take = (what: string): number => {
            if (field.remaining < 8) throw new DiffaiError(path, `zip: zip64 extra field of "${name}" is too short for ${what}`);
            const v = field.u64n(what);
            if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DiffaiError(path, `zip: ${what} of "${name}" ${v} is out of range`);
            return Number(v);
          };
          if (usize === 0xffffffff) usize = take('uncompressed size');
          if (csize === 0xffffffff) csize = take('compressed size');
          if (localOff === 0xffffffff) localOff = take('local header offset');
          found = true;
          break;
        }
      }
      if (!found) throw new DiffaiError(path, `zip: entry "${name}" needs a zip64 extra field but has none`);
      entryZip64 = true;
    }
    if (flags & 0x1) throw new DiffaiError(path, `zip: entry "${name}" is encrypted`);
    if (localOff + LOCAL_HEADER_SIZE > cdOffset) throw new DiffaiError(path, `zip: entry "${name}" starts outside the archive data`);
    minimalEnds.push(localOff + LOCAL_HEADER_SIZE + nameLen + csize);
    entries.push({
      name,
      nameLength: nameLen,
      method,
      flags,
      crc32,
      compressedSize: csize,
      uncompressedSize: usize,
      localHeaderOffset: localOff,
      dataOffset: -1,
      zip64: entryZip64,
    });
  }

  if (options.resolveDataOffsets !== false) {
    entries.forEach((e, i) => {
      e.dataOffset = resolveDataOffset(file, e, cdOffset);
      minimalEnds[i] = e.dataOffset + e.compressedSize;
    });
  }
  refuseOverlaps(path, entries, minimalEnds);
  return { entries, zip64, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize };
}

/**
 * Entries whose records share bytes are refused: a real archive never has them, and a
 * crafted one uses them to make many names inflate the same huge stream (a zip bomb). An
 * entry spans at least [local header, `ends[i]`).
 */
function refuseOverlaps(path: string, entries: ZipEntry[], ends: number[]): void {
  const start = (i: number) => entries[i]!.localHeaderOffset;
  let order: ArrayLike<number> | undefined;
  for (let i = 1; i < entries.length && order === undefined; i++) {
    if (start(i) < start(i - 1)) order = Uint32Array.from(entries.keys()).sort((x, y) => start(x) - start(y));
  }
  for (let k = 1; k < entries.length; k++) {
    const previous = order === undefined ? k - 1 : order[k - 1]!;
    const i = order === undefined ? k : order[k]!;
    if (start(i) < ends[previous]!) {
      throw new DiffaiError(
        path,
        `zip: entries "${entries[previous]!.name}" and "${entries[i]!.name}" overlap (records at ${start(previous)} and ${start(i)})`,
      );
    }
  }
}

/**
 * The one place a zip entry's data offset is computed: parses its local header (whose name
 * and extra lengths may differ from the central directory's) and checks that the data ends
 * before `limit` (the central directory, or the file end), even when already cached in
 * `entry.dataOffset`.
 */
export function resolveDataOffset(file: RandomAccessFile, entry: ZipEntry, limit = file.size): number {
  const path = file.path;
  let data = entry.dataOffset;
  if (data < 0)
    data = localDataOffset(path, entry, cursorAt(file, entry.localHeaderOffset, LOCAL_HEADER_SIZE, { what: `zip local header of "${entry.name}"` }));
  if (data + entry.compressedSize > limit) {
    throw new DiffaiError(path, `zip: data of "${entry.name}" (${entry.compressedSize} bytes at ${data}) runs past the archive data (truncated?)`);
  }
  entry.dataOffset = data;
  return data;
}

/** Bit 3 of the flags: CRC and sizes follow the data in a data descriptor. */
const FLAG_DATA_DESCRIPTOR = 0x8;
/** Data descriptor lengths, most likely first: with signature (torch's miniz), zip64 with signature, then without. */
const DESCRIPTOR_LENGTHS = [16, 24, 12, 20];
/** torch's writer starts every entry's data on a multiple of this. */
const TORCH_DATA_ALIGNMENT = 64;

/**
 * Data offsets of a remote archive without a request per entry. Records lie back to back, so
 * an entry's data ends where the next record starts (the central directory, after the last
 * one), less its data descriptor when it has one: torch's writer adds a 16-byte one (24 for
 * zip64) and aligns data to 64 bytes, which tells the descriptor lengths apart. The local
 * headers that must confirm each offset are handed to the file as checks, made before any
 * byte of that data is used (a wrong guess is an error then, never wrong numbers); entries
 * this cannot place have their local headers fetched together, coalesced, instead.
 */
export function placeRemoteEntries(file: RandomAccessFile, dir: ZipDirectory): void {
  if (!file.expect) return;
  const entries = [...dir.entries].sort((x, y) => x.localHeaderOffset - y.localHeaderOffset);
  const placed = entries.map((e, k) => {
    const next = k + 1 < entries.length ? entries[k + 1]!.localHeaderOffset : dir.centralDirectoryOffset;
    const headerEnd = e.localHeaderOffset + LOCAL_HEADER_SIZE + e.nameLength;
    const fits = (data: number) => data >= headerEnd && data - headerEnd <= 0xffff;
    if ((e.flags & FLAG_DATA_DESCRIPTOR) === 0) return fits(next - e.compressedSize) ? next - e.compressedSize : undefined;
    const aligned = DESCRIPTOR_LENGTHS.map((d) => next - d - e.compressedSize).filter((at) => at % TORCH_DATA_ALIGNMENT === 0 && fits(at));
    return aligned.length === 1 ? aligned[0] : undefined;
  });
  // Alignment tells descriptor lengths apart only in an archive written that way throughout.
  const descriptors = entries.map((e) => (e.flags & FLAG_DATA_DESCRIPTOR) !== 0);
  if (entries.some((_, k) => descriptors[k] && placed[k] === undefined)) {
    for (let k = 0; k < entries.length; k++) if (descriptors[k]) placed[k] = undefined;
  }
  const checks: ByteCheck[] = [];
  const unplaced: ZipEntry[] = [];
  entries.forEach((e, k) => {
    const data = placed[k];
    if (e.dataOffset >= 0) return;
    if (data === undefined) {
      unplaced.push(e);
      return;
    }
    e.dataOffset = data;
    if (e.compressedSize === 0) return; // no byte to guard
    const extraLength = data - (e.localHeaderOffset + LOCAL_HEADER_SIZE + e.nameLength);
    // The signature, then the name and extra lengths that put the data there.
    const expected = new Uint8Array(LOCAL_HEADER_SIZE);
    expected.set([0x50, 0x4b, 0x03, 0x04]);
    expected.set([e.nameLength & 0xff, e.nameLength >> 8, extraLength & 0xff, extraLength >> 8], 26);
    checks.push({
      position: e.localHeaderOffset,
      expected,
      mask: 0xf | (0xf << 26),
      guardStart: data,
      guardEnd: data + e.compressedSize,
      mismatch: `zip: the local header of "${e.name}" at byte ${e.localHeaderOffset} does not put its data where the central directory implies (records not back to back?); download the file and give its local path`,
    });
  });
  file.expect(checks);
  // The rest: their local headers read together rather than one request each.
  const headers = file.readRanges?.(unplaced.map((e) => [e.localHeaderOffset, e.localHeaderOffset + LOCAL_HEADER_SIZE])) ?? [];
  headers.forEach((bytes, i) => {
    unplaced[i]!.dataOffset = localDataOffset(
      file.path,
      unplaced[i]!,
      new ByteCursor(bytes, file.path, { what: `zip local header of "${unplaced[i]!.name}"`, base: unplaced[i]!.localHeaderOffset }),
    );
  });
}

/** Where the entry's data starts, by its local header (`h`: its first LOCAL_HEADER_SIZE bytes). */
function localDataOffset(path: string, entry: ZipEntry, h: ByteCursor): number {
  if (h.u32('signature') !== SIG_LOCAL) throw new DiffaiError(path, `zip: bad local header signature for "${entry.name}"`);
  const nameLen = h.seek(26).u16('name length');
  const extraLen = h.u16('extra length');
  return entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLen + extraLen;
}

/** Opens `path` and lists its zip entries. */
export function listZip(path: string, options?: ZipReadOptions): ZipDirectory {
  const file = RandomAccessFile.open(path);
  try {
    return readZipDirectory(file, options);
  } finally {
    file.close();
  }
}

/**
 * Reads a small entry's bytes (STORED or DEFLATE) whole; for metadata entries such as
 * torch's `data.pkl` or `byteorder`. `maxBytes` bounds the uncompressed size.
 */
export async function readSmallEntry(file: RandomAccessFile, entry: ZipEntry, maxBytes: number): Promise<Buffer> {
  const path = file.path;
  if (entry.uncompressedSize > maxBytes) {
    throw new DiffaiError(path, `zip: entry "${entry.name}" is ${entry.uncompressedSize} bytes, over the ${maxBytes}-byte limit`);
  }
  const dataOffset = resolveDataOffset(file, entry);
  if (entry.method === ZIP_METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new DiffaiError(path, `zip: stored entry "${entry.name}" has different compressed and uncompressed sizes`);
    }
    return readRange(file, dataOffset, entry.compressedSize, { what: `zip entry "${entry.name}"` });
  }
  if (entry.method === ZIP_METHOD_DEFLATE) {
    if (entry.compressedSize > maxBytes) {
      throw new DiffaiError(path, `zip: entry "${entry.name}" is ${entry.compressedSize} compressed bytes, over the ${maxBytes}-byte limit`);
    }
    // Capped at the declared size: a stream that inflates to more is refused before it fills memory.
    const out = inflateRangeSync(file, dataOffset, entry.compressedSize, 'raw', {
      what: `zip entry "${entry.name}"`,
      maxOutput: entry.uncompressedSize,
    });
    if (out.length !== entry.uncompressedSize) {
      throw new DiffaiError(path, `zip: "${entry.name}" inflates to ${out.length} bytes, not the declared ${entry.uncompressedSize}`);
    }
    return out;
  }
  throw new DiffaiError(path, `zip: entry "${entry.name}" uses unsupported compression method ${entry.method}`);
}
