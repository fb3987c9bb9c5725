/** Zip archives built by hand, byte by byte, for the tests of the zip reader and of hostile archives. */
import { deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  name: string;
  data: Buffer;
  /** Deflated (method 8) rather than stored. */
  deflate?: boolean;
  /** Already deflated: the raw DEFLATE payload and the size it inflates to (`data` unused). */
  deflated?: { payload: Buffer; size: number };
  /** The local header's extra field (e.g. torch's "FB" padding). */
  extraLocal?: Buffer;
  /** A central-directory entry pointing at an earlier entry's local record (overlapping entries). */
  aliasOf?: string;
}

export interface ZipOptions {
  /** Saturate the classic size/offset fields and write zip64 extras and end records. */
  zip64?: boolean;
  /** The end record's comment. */
  comment?: string;
}

export function buildZip(entries: ZipEntrySpec[], opts: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const records = new Map<string, { offset: number; method: number; csize: number; usize: number }>();
  let pos = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    let rec = e.aliasOf ? records.get(e.aliasOf) : undefined;
    if (!rec) {
      const method = e.deflate || e.deflated ? 8 : 0;
      const payload = e.deflated?.payload ?? (e.deflate ? deflateRawSync(e.data, { level: 9 }) : e.data);
      const usize = e.deflated?.size ?? e.data.length;
      const extra = e.extraLocal ?? Buffer.alloc(0);
      const lh = Buffer.alloc(30);
      lh.writeUInt32LE(0x04034b50, 0);
      lh.writeUInt16LE(method, 8);
      lh.writeUInt32LE(payload.length, 18);
      lh.writeUInt32LE(usize >= 2 ** 32 ? 0xffffffff : usize, 22);
      lh.writeUInt16LE(name.length, 26);
      lh.writeUInt16LE(extra.length, 28);
      rec = { offset: pos, method, csize: payload.length, usize };
      parts.push(lh, name, extra, payload);
      pos += 30 + name.length + extra.length + payload.length;
      records.set(e.name, rec);
    }
    const z64 = opts.zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (opts.zip64) {
      z64.writeUInt16LE(1, 0);
      z64.writeUInt16LE(24, 2);
      z64.writeBigUInt64LE(BigInt(rec.usize), 4);
      z64.writeBigUInt64LE(BigInt(rec.csize), 12);
      z64.writeBigUInt64LE(BigInt(rec.offset), 20);
    }
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(rec.method, 10);
    ch.writeUInt32LE(opts.zip64 ? 0xffffffff : rec.csize, 20);
    ch.writeUInt32LE(opts.zip64 || rec.usize >= 2 ** 32 ? 0xffffffff : rec.usize, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(z64.length, 30);
    ch.writeUInt32LE(opts.zip64 ? 0xffffffff : rec.offset, 42);
    central.push(ch, name, z64);
  }
  const cd = Buffer.concat(central);
  const cdOffset = pos;
  const tail: Buffer[] = [];
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const comment = Buffer.from(opts.comment ?? '');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cdOffset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...parts, cd, ...tail, eocd, comment]);
}
