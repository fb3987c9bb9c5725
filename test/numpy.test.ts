import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RandomAccessFile } from '../src/io/file.js';
import { InflatedRegion } from '../src/io/inflate.js';
import { parseDescr, parsePyLiteral } from '../src/formats/numpy/header.js';
import { npzReader, numpyReader } from '../src/formats/numpy/reader.js';
import type { FormatReader } from '../src/formats/types.js';
import { decodeTensor, itMatchesReference, tensorProblems, type RefFile } from './helpers/decode.js';

const DIR = join(__dirname, '..', 'fixtures', 'numpy');

const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, RefFile>;

function readerFor(file: string): FormatReader {
  return file.endsWith('.npz') ? npzReader : numpyReader;
}

describe('npy/npz fixtures against the generator reference', () => {
  itMatchesReference(DIR, REF, readerFor, (file) => (file.endsWith('.npz') ? 'npz' : 'numpy'));
});

describe('npy details', () => {
  it('names the single array "array" and records byte order', async () => {
    const d = await numpyReader.describe(join(DIR, 'dtype_be_f4.npy'));
    expect(d.tensors[0]!.name).toBe('array');
    expect(d.tensors[0]!.byteOrder).toBe('big');
    const le = await numpyReader.describe(join(DIR, 'dtype_le_f4.npy'));
    expect(le.tensors[0]!.byteOrder).toBe('little');
    expect(le.tensors[0]!.source.kind).toBe('file');
  });

  it('describes Fortran order as a column-major view and equals its C twin', async () => {
    const f = (await numpyReader.describe(join(DIR, 'order_f.npy'))).tensors[0]!;
    const c = (await numpyReader.describe(join(DIR, 'order_c.npy'))).tensors[0]!;
    expect(f.view).toEqual({ offset: 0, strides: [1, 3, 12] });
    expect(c.view).toBeUndefined();
    expect(decodeTensor(f)).toEqual(decodeTensor(c));
    const f23 = (await numpyReader.describe(join(DIR, 'order_f_2x3.npy'))).tensors[0]!;
    expect(f23.view).toEqual({ offset: 0, strides: [1, 2] });
    expect(decodeTensor(f23)).toEqual([0, 1, 2, 3, 4, 5]);
    // a column vector is the same in both orders: no view needed
    expect((await numpyReader.describe(join(DIR, 'order_f_vector.npy'))).tensors[0]!.view).toBeUndefined();
  });

  it('handles 0-d and empty arrays', async () => {
    const s = (await numpyReader.describe(join(DIR, 'scalar_f64.npy'))).tensors[0]!;
    expect(s.shape).toEqual([]);
    expect(s.numel).toBe(1);
    expect(s.source.length).toBe(8);
    const e = (await numpyReader.describe(join(DIR, 'empty_f32.npy'))).tensors[0]!;
    expect(e.shape).toEqual([0, 3]);
    expect(e.numel).toBe(0);
    expect(e.source.length).toBe(0);
  });

  it('parses header versions 1.0, 2.0 and 3.0 with data offsets aligned as numpy writes them', async () => {
    for (const [file, version] of [
      ['v1_f32.npy', 1],
      ['v2_f64.npy', 2],
      ['v3_f32.npy', 3],
    ] as const) {
      const buf = readFileSync(join(DIR, file));
      expect(buf[6]).toBe(version);
      const t = (await numpyReader.describe(join(DIR, file))).tensors[0]!;
      expect(t.source.kind === 'file' && t.source.offset % 64).toBe(0);
      expect(t.source.kind === 'file' && t.source.offset + t.source.length).toBe(buf.length);
    }
  });

  it('parses the descr grammar', () => {
    expect(parseDescr('<f4')).toMatchObject({ kind: 'numeric', dtype: 'f32', byteOrder: 'little' });
    expect(parseDescr('>c16')).toMatchObject({ kind: 'numeric', dtype: 'c128', byteOrder: 'big' });
    expect(parseDescr('|b1')).toMatchObject({ kind: 'numeric', dtype: 'bool' });
    expect(parseDescr('=i8')).toMatchObject({ kind: 'numeric', dtype: 'i64', byteOrder: 'little' });
    expect(parseDescr('>u1')).toMatchObject({ kind: 'numeric', dtype: 'u8', byteOrder: 'little' });
    expect(parseDescr('<f2')).toMatchObject({ dtype: 'f16' });
    expect(parseDescr('<f16')).toMatchObject({ kind: 'unsupported' }); // float128, not half
    expect(parseDescr('<U7')).toMatchObject({ kind: 'unicode', itemsize: 28 });
    expect(parseDescr('|O')).toMatchObject({ kind: 'object' });
    expect(parseDescr('<M8[ns]')).toMatchObject({ kind: 'unsupported' });
    expect(parseDescr('<x4')).toBeUndefined();
    expect(parseDescr('<i3')).toBeUndefined();
  });

  it('parses Python literals safely', () => {
    const v = parsePyLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
    expect(v).toBeInstanceOf(Map);
    expect((v as Map<string, unknown>).get('shape')).toEqual([3n, 4n]);
    expect(parsePyLiteral('(5,)')).toEqual([5n]);
    expect(parsePyLiteral('()')).toEqual([]);
    expect(() => parsePyLiteral("{'a': __import__('os')}")).toThrow();
    expect(() => parsePyLiteral('['.repeat(100))).toThrow(/deep/);
  });
});

