/**
 * LocalFile.readAt (src/io/file.ts): small reads are done at once in this thread, large ones
 * on libuv's pool; both give the file's bytes, and both refuse a file that shrank under them
 * with the same one-line error.
 */
import { truncateSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { LocalFile } from '../src/io/file.js';
import { tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-read-at-');
afterAll(() => tmp.cleanup());

/** A file of `size` bytes where byte i is (i * 7 + 3) mod 251. */
function patterned(name: string, size: number): { path: string; bytes: Uint8Array } {
  const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) % 251);
  const path = tmp.path(name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe('LocalFile.readAt', () => {
  it('small (in this thread) and large (thread pool) reads give the bytes at their position', async () => {
    const { path, bytes } = patterned('data.bin', 300_000);
    const file = LocalFile.open(path);
    try {
      for (const [position, length] of [
        [0, 1],
        [12_345, 4096],
        [1000, 64 << 10],
        [7, (64 << 10) + 1],
        [50_000, 250_000],
      ] as const) {
        const target = new Uint8Array(length);
        await file.readAt(target, position);
        expect(Buffer.from(target).equals(Buffer.from(bytes.subarray(position, position + length))), `${position}+${length}`).toBe(true);
      }
    } finally {
      file.close();
    }
  });

  it('a file cut short after it was opened: the same DiffaiError from both paths', async () => {
    for (const length of [4096, 200_000]) {
      const { path } = patterned(`cut-${length}.bin`, 300_000);
      const file = LocalFile.open(path);
      truncateSync(path, 1000);
      try {
        const error = await file.readAt(new Uint8Array(length), 500).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DiffaiError);
        expect((error as DiffaiError).line).toBe(`diffai: ${path}: unexpected end of file at byte 1000`);
      } finally {
        file.close();
      }
    }
  });
});
