// Writes zip archives for the benchmarks and tests (many-entry .npz/.pt archives, archives
// whose central directory points several names at one record), streamed to disk. A zip64
// end record is added when the entry count needs it, as torch's and NumPy's writers do.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
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
  /** @type {Buffer[]} */
  const central = [];
  /** @type {Array<{ name: Buffer, method: number, crc: number, csize: number, usize: number, offset: number }>} */
  const records = [];
  const writer = bufferedWriter(fd);
  const write = writer.write;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const stored = e.deflate ? deflateRawSync(e.data) : e.data;
    const record = { name, method: e.deflate ? 8 : 0, crc: crc32(e.data), csize: stored.length, usize: e.data.length, offset: writer.offset };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(record.method, 8);
    local.writeUInt32LE(record.crc, 14);
    local.writeUInt32LE(record.csize, 18);
    local.writeUInt32LE(record.usize, 22);
    local.writeUInt16LE(name.length, 26);
    write(local);
    write(name);
    write(stored);
    records.push(record);
    central.push(centralRecord(record));
  }
  for (const alias of options.aliases ?? []) {
    const of = records[alias.of];
    if (!of) throw new Error(`alias of missing entry ${alias.of}`);
    central.push(centralRecord({ ...of, name: Buffer.from(alias.name, 'utf8') }));
  }
  const cdOffset = writer.offset;
  for (const c of central) write(c);
  const cdSize = writer.offset - cdOffset;
  const count = central.length;
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
    write(z);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  write(end);
  writer.flush();
  closeSync(fd);
  return path;
}

/** @param {{ name: Buffer, method: number, crc: number, csize: number, usize: number, offset: number }} r */
function centralRecord(r) {
  const c = Buffer.alloc(46 + r.name.length);
  c.writeUInt32LE(0x02014b50, 0);
  c.writeUInt16LE(20, 4);
  c.writeUInt16LE(20, 6);
  c.writeUInt16LE(0x800, 8);
  c.writeUInt16LE(r.method, 10);
  c.writeUInt32LE(r.crc, 16);
  c.writeUInt32LE(r.csize, 20);
  c.writeUInt32LE(r.usize, 24);
  c.writeUInt16LE(r.name.length, 28);
  c.writeUInt32LE(r.offset, 42);
  r.name.copy(c, 46);
  return c;
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
