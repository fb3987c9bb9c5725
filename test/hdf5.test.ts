/**
 * HDF5 (generic, Keras layout) and MATLAB v7.3: statistics of every dataset against numpy's
 * float64 values from the generator (contiguous, compact, chunked with deflate, shuffle and
 * Fletcher-32, partial edge chunks, big-endian, f16, bool, complex, hard links); Keras weight
 * names; v7.3 and v5 of the same variables diff as identical; what is refused is refused by
 * name; malformed files fail with one line.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { hdf5Reader } from '../src/formats/hdf5/reader.js';
import { matlabReader } from '../src/formats/matlab/reader.js';
import { diffFiles, inspectFile } from '../src/index.js';
import { expectDescribeFailure, itFailsCleanly } from './helpers/failure.js';
import { itMatchesStatsReference, type RefTensor } from './helpers/proto_reference.js';

const DIR = join(__dirname, '..', 'fixtures', 'hdf5');
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, Record<string, RefTensor>>;
const pick = (mat: boolean) => Object.fromEntries(Object.entries(REF).filter(([f]) => f.endsWith('.mat') === mat));
const tmp = mkdtempSync(join(tmpdir(), 'diffai-hdf5-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('HDF5 fixtures against the generator reference', () => {
  itMatchesStatsReference(DIR, pick(false), 'hdf5');
});

describe('MATLAB v7.3 fixtures against the generator reference', () => {
  itMatchesStatsReference(DIR, pick(true), 'matlab');
});

describe('HDF5 layouts and conventions', () => {
  it('a dataset reached through two hard links is one tied storage', async () => {
    const report = await inspectFile(join(DIR, 'generic.h5'), { threads: 1 });
    const tied = report.tensors.find((t) => t.name === 'tied') as unknown as { tied_to?: string };
    expect(tied.tied_to).toBe('layers/contiguous_f32');
  });

  it('names Keras weights as Keras lists them, and keeps root attributes as entries', async () => {
    const d = await hdf5Reader.describe(join(DIR, 'keras_model.h5'));
    expect(
      d.tensors
        .map((t) => t.name)
        .filter((n) => !n.startsWith('optimizer'))
        .sort(),
    ).toEqual(['dense/bias:0', 'dense/kernel:0', 'dense_1/bias:0', 'dense_1/kernel:0', 'dense_2/bias:0', 'dense_2/kernel:0']);
    expect(d.leaves['keras_version']).toBe('2.11.0');
    expect(JSON.parse(d.leaves['model_config'] as string).config.name).toBe('digits_mlp');
  });

  it('a Keras model file and its save_weights twin hold the same weights; fine-tuning changes all six', async () => {
    const same = await diffFiles(join(DIR, 'keras_model.h5'), join(DIR, 'keras_weights.h5'), { threads: 1 });
    expect(same.results.filter((r) => r.kind === 'TensorStatsChanged')).toEqual([]);
    const tuned = await diffFiles(join(DIR, 'keras_model.h5'), join(DIR, 'keras_model_finetuned.h5'), { threads: 1 });
    expect(tuned.results.filter((r) => r.kind === 'TensorStatsChanged')).toHaveLength(6);
  });

  it('the same variables as MAT v7.3 and MAT v5 diff as identical (complex arrays are one tensor in both)', async () => {
    const { results } = await diffFiles(join(DIR, 'matlab_v5.mat'), join(DIR, 'matlab_v73.mat'), { threads: 1 });
    expect(results).toEqual([]);
    const d = await matlabReader.describe(join(DIR, 'matlab_v73.mat'));
    expect(d.tensors.find((t) => t.name === 'Z')!.dtype).toBe('c128');
    expect(d.leaves['s.name']).toBe('net');
  });

  it('refuses filters and chunk indexes it does not read, by name', async () => {
    await expectDescribeFailure(hdf5Reader, join(DIR, 'unsupported_lzf.h5'), 'lzf filter is not supported');
    await expectDescribeFailure(hdf5Reader, join(DIR, 'unsupported_latest_chunked.h5'), 'extensible array chunk index is not supported');
  });
});

describe('malformed HDF5 files fail with one line', () => {
  it('a truncation at any byte of a small file fails cleanly or describes', async () => {
    const bytes = readFileSync(join(DIR, 'latest.h5'));
    const path = join(tmp, 'cut.h5');
    for (let n = 8; n < bytes.length; n += 5) {
      writeFileSync(path, bytes.subarray(0, n));
      try {
        await hdf5Reader.describe(path);
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(DiffaiError);
        expect((e as DiffaiError).message).not.toContain('\n');
      }
    }
  });

  it('a chunk whose bytes are corrupt fails when read, naming the file', async () => {
    const bytes = Buffer.from(readFileSync(join(DIR, 'generic.h5')));
    const d = await hdf5Reader.describe(join(DIR, 'generic.h5'));
    const t = d.tensors.find((x) => x.name === 'layers/chunked_gzip_f64')!;
    if (t.source.kind !== 'chunked') throw new Error('expected a chunked source');
    const c = t.source.chunks[0]!;
    bytes.fill(0xff, c.offset, c.offset + 16);
    const path = join(tmp, 'corrupt.h5');
    writeFileSync(path, bytes);
    await expect(inspectFile(path, { threads: 1 })).rejects.toThrow(DiffaiError);
  });
});

describe('corrupted HDF5 files fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['generic.h5', hdf5Reader],
    ['keras_model.h5', hdf5Reader],
    ['matlab_v73.mat', matlabReader],
  ]);
});
