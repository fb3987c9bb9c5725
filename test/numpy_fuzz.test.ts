/** Corrupted and truncated .npy/.npz files must fail with a DiffaiError (one line) or describe; never crash or hang. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { npzReader, numpyReader } from '../src/formats/numpy/reader.js';
import type { FormatReader } from '../src/formats/types.js';

const DIR = join(__dirname, '..', 'fixtures', 'numpy');

async function fuzz(reader: FormatReader, source: string, ext: string, cases: number, seed: number): Promise<{ ok: number; failed: number; bad: string[] }> {
  const tmp = mkdtempSync(join(tmpdir(), 'diffai-fuzz-'));
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
  const orig = readFileSync(source);
  const res = { ok: 0, failed: 0, bad: [] as string[] };
  try {
    for (let i = 0; i < cases; i++) {
      const b = Buffer.from(orig);
      let m: Buffer = b;
      const mode = rnd();
      if (mode < 0.6) {
        for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) {
          b[Math.floor(rnd() * Math.min(b.length, rnd() < 0.7 ? 400 : b.length))] = Math.floor(rnd() * 256);
        }
      } else if (mode < 0.8) {
        m = b.subarray(0, Math.floor(rnd() * b.length));
      } else {
        b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), Math.min(Math.floor(rnd() * 300), b.length - 4));
      }
      const path = join(tmp, `case${i}${ext}`);
      writeFileSync(path, m);
      try {
        await reader.describe(path);
        res.ok++;
      } catch (e) {
        if (e instanceof DiffaiError && !e.message.includes('\n')) res.failed++;
        else res.bad.push(`case ${i}: ${(e as Error).stack}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return res;
}

describe('corrupted numpy files fail cleanly', () => {
  for (const [file, reader] of [
    ['v1_f32.npy', numpyReader], ['v3_f32.npy', numpyReader], ['strings_U.npy', numpyReader],
    ['model_stored.npz', npzReader], ['model_compressed.npz', npzReader],
  ] as const) {
    it(file, async () => {
      const r = await fuzz(reader, join(DIR, file), file.slice(file.lastIndexOf('.')), 120, 7 + file.length);
      expect(r.bad).toEqual([]);
      expect(r.failed).toBeGreaterThan(0);
    }, 30_000);
  }
});
