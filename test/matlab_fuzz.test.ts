/** Corrupted and truncated MAT-files must fail with a DiffaiError (one line) or describe; never crash or hang. */
import { join } from 'node:path';
import { describe } from 'vitest';
import { matlabReader } from '../src/formats/matlab/reader.js';
import { itFailsCleanly } from './helpers/failure.js';

const DIR = join(__dirname, '..', 'fixtures', 'matlab');

describe('corrupted MAT-files fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['vars.mat', matlabReader],
    ['vars_compressed.mat', matlabReader],
    ['handmade_be.mat', matlabReader],
  ]);
});
