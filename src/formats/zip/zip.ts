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
import { RandomAccessFile } from '../../io/file.js';

export const ZIP_METHOD_STORED = 0;
export const ZIP_METHOD_DEFLATE = 8;

export interface ZipEntry {
  /** Entry name as stored (UTF-8 when flag bit 11 is set, else decoded as latin1). */
  name: string;
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

export interface ZipReadOptions {
  /** Largest central directory accepted (bytes); default 256 MiB. */
  maxCentralDirectoryBytes?: number;
  /** Most entries accepted; default 10,000,000. */
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
const MAX_COMMENT = 0xffff;

/** True when `head` starts with a zip local file header (or an empty archive's end record). */
export function looksLikeZip(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06))
  );
}

/**
 * The name of the first local file header in `head`, and whether it was cut off by the end of
 * `head`. Undefined when `head` is not a local file header.
 */
export function firstLocalName(head: Uint8Array): { name: string; complete: boolean } | undefined {
  if (head.length < 30) return undefined;
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (b.readUInt32LE(0) !== SIG_LOCAL) return undefined;
  const nameLen = b.readUInt16LE(26);
  const end = Math.min(b.length, 30 + nameLen);
  return { name: b.toString('latin1', 30, end), complete: end === 30 + nameLen };
}

function u64(b: Buffer, at: number, file: string, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DiffaiError(file, `zip: ${what} ${v} is out of range`);
  return Number(v);
}

