/**
 * The original diffai's fake .mat, .npy and .npz reference files (text pretending to be data,
 * ../shared/reference/diffai-fixtures): each is claimed by its reader and fails with one
 * clear line naming the file. Run by `npm run conformance`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matlabReader } from '../../src/formats/matlab/reader.js';
import { npzReader, numpyReader } from '../../src/formats/numpy/reader.js';
import type { FormatReader } from '../../src/formats/types.js';
import { expectDescribeFailure } from '../helpers/failure.js';
import { REFERENCE_FIXTURES as ORIGINAL } from '../helpers/reference.js';

const failure = (path: string) => expectDescribeFailure(matlabReader, path);

function readerFor(file: string): FormatReader {
  return file.endsWith('.npz') ? npzReader : numpyReader;
}

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

describe("the original's fake numpy files fail with one clear line", () => {
  const files = readdirSync(ORIGINAL).filter((f) => /^numpy_.*\.(npy|npz)$/.test(f));
  it('finds them', () => expect(files.length).toBe(6));
  for (const f of files) {
    it(f, async () => {
      const path = join(ORIGINAL, f);
      const reader = readerFor(f);
      expect(reader.sniff(readFileSync(path).subarray(0, 64), path)).toBe(true);
      const e = await expectDescribeFailure(reader, path);
      expect(e.line.startsWith(`diffai: ${path}: `)).toBe(true);
    });
  }
});
