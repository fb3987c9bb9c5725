/** Corrupted and truncated .npy/.npz files must fail with a DiffaiError (one line) or describe; never crash or hang. */
import { join } from 'node:path';
import { describe } from 'vitest';
import { npzReader, numpyReader } from '../src/formats/numpy/reader.js';
import { itFailsCleanly } from './helpers/failure.js';

const DIR = join(__dirname, '..', 'fixtures', 'numpy');

describe('corrupted numpy files fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['v1_f32.npy', numpyReader],
    ['v3_f32.npy', numpyReader],
    ['strings_U.npy', numpyReader],
    ['model_stored.npz', npzReader],
    ['model_compressed.npz', npzReader],
  ]);
});
