/**
 * Malformed and hostile GGUF files: each fails with one DiffaiError line naming the file
 * (exit 2 on the command line), before any allocation sized by the lying field; truncation at
 * every byte of the header and at the data's boundaries; seeded fuzzing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { requireBuild, runCli } from './helpers/cli.js';
import { expectDescribeFailure, itFailsCleanly } from './helpers/failure.js';
import { ROOT, tempDir } from './helpers/files.js';
import { type RawGguf, type RawKv, ggufBytes, str, u32, u64, V } from './helpers/gguf.js';

const DIR = join(ROOT, 'fixtures', 'gguf');
const tmp = tempDir('diffai-gguf-');
afterAll(() => tmp.cleanup());

let n = 0;
function write(bytes: Buffer): string {
  const path = tmp.path(`case${n++}.gguf`);
  writeFileSync(path, bytes);
  return path;
}

const Q8 = 8; // ggml type ids
const F32 = 0;
const kv = (key: string, v: { type: number; value: Buffer }): RawKv => ({ key, ...v });
const ok: RawGguf = { kvs: [kv('general.architecture', V.string('llama'))], tensors: [{ name: 'w', dims: [32, 2], type: Q8, offset: 0 }], data: 68 };

describe('hostile GGUF files fail with one line', () => {
  it('the well-formed base case describes (so each case below fails for its own field)', async () => {
    const m = await ggufReader.describe(write(ggufBytes(ok)));
    expect(m.tensors[0]!.dtype).toBe('q8_0');
  });

  const cases: Array<[string, RawGguf | Buffer, string]> = [
    ['not GGUF', Buffer.from('GGUX\x03\0\0\0'), 'no GGUF magic'],
    ['version 1', { ...ok, version: 1 }, 'version 1'],
    ['version 4', { ...ok, version: 4 }, 'unsupported GGUF version 4'],
    ['big-endian', { ...ok, version: 0x03000000 }, 'big-endian'],
    ['huge tensor count', { ...ok, tensorCount: 2n ** 63n }, 'tensor count'],
    ['huge metadata count', { ...ok, kvCount: 2n ** 64n - 1n }, 'metadata count'],
    ['more tensors than written', { ...ok, tensorCount: 5 }, 'tensor'],
    ['key length beyond the file', { ...ok, kvs: [{ ...kv('general.architecture', V.string('llama')), keyLength: 2n ** 40n }] }, 'key 0 length'],
    ['string value length beyond the file', { ...ok, kvs: [kv('general.architecture', V.string('llama', 1_000_000))] }, '"general.architecture" length'],
    ['unknown value type', { ...ok, kvs: [{ key: 'a', type: 13, value: Buffer.alloc(8) }] }, 'unknown value type 13'],
    ['unknown array item type', { ...ok, kvs: [kv('a', V.array(99, 1, Buffer.alloc(8)))] }, 'unknown array item type 99'],
    ['array count beyond the file', { ...ok, kvs: [kv('a', V.array(4, 2n ** 50n, Buffer.alloc(8)))] }, 'item count'],
    [
      'arrays nested too deep',
      { ...ok, kvs: [kv('a', V.array(9, 1, Buffer.concat([u32(9), u64(1), u32(9), u64(1), u32(9), u64(1), u32(9), u64(1), u32(4), u64(0)])))] },
      'nested deeper',
    ],
    ['bool neither 0 nor 1', { ...ok, kvs: [{ key: 'b', type: 7, value: Buffer.from([7]) }] }, 'bool value 7'],
    ['duplicate key', { ...ok, kvs: [kv('a', V.u32(1)), kv('a', V.u32(2))] }, 'appears twice'],
    ['alignment not a power of two', { ...ok, kvs: [kv('general.alignment', V.u32(48))] }, 'not a power of two'],
    ['alignment of the wrong type', { ...ok, kvs: [kv('general.alignment', V.string('32'))] }, 'general.alignment has type string'],
    ['too many dimensions', { ...ok, tensors: [{ name: 'w', dims: [32, 1, 1, 1, 2], type: Q8, offset: 0 }] }, '5 dimensions'],
    ['dimension count beyond the file', Buffer.concat([Buffer.from('GGUF'), u32(3), u64(1), u64(0), str('w'), u32(4), u64(32)]), 'truncated'],
    ['overflowing dimensions', { ...ok, tensors: [{ name: 'w', dims: [2n ** 40n, 2n ** 40n], type: F32, offset: 0 }] }, 'too many elements'],
    ['a dimension over 2^53', { ...ok, tensors: [{ name: 'w', dims: [2n ** 60n], type: F32, offset: 0 }] }, 'too large'],
    ['unknown ggml type', { ...ok, tensors: [{ name: 'w', dims: [32], type: 77, offset: 0 }] }, 'unknown ggml type 77'],
    ['unsupported ggml type', { ...ok, tensors: [{ name: 'w', dims: [256], type: 29, offset: 0 }] }, 'IQ1_M'],
    ['rows not whole blocks', { ...ok, tensors: [{ name: 'w', dims: [48, 2], type: Q8, offset: 0 }] }, 'not a multiple of the 32-element Q8_0 block'],
    ['offset not aligned', { ...ok, tensors: [{ name: 'w', dims: [32, 2], type: Q8, offset: 4 }] }, 'not a multiple of the alignment 32'],
    ['offset past the file', { ...ok, tensors: [{ name: 'w', dims: [32, 2], type: Q8, offset: 2n ** 62n }] }, 'past the end of the file'],
    ['data past the file', { ...ok, data: 40 }, 'truncated'],
    [
      'overlapping tensors',
      {
        ...ok,
        tensors: [
          { name: 'a', dims: [32, 2], type: Q8, offset: 0 },
          { name: 'b', dims: [32, 2], type: Q8, offset: 64 },
        ],
        data: 200,
      },
      'overlap',
    ],
    [
      'duplicate tensor name',
      {
        ...ok,
        tensors: [
          { name: 'w', dims: [32], type: Q8, offset: 0 },
          { name: 'w', dims: [32], type: Q8, offset: 64 },
        ],
        data: 128,
      },
      'appears twice',
    ],
    ['tensor name length beyond the file', Buffer.concat([Buffer.from('GGUF'), u32(3), u64(1), u64(0), str('w', 2n ** 62n)]), 'tensor 0 name length'],
  ];

  it('names with control characters are escaped in messages', async () => {
    const e = await expectDescribeFailure(
      ggufReader,
      write(ggufBytes({ ...ok, kvs: [kv('a\nb\u001b[31m', V.u32(1)), kv('a\nb\u001b[31m', V.u32(1))] })),
      'appears twice',
    );
    expect([...e.message].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(e.message).toContain('"a\\nb\\u001b[31m"');
  });

  for (const [label, spec, fragment] of cases) {
    it(label, async () => {
      const path = write(Buffer.isBuffer(spec) ? spec : ggufBytes(spec));
      await expectDescribeFailure(ggufReader, path, fragment);
    });
  }

  it('truncated at every byte of the header and around every tensor boundary', async () => {
    const bytes = readFileSync(join(DIR, 'types_v3.gguf'));
    const m = await ggufReader.describe(join(DIR, 'types_v3.gguf'));
    const dataStart = Math.min(...m.tensors.map((t) => (t.source.kind === 'file' ? t.source.offset : 0)));
    const cuts = new Set<number>();
    for (let i = 0; i < dataStart; i++) cuts.add(i);
    for (const t of m.tensors) {
      if (t.source.kind !== 'file') continue;
      for (const end of [t.source.offset, t.source.offset + t.source.length]) for (const d of [-1, 0, 1]) cuts.add(end + d);
    }
    cuts.delete(bytes.length);
    const path = tmp.path('truncated.gguf');
    let failed = 0;
    for (const cut of [...cuts].filter((c) => c >= 0 && c < bytes.length)) {
      writeFileSync(path, bytes.subarray(0, cut));
      // The last tensor ends at the end of the file: every cut loses some of it.
      await expectDescribeFailure(ggufReader, path);
      failed++;
    }
    expect(failed).toBeGreaterThan(dataStart);
  }, 120_000);

  it('on the command line: exit 2, one line naming the file, nothing on stdout', () => {
    requireBuild();
    const path = write(ggufBytes({ ...ok, tensorCount: 2n ** 63n }));
    const r = runCli(['inspect', path]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.startsWith(`diffai: ${path}: `)).toBe(true);
  });
});

describe('corrupted GGUF files fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['types_v3.gguf', ggufReader],
    ['types_v2.gguf', ggufReader],
    ['llama-q4_k_m.gguf', ggufReader],
  ]);
});
