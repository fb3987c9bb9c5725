/** The positional zip central-directory reader (shared by the PyTorch and NumPy readers). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { RandomAccessFile } from '../src/io/file.js';
import { firstLocalName, listZip, looksLikeZip, readSmallEntry, readZipDirectory } from '../src/formats/zip/zip.js';
import { buildZip, type ZipEntrySpec } from './helpers/zip.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'pytorch');
const TMP = mkdtempSync(join(tmpdir(), 'diffai-zip-'));

function write(name: string, data: Buffer): string {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
}

function fails(path: string, re: RegExp): void {
  try {
    listZip(path);
  } catch (e) {
    expect(e).toBeInstanceOf(DiffaiError);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error(`${path} was accepted`);
}

describe('zip central directory', () => {
  const entries: ZipEntrySpec[] = [
    { name: 'root/data.pkl', data: Buffer.from('pickle bytes') },
    { name: 'root/data/0', data: Buffer.alloc(100, 7), extraLocal: Buffer.from('FB\x04\x00ZZZZ', 'latin1') },
    { name: 'root/big.txt', data: Buffer.from('x'.repeat(5000)), deflate: true },
  ];

  for (const zip64 of [false, true]) {
    it(`lists entries with data offsets (${zip64 ? 'zip64' : 'classic'}, with comment)`, async () => {
      const p = write(`a${zip64}.zip`, buildZip(entries, { zip64, comment: 'hello PK\x05\x06 world' }));
      const dir = listZip(p);
      expect(dir.zip64).toBe(zip64);
      expect(dir.entries.map((e) => [e.name, e.method, e.uncompressedSize, e.zip64])).toEqual([
        ['root/data.pkl', 0, 12, zip64],
        ['root/data/0', 0, 100, zip64],
        ['root/big.txt', 8, 5000, zip64],
      ]);
      const f = RandomAccessFile.open(p);
      try {
        const d0 = dir.entries[1]!;
        expect(f.read(d0.dataOffset, 100).equals(Buffer.alloc(100, 7))).toBe(true);
        expect((await readSmallEntry(f, dir.entries[0]!, 100)).toString()).toBe('pickle bytes');
        expect((await readSmallEntry(f, dir.entries[2]!, 10000)).toString()).toBe('x'.repeat(5000));
        await expect(readSmallEntry(f, dir.entries[2]!, 100)).rejects.toThrow(/limit/);
      } finally {
        f.close();
      }
    });
  }

  it('reads torch archives (zip64 end record with unsaturated classic fields)', () => {
    const dir = listZip(join(FIX, 'state_dict_zip.pt'));
    expect(dir.zip64).toBe(true);
    expect(dir.entries[0]!.name).toBe('state_dict_zip/data.pkl');
    for (const e of dir.entries.filter((x) => x.name.includes('/data/'))) expect(e.dataOffset % 64).toBe(0);
  });

  it('stops a small entry that inflates to more than its declared size (a decompression bomb)', async () => {
    // 8 MiB of zeros deflate to a few KiB; the directory claims 1000 bytes.
    const z = buildZip([{ name: 'bomb/data.pkl', data: Buffer.alloc(8 << 20), deflate: true }]);
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    z.writeUInt32LE(1000, cd + 24);
    const p = write('bomb.zip', z);
    const f = RandomAccessFile.open(p);
    try {
      const entry = readZipDirectory(f).entries[0]!;
      expect(entry.uncompressedSize).toBe(1000);
      await expect(readSmallEntry(f, entry, 1 << 20)).rejects.toThrow('zip entry "bomb/data.pkl" inflates to more than the 1000-byte limit');
    } finally {
      f.close();
    }
  });

  it('sniff helpers', () => {
    const z = buildZip(entries);
    expect(looksLikeZip(z)).toBe(true);
    expect(firstLocalName(z.subarray(0, 64))).toEqual({ name: 'root/data.pkl', complete: true, nameLength: 13 });
    expect(firstLocalName(z.subarray(0, 35))).toEqual({ name: 'root/', complete: false, nameLength: 13 });
  });

  it('refuses truncated and inconsistent archives', () => {
    const z = buildZip(entries);
    fails(write('trunc.zip', z.subarray(0, z.length - 30)), /end-of-central-directory/);
    fails(write('tiny.zip', Buffer.from('PK\x03\x04')), /too small/);
    const bad = Buffer.from(z);
    bad.writeUInt32LE(0x7ffffff0, bad.length - 6); // cd offset past the end
    fails(write('badoff.zip', bad), /overlaps|truncated/);
    const many = Buffer.from(z);
    many.writeUInt16LE(60000, many.length - 12); // more entries than the directory can hold
    fails(write('many.zip', many), /cannot fit/);
    const cut = buildZip([{ name: 'a/data/0', data: Buffer.alloc(10) }]);
    const cd = cut.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    cut.writeUInt32LE(1000, cd + 20); // compressed size runs into the directory
    fails(write('cut.zip', cut), /runs past/);
  });
});