/** Reads the central directory of the zip archive open in `file`. */
export function readZipDirectory(file: RandomAccessFile, options: ZipReadOptions = {}): ZipDirectory {
  const path = file.path;
  const maxCd = options.maxCentralDirectoryBytes ?? 256 * 1024 * 1024;
  const maxEntries = options.maxEntries ?? 10_000_000;
  const size = file.size;
  if (size < EOCD_SIZE) throw new DiffaiError(path, `zip: file too small to be a zip archive (${size} bytes)`);

  // Find the end-of-central-directory record in the last 64 KiB + 22 bytes.
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLen;
  const tail = file.read(tailStart, tailLen);
  let eocdRel = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD) {
      const commentLen = tail.readUInt16LE(i + 20);
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
  const diskNo = tail.readUInt16LE(eocdRel + 4);
  const cdDisk = tail.readUInt16LE(eocdRel + 6);
  let count = tail.readUInt16LE(eocdRel + 10);
  let cdSize = tail.readUInt32LE(eocdRel + 12);
  let cdOffset = tail.readUInt32LE(eocdRel + 16);
  let zip64 = false;

  // zip64 locator: 20 bytes right before the EOCD.
  if (eocdPos >= 20) {
    const loc = file.read(eocdPos - 20, 20);
    if (loc.readUInt32LE(0) === SIG_ZIP64_LOCATOR) {
      const recPos = u64(loc, 8, path, 'zip64 end record offset');
      if (recPos + 56 > eocdPos - 20) throw new DiffaiError(path, 'zip: zip64 end record offset points outside the archive');
      const rec = file.read(recPos, 56);
      if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw new DiffaiError(path, 'zip: bad zip64 end-of-central-directory signature');
      zip64 = true;
      count = u64(rec, 32, path, 'zip64 entry count');
      cdSize = u64(rec, 40, path, 'zip64 central directory size');
      cdOffset = u64(rec, 48, path, 'zip64 central directory offset');
      if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) {
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
  if (cdSize > maxCd) throw new DiffaiError(path, `zip: central directory of ${cdSize} bytes exceeds the ${maxCd}-byte limit`);
  if (count > maxEntries) throw new DiffaiError(path, `zip: ${count} entries exceed the limit of ${maxEntries}`);
  if (count * 46 > cdSize) throw new DiffaiError(path, `zip: ${count} entries cannot fit a ${cdSize}-byte central directory`);

  const cd = file.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) {
      throw new DiffaiError(path, `zip: central directory entry ${i} is malformed`);
    }
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc32 = cd.readUInt32LE(p + 16);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOff = cd.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new DiffaiError(path, `zip: central directory entry ${i} runs past the directory`);
    const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    let entryZip64 = false;
    if (usize === 0xffffffff || csize === 0xffffffff || localOff === 0xffffffff) {
      // zip64 extended information: only the saturated fields, in order usize, csize, offset.
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      let found = false;
      while (q + 4 <= extraEnd) {
        const id = cd.readUInt16LE(q);
        const len = cd.readUInt16LE(q + 2);
        if (q + 4 + len > extraEnd) break;
        if (id === 0x0001) {
          let r = q + 4;
          const take = (what: string): number => {
            if (r + 8 > q + 4 + len) throw new DiffaiError(path, `zip: zip64 extra field of "${name}" is too short for ${what}`);
            const v = u64(cd, r, path, `${what} of "${name}"`);
            r += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take('uncompressed size');
          if (csize === 0xffffffff) csize = take('compressed size');
          if (localOff === 0xffffffff) localOff = take('local header offset');
          found = true;
          break;
        }
        q += 4 + len;
      }
      if (!found) throw new DiffaiError(path, `zip: entry "${name}" needs a zip64 extra field but has none`);
      entryZip64 = true;
    }
    if (flags & 0x1) throw new DiffaiError(path, `zip: entry "${name}" is encrypted`);
    if (localOff + 30 > cdOffset) throw new DiffaiError(path, `zip: entry "${name}" starts outside the archive data`);
    entries.push({
      name, method, flags, crc32, compressedSize: csize, uncompressedSize: usize,
      localHeaderOffset: localOff, dataOffset: -1, zip64: entryZip64,
    });
    p = end;
  }

  if (options.resolveDataOffsets !== false) {
    for (const e of entries) e.dataOffset = resolveDataOffset(file, e, cdOffset);
  }
  return { entries, zip64, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize };
}

/** Parses an entry's local header and returns the absolute offset of its data (checked against the archive). */
export function resolveDataOffset(file: RandomAccessFile, entry: ZipEntry, limit = file.size): number {
  const path = file.path;
  const h = file.read(entry.localHeaderOffset, 30);
  if (h.readUInt32LE(0) !== SIG_LOCAL) throw new DiffaiError(path, `zip: bad local header signature for "${entry.name}"`);
  const data = entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (data + entry.compressedSize > limit) {
    throw new DiffaiError(path, `zip: data of "${entry.name}" (${entry.compressedSize} bytes at ${data}) runs past the archive data (truncated?)`);
  }
  return data;
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
  const dataOffset = entry.dataOffset >= 0 ? entry.dataOffset : resolveDataOffset(file, entry);
  if (entry.method === ZIP_METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new DiffaiError(path, `zip: stored entry "${entry.name}" has different compressed and uncompressed sizes`);
    }
    return file.read(dataOffset, entry.compressedSize);
  }
  if (entry.method === ZIP_METHOD_DEFLATE) {
    if (entry.compressedSize > maxBytes) {
      throw new DiffaiError(path, `zip: entry "${entry.name}" is ${entry.compressedSize} compressed bytes, over the ${maxBytes}-byte limit`);
    }
    const { inflateRawSync } = await import('node:zlib');
    const raw = file.read(dataOffset, entry.compressedSize);
    let out: Buffer;
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (e) {
      throw new DiffaiError(path, `zip: cannot inflate "${entry.name}": ${(e as Error).message}`);
    }
    if (out.length !== entry.uncompressedSize) {
      throw new DiffaiError(path, `zip: "${entry.name}" inflates to ${out.length} bytes, not the declared ${entry.uncompressedSize}`);
    }
    return out;
  }
  throw new DiffaiError(path, `zip: entry "${entry.name}" uses unsupported compression method ${entry.method}`);
}
