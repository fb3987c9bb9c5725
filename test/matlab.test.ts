import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiffaiError } from '../src/errors.js';
import { matlabReader } from '../src/formats/matlab/reader.js';
import { decodeTensor, itMatchesReference, type RefFile } from './helpers/decode.js';
import { expectDescribeFailure } from './helpers/failure.js';
import { REFERENCE_FIXTURES } from './helpers/reference.js';

const DIR = join(__dirname, '..', 'fixtures', 'matlab');
const ORIGINAL = REFERENCE_FIXTURES;
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, RefFile>;

const failure = (path: string): Promise<DiffaiError> => expectDescribeFailure(matlabReader, path);

describe('MAT-file fixtures against the generator reference', () => {
  itMatchesReference(
    DIR,
    REF,
    () => matlabReader,
    () => 'matlab',
  );
});

describe('MAT-file details', () => {
  it('describes column-major data as views; compressed and uncompressed twins decode identically', async () => {
    const plain = await matlabReader.describe(join(DIR, 'vars.mat'));
    const comp = await matlabReader.describe(join(DIR, 'vars_compressed.mat'));
    const byName = new Map(comp.tensors.map((t) => [t.name, t]));
    expect(plain.tensors.map((t) => t.name)).toEqual(comp.tensors.map((t) => t.name));
    for (const t of plain.tensors) {
      const c = byName.get(t.name)!;
      expect(t.source.kind).toBe('file');
      expect(c.source.kind).toBe('deflate');
      if (c.source.kind === 'deflate') expect(c.source.format).toBe('zlib');
      expect([c.dtype, c.shape, c.view, c.byteOrder]).toEqual([t.dtype, t.shape, t.view, t.byteOrder]);
      expect(decodeTensor(c)).toEqual(decodeTensor(t));
    }
    const nd = plain.tensors.find((t) => t.name === 'nd')!;
    expect(nd.shape).toEqual([2, 3, 4]);
    expect(nd.view).toEqual({ offset: 0, strides: [1, 2, 6] });
    expect(plain.tensors.find((t) => t.name === 'vec')!.view).toBeUndefined();
  });

  it('reads big-endian files, narrow storage and small data elements', async () => {
    const be = await matlabReader.describe(join(DIR, 'handmade_be.mat'));
    const le = await matlabReader.describe(join(DIR, 'handmade_le.mat'));
    const m = be.tensors.find((t) => t.name === 'm')!;
    expect(m.byteOrder).toBe('big');
    expect(le.tensors.find((t) => t.name === 'm')!.byteOrder).toBe('little');
    for (const d of [be, le]) {
      const narrow = d.tensors.find((t) => t.name === 'narrow')!;
      expect(narrow.dtype).toBe('f64');
      expect(narrow.storedAs).toBe('u8');
      expect(narrow.notes).toEqual(['MATLAB class double stored as u8']);
      const small = d.tensors.find((t) => t.name === 'small')!;
      expect(small.source.length).toBe(2);
      expect(decodeTensor(small)).toEqual([7]);
    }
    expect(decodeTensor(m)).toEqual(decodeTensor(le.tensors.find((t) => t.name === 'm')!));
  });

  it('keeps a complex array as one tensor whose parts are stored apart', async () => {
    const d = await matlabReader.describe(join(DIR, 'vars.mat'));
    expect(d.tensors.some((t) => t.name === 'z.real' || t.name === 'z.imag')).toBe(false);
    const z = d.tensors.find((t) => t.name === 'z')!;
    expect(z.dtype).toBe('c128');
    const re = z.source;
    const im = z.imagSource!;
    expect(re.kind === 'file' && im.kind === 'file' && im.offset > re.offset).toBe(true);
  });

  it('names the version when a MATLAB 7.3 (HDF5) file is malformed', async () => {
    const e = await failure(join(DIR, 'v73.mat'));
    expect(e.message).toMatch(/7\.3.*HDF5/);
  });
});

describe("the original's fake MAT-files fail with one clear line", () => {
  const files = readdirSync(ORIGINAL).filter((f) => /^matlab_.*\.mat$/.test(f));
  it('finds them', () => expect(files.length).toBe(4));
  for (const f of files) {
    it(f, async () => {
      const path = join(ORIGINAL, f);
      expect(matlabReader.sniff(readFileSync(path).subarray(0, 64), path)).toBe(true);
      const e = await failure(path);
      expect(e.line.startsWith(`diffai: ${path}: `)).toBe(true);
    });
  }
});