describe('npz details', () => {
  it('stored entries are read in place, compressed ones as raw deflate streams with the header skipped', async () => {
    const s = await npzReader.describe(join(DIR, 'model_stored.npz'));
    const c = await npzReader.describe(join(DIR, 'model_compressed.npz'));
    for (const t of s.tensors) expect(t.source.kind).toBe('file');
    for (const t of c.tensors) {
      expect(t.source.kind).toBe('deflate');
      if (t.source.kind === 'deflate') {
        expect(t.source.format).toBe('raw');
        expect(t.source.skip % 64).toBe(0);
      }
    }
    const byName = new Map(c.tensors.map((t) => [t.name, t]));
    for (const t of s.tensors) {
      expect(decodeTensor(byName.get(t.name)!)).toEqual(decodeTensor(t));
      expect(byName.get(t.name)!.view).toEqual(t.view);
    }
    expect(byName.get('fortran')!.view).toEqual({ offset: 0, strides: [1, 2] });
    expect(c.warnings[0]).toMatch(/'meta\.npy'.*object array/);
  });

  it('sniffs npz by the first entry name', () => {
    const head = readFileSync(join(DIR, 'model_stored.npz')).subarray(0, 64);
    expect(npzReader.sniff(head, 'x.bin')).toBe(true);
    const fake = Buffer.alloc(64);
    fake.write('PK\x03\x04', 0, 'latin1');
    fake.writeUInt16LE(8, 26);
    fake.write('data.pkl', 30, 'latin1');
    expect(npzReader.sniff(fake, 'model.pt')).toBe(false);
    expect(numpyReader.sniff(head, 'x.npy')).toBe(false);
  });
});

describe('the reference check itself', () => {
  it('notices a wrong offset, a wrong stride and a wrong byte order', async () => {
    const file = 'order_f.npy';
    const ref = REF[file]!;
    const t = (await numpyReader.describe(join(DIR, file))).tensors[0]!;
    expect(tensorProblems(t, ref.tensors!['array']!, file)).toEqual([]);
    const src = t.source.kind === 'file' ? t.source : undefined;
    expect(tensorProblems({ ...t, source: { ...src!, offset: src!.offset - 8 } }, ref.tensors!['array']!, file)).not.toEqual([]);
    expect(tensorProblems({ ...t, view: undefined }, ref.tensors!['array']!, file)).not.toEqual([]);
    expect(tensorProblems({ ...t, byteOrder: 'big' }, ref.tensors!['array']!, file)).not.toEqual([]);
  });
});

describe('InflatedRegion', () => {
  it('reads forward at scattered positions across many chunks, in raw and zlib streams', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'diffai-inflate-'));
    try {
      let x = 1;
      const data = Buffer.alloc(600_000);
      for (let i = 0; i < data.length; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        data[i] = i % 3 === 0 ? 0 : x >> 16; // partly compressible
      }
      for (const format of ['raw', 'zlib'] as const) {
        const comp = format === 'raw' ? deflateRawSync(data) : deflateSync(data);
        const path = join(tmp, `s.${format}`);
        writeFileSync(path, Buffer.concat([Buffer.from('prefix'), comp, Buffer.from('suffix')]));
        const file = RandomAccessFile.open(path);
        const r = new InflatedRegion(file, 6, comp.length, format, '');
        try {
          let pos = 0;
          for (const step of [0, 10, 5000, 70_000, 3, 200_000, 1, 100_000, 150_000]) {
            pos += step;
            const len = Math.min(3000, data.length - pos);
            expect((await r.read(pos, len)).equals(data.subarray(pos, pos + len)), `at ${pos}`).toBe(true);
          }
          await expect(r.read(data.length - 2, 10)).rejects.toThrow(/ends after 600000 bytes/);
        } finally {
          r.close();
          file.close();
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
