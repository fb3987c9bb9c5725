/**
 * Readers failing cleanly. `expectDescribeFailure`: describing a file must reject with a
 * one-line DiffaiError. Fuzzing: seeded corruptions (a few random bytes, mostly in the header;
 * truncation; a random 32-bit word near the start) of a valid file must each either describe
 * or fail with a one-line DiffaiError — never crash with another error, or hang.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DiffaiError } from '../../src/errors.js';
import type { FormatReader } from '../../src/formats/types.js';

/**
 * `reader.describe(path)` must reject with a DiffaiError whose message is one line (and
 * contains `fragment` when given) and, unless `namesFile` is false, whose file is `path`.
 */
export async function expectDescribeFailure(
  reader: { describe(path: string): Promise<unknown> },
  path: string,
  fragment?: string,
  namesFile = true,
): Promise<DiffaiError> {
  let err: unknown;
  try {
    await reader.describe(path);
  } catch (e) {
    err = e;
  }
  expect(err, `${path} should fail`).toBeInstanceOf(DiffaiError);
  const e = err as DiffaiError;
  if (namesFile) expect(e.file).toBe(path);
  expect(e.message).not.toContain('\n');
  if (fragment) expect(e.message).toContain(fragment);
  return e;
}

export async function fuzz(
  reader: FormatReader,
  source: string,
  ext: string,
  cases: number,
  seed: number,
): Promise<{ ok: number; failed: number; bad: string[] }> {
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

/**
 * One test per file of `dir`: 120 seeded corruptions (seed 7 + the name's length), none of
 * which may fail other than cleanly, and at least one of which must be rejected.
 */
export function itFailsCleanly(dir: string, files: ReadonlyArray<readonly [string, FormatReader]>): void {
  for (const [file, reader] of files) {
    it(file, async () => {
      const r = await fuzz(reader, join(dir, file), file.slice(file.lastIndexOf('.')), 120, 7 + file.length);
      expect(r.bad).toEqual([]);
      expect(r.failed).toBeGreaterThan(0);
    }, 30_000);
  }
}
