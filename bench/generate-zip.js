// Writes zip archives for the benchmarks and tests (many-entry .npz/.pt archives, archives
// whose central directory points several names at one record), streamed to disk. A zip64
// end record is added when the entry count needs it, as torch's and NumPy's writers do.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { bufferedWriter } from './generate.js';

/**
 * @typedef {{ name: string, data: Uint8Array, deflate?: boolean }} ZipInput
 * @typedef {{ aliases?: Array<{ name: string, of: number }> }} ZipOptions
 *   aliases: extra central-directory names for the record of entry number `of` (overlapping entries)
 */

/**
 * Writes the entries (an iterable, consumed once) to `path`.
 * @param {string} path
 * @param {Iterable<ZipInput>} entries
 * @param {ZipOptions} [options]
 * @returns {string} `path`
 */
export function makeZip(path, entries, options = {}) {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const writer = bufferedWriter(fd);
  // Central records accumulate in a few large blocks, with their offsets kept for aliases: a
  // million small Buffers (one per record) cost seconds of allocation and collection.
  const central = blockSink();
  /** @type {number[]} */
  const recordAt = [];
  // One local header, rewritten for every entry (the writer copies it).
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x800, 6);
  let count = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    // Run-length deflate: what the archives here compress is runs of zeros, ~5× faster than the default.
    const stored = e.deflate ? deflateRawSync(e.data, { strategy: constants.Z_RLE }) : e.data;
    const record = { name, method: e.deflate ? 8 : 0, crc: crc32(e.data), csize: stored.length, usize: e.data.length, offset: writer.offset };
    local.writeUInt16LE(record.method, 8);
    local.writeUInt32LE(record.crc, 14);
    local.writeUInt32LE(record.csize, 18);
    local.writeUInt32LE(record.usize, 22);
    local.writeUInt16LE(name.length, 26);
    writer.write(local);
    writer.write(name);
    writer.write(stored);
    recordAt.push(centralRecord(central, record));
    count++;
  }
  for (const alias of options.aliases ?? []) {
    const at = recordAt[alias.of];
    if (at === undefined) throw new Error(`alias of missing entry ${alias.of}`);
    // The record of entry `of` with another name.
    const [block, start] = central.place(at);
    centralRecord(central, {
      name: Buffer.from(alias.name, 'utf8'),
      method: block.readUInt16LE(start + 10),
      crc: block.readUInt32LE(start + 16),
      csize: block.readUInt32LE(start + 20),
      usize: block.readUInt32LE(start + 24),
      offset: block.readUInt32LE(start + 42),
    });
    count++;
  }
  const cdOffset = writer.offset;
  for (let i = 0; i < central.blocks.length; i++) writer.writeRange(/** @type {Buffer} */ (central.blocks[i]), 0, /** @type {number} */ (central.used[i]));
  const cdSize = writer.offset - cdOffset;
  if (count > 0xffff) {
    const z = Buffer.alloc(56 + 20);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE(45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(count), 24);
    z.writeBigUInt64LE(BigInt(count), 32);
    z.writeBigUInt64LE(BigInt(cdSize), 40);
    z.writeBigUInt64LE(BigInt(cdOffset), 48);
    z.writeUInt32LE(0x07064b50, 56);
    z.writeBigUInt64LE(BigInt(writer.offset), 64);
    z.writeUInt32LE(1, 72);
    writer.write(z);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  writer.write(end);
  writer.flush();
  closeSync(fd);
  return path;
}

/**
 * Bytes appended into zero-filled 4 MiB blocks (never copied, never re-zeroed): `reserve(n)`
 * returns the block and offset where n bytes go; `place(at)` finds bytes by the running
 * offset that reserve() handed out.
 */
function blockSink() {
  const BLOCK = 4 << 20;
  /** @type {Buffer[]} */
  const blocks = [];
  /** @type {number[]} */
  const used = [];
  /** @type {number[]} */
  const starts = [];
  const s = {
    length: 0,
    blocks,
    used,
    /** @param {number} n @returns {[Buffer, number]} */
    reserve(n) {
      const last = blocks.length - 1;
      if (last < 0 || /** @type {number} */ (used[last]) + n > /** @type {Buffer} */ (blocks[last]).length) {
        blocks.push(Buffer.alloc(Math.max(BLOCK, n)));
        used.push(0);
        starts.push(s.length);
      }
      const i = blocks.length - 1;
      const at = /** @type {number} */ (used[i]);
      used[i] = at + n;
      s.length += n;
      return [/** @type {Buffer} */ (blocks[i]), at];
    },
    /** The block and offset of the byte reserve() placed at running offset `at`. @param {number} at @returns {[Buffer, number]} */
    place(at) {
      let i = starts.length - 1;
      while (/** @type {number} */ (starts[i]) > at) i--;
      return [/** @type {Buffer} */ (blocks[i]), at - /** @type {number} */ (starts[i])];
    },
  };
  return s;
}

/**
 * Appends the central-directory record of an entry (fields not written stay zero).
 * @param {ReturnType<typeof blockSink>} out
 * @param {{ name: Buffer, method: number, crc: number, csize: number, usize: number, offset: number }} r
 * @returns {number} the record's running offset in `out`
 */
function centralRecord(out, r) {
  const where = out.length;
  const [c, at] = out.reserve(46 + r.name.length);
  c.writeUInt32LE(0x02014b50, at);
  c.writeUInt16LE(20, at + 4);
  c.writeUInt16LE(20, at + 6);
  c.writeUInt16LE(0x800, at + 8);
  c.writeUInt16LE(r.method, at + 10);
  c.writeUInt32LE(r.crc, at + 16);
  c.writeUInt32LE(r.csize, at + 20);
  c.writeUInt32LE(r.usize, at + 24);
  c.writeUInt16LE(r.name.length, at + 28);
  c.writeUInt32LE(r.offset, at + 42);
  // Names are short: a loop beats Buffer#copy's per-call cost over a million records.
  for (let i = 0; i < r.name.length; i++) c[at + 46 + i] = /** @type {number} */ (r.name[i]);
  return where;
}

/**
 * A version-1.0 .npy file of little-endian f32 values, as numpy.save writes it.
 * @param {Float32Array} values
 * @returns {Uint8Array}
 */
export function npyF32(values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + values.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 10 + header.length);
  return out;
}
