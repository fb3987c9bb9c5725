/** The checked binary-input layer: cursor bounds and byte order, range budgets, inflate caps. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { ByteCursor } from '../src/io/cursor.js';
import { RandomAccessFile } from '../src/io/file.js';
import { inflateBytesSync, inflateRangeSync, InflateStream } from '../src/io/inflate.js';
import { checkRange, cursorAt, FileRegion, readRange } from '../src/io/range.js';

const tmp = mkdtempSync(join(tmpdir(), 'diffai-io-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function failure(fn: () => unknown): DiffaiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DiffaiError);
    const err = e as DiffaiError;
    expect(err.line).not.toContain('\n');
    return err;
  }
  throw new Error('expected a DiffaiError');
}

describe('ByteCursor', () => {
  // Bytes chosen so every width and both byte orders give distinct, hand-computed values.
  const bytes = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0xfe]);

  it('reads little-endian fields and advances', () => {
    const c = new ByteCursor(bytes, 'f.bin');
    expect(c.u8()).toBe(0x01);
    expect(c.u16()).toBe(0x0302);
    expect(c.u32()).toBe(0x07060504);
    expect(c.pos).toBe(7);
    expect(c.remaining).toBe(3);
    expect(c.seek(0).u64n()).toBe(0x0807060504030201n);
    expect(c.i16()).toBe(-257); // 0xfeff
    expect(c.remaining).toBe(0);
  });

  it('reads big-endian fields', () => {
    const c = new ByteCursor(bytes, 'f.bin', { littleEndian: false });
    expect(c.u16()).toBe(0x0102);
    expect(c.u32()).toBe(0x03040506);
    expect(c.seek(0).u64n()).toBe(0x0102030405060708n);
    expect(c.i16()).toBe(-2); // 0xfffe
  });

  it('reads floats in both orders', () => {
    const le = Buffer.alloc(12);
    le.writeDoubleLE(-1.25e300, 0);
    le.writeFloatLE(3.5, 8);
    const be = Buffer.alloc(12);
    be.writeDoubleBE(-1.25e300, 0);
    be.writeFloatBE(3.5, 8);
    const a = new ByteCursor(le, 'f');
    expect([a.f64(), a.f32()]).toEqual([-1.25e300, 3.5]);
    const b = new ByteCursor(be, 'f', { littleEndian: false });
    expect([b.f64(), b.f32()]).toEqual([-1.25e300, 3.5]);
  });

  it('refuses a read past the end, naming the file, the record and the field, with file offsets', () => {
    const c = new ByteCursor(bytes, 'model.bin', { what: 'zip end record', base: 1000 });
    c.skip(8);
    const err = failure(() => c.u32('entry count'));
    expect(err.file).toBe('model.bin');
    expect(err.message).toBe('truncated: zip end record: entry count needs bytes 1008..1012 but the zip end record ends at 1010');
    expect(c.pos).toBe(8); // a failed read does not move
    expect(() => c.skip(3)).toThrow(DiffaiError);
    expect(() => c.seek(11)).toThrow(DiffaiError);
    expect(() => c.bytesView(-1)).toThrow(DiffaiError);
    expect(c.skip(2).remaining).toBe(0);
  });

  it('refuses 64-bit values that are not safe integers, and keeps them exact as bigints', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(2n ** 53n - 1n);
    expect(new ByteCursor(b, 'f').u64()).toBe(2 ** 53 - 1);
    b.writeBigUInt64LE(2n ** 53n);
    expect(failure(() => new ByteCursor(b, 'f', { what: 'hdr' }).u64('size')).message).toBe(`hdr: size ${2n ** 53n} is out of range`);
    expect(new ByteCursor(b, 'f').u64n()).toBe(2n ** 53n);
    b.writeBigInt64LE(-(2n ** 53n) + 1n);
    expect(new ByteCursor(b, 'f').i64()).toBe(-(2 ** 53) + 1);
  });

  it('decodes strings with a length cap checked before reading', () => {
    const text = Buffer.from('héllo', 'utf8'); // 6 bytes
    const c = new ByteCursor(text, 'f', { what: 'name' });
    expect(c.utf8(6)).toBe('héllo');
    expect(c.seek(0).latin1(2)).toBe('h\u00c3');
    expect(failure(() => c.seek(0).utf8(6, 'entry name', 5)).message).toBe('name: entry name of 6 bytes is over the 5-byte limit');
    expect(c.pos).toBe(0);
  });

  it('aligns, and sub-cursors keep file offsets', () => {
    const c = new ByteCursor(new Uint8Array(20), 'f', { base: 100 });
    c.skip(3).align(8);
    expect(c.pos).toBe(8);
    c.align(8);
    expect(c.pos).toBe(8);
    const s = c.sub(4, 'tag', 'tag');
    expect(c.pos).toBe(12);
    expect(s.base).toBe(108);
    s.skip(4);
    expect(failure(() => s.u8('type')).message).toBe('truncated: tag: type needs bytes 112..113 but the tag ends at 112');
    c.skip(6).align(8); // 18 → 24, capped at the end
    expect(c.pos).toBe(20);
  });
});

describe('range reads', () => {
  const path = join(tmp, 'r.bin');
  writeFileSync(path, Buffer.from(Array.from({ length: 100 }, (_, i) => i)));

  it('reads checked ranges and cursors over them', () => {
    const f = RandomAccessFile.open(path);
    try {
      expect([...readRange(f, 10, 3)]).toEqual([10, 11, 12]);
      expect(readRange(f, 100, 0).length).toBe(0);
      const c = cursorAt(f, 96, 4, { littleEndian: false, what: 'tail' });
      expect(c.u32()).toBe(0x60616263);
      expect(c.base).toBe(96);
    } finally {
      f.close();
    }
  });

  it('refuses ranges beyond the file, over the budget or malformed before allocating', () => {
    const f = RandomAccessFile.open(path);
    try {
      expect(failure(() => readRange(f, 90, 11, { what: 'header' })).message).toBe('truncated: header needs bytes 90..101 but the file has 100');
      // A length from a corrupt size field: refused by the budget, never allocated.
      expect(failure(() => readRange(f, 0, 2 ** 52, { what: 'header', budget: 1024 })).message).toBe(
        'header of 4503599627370496 bytes exceeds the 1024-byte limit',
      );
      // RandomAccessFile itself checks before allocating, too.
      expect(failure(() => f.read(0, 2 ** 52)).message).toBe('truncated: needs bytes 0..4503599627370496 but the file has 100');
      expect(() => checkRange(f, -1, 2)).toThrow(DiffaiError);
      expect(() => checkRange(f, 0, 1.5)).toThrow(DiffaiError);
      expect(() => checkRange(f, 0, Number.NaN)).toThrow(DiffaiError);
    } finally {
      f.close();
    }
  });

  it('FileRegion reads relative to its start and describes its bytes as a file source', async () => {
    const f = RandomAccessFile.open(path);
    try {
      const r = new FileRegion(f, 20, 10, "entry 'a': ");
      expect([...(await r.read(8, 2))]).toEqual([28, 29]);
      await expect(r.read(8, 3)).rejects.toThrow("entry 'a': truncated: needs bytes 8..11 but only 10 are there");
      expect(r.source(2, 4)).toEqual({ kind: 'file', path, offset: 22, length: 4 });
    } finally {
      f.close();
    }
  });
});

describe('inflate', () => {
  // Deterministic, partly compressible content.
  const data = Buffer.alloc(50_000);
  let x = 7;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = i % 4 === 0 ? 0 : x >> 16;
  }

  it('inflates a range whole (raw and zlib) when within the cap', () => {
    for (const format of ['raw', 'zlib'] as const) {
      const comp = format === 'raw' ? deflateRawSync(data) : deflateSync(data);
      const path = join(tmp, `whole.${format}`);
      writeFileSync(path, Buffer.concat([Buffer.from('xyz'), comp, Buffer.from('tail')]));
      const f = RandomAccessFile.open(path);
      try {
        expect(inflateRangeSync(f, 3, comp.length, format, { maxOutput: data.length }).equals(data)).toBe(true);
        expect(() => inflateRangeSync(f, 3, comp.length + 5, format, { maxOutput: data.length })).toThrow(/truncated/);
        expect(failure(() => inflateRangeSync(f, 3, comp.length, format, { maxOutput: 1000, maxInput: 100, what: 'x' })).message).toMatch(
          /^x \(compressed\) of \d+ bytes exceeds the 100-byte limit$/,
        );
      } finally {
        f.close();
      }
    }
  });

  it('stops a decompression bomb at the output cap', () => {
    // 64 MiB of zeros deflate to ~64 KiB; with a 1 MiB cap the inflater must stop early.
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    const err = failure(() => inflateBytesSync('bomb.zip', bomb, 'raw', { maxOutput: 1 << 20, what: 'zip entry "data.pkl"' }));
    expect(err.file).toBe('bomb.zip');
    expect(err.message).toBe('zip entry "data.pkl" inflates to more than the 1048576-byte limit');
    // Exactly at the cap is accepted.
    const exact = deflateRawSync(Buffer.alloc(4096, 1));
    expect(inflateBytesSync('f', exact, 'raw', { maxOutput: 4096 }).length).toBe(4096);
    expect(() => inflateBytesSync('f', exact, 'raw', { maxOutput: 4095 })).toThrow(/more than the 4095-byte limit/);
  });

  it('refuses corrupt compressed bytes with one line', () => {
    const err = failure(() => inflateBytesSync('c.mat', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff]), 'zlib', { maxOutput: 100, what: 'miCOMPRESSED' }));
    expect(err.message).toMatch(/^cannot inflate miCOMPRESSED: /);
  });

  it('InflateStream fills caller buffers in sequence after a skip, and reports a short stream', async () => {
    const comp = deflateSync(data);
    const path = join(tmp, 'stream.zlib');
    writeFileSync(path, Buffer.concat([Buffer.alloc(5), comp]));
    const file = RandomAccessFile.open(path);
    const s = new InflateStream(file, { kind: 'deflate', path, offset: 5, compressedLength: comp.length, format: 'zlib', skip: 100, length: 40_000 }, 900);
    try {
      const a = new Uint8Array(7000);
      const b = new Uint8Array(30_000);
      await s.readInto(a);
      await s.readInto(b);
      expect(Buffer.from(a).equals(data.subarray(1000, 8000))).toBe(true);
      expect(Buffer.from(b).equals(data.subarray(8000, 38_000))).toBe(true);
      await expect(s.readInto(new Uint8Array(20_000))).rejects.toThrow('compressed data ends before the tensor does');
    } finally {
      s.close();
      file.close();
    }
  });
});
