/**
 * The safetensors reader on malformed files (every size read from a file is checked before
 * use, DESIGN §6/§7): the reader, format detection, inspectFile and the CLI must all
 * reject them with one clear DiffaiError line, and exit 2 from the command line.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { describeModel } from '../src/formats/registry.js';
import { safetensorsReader } from '../src/formats/safetensors/reader.js';
import { inspectFile } from '../src/library.js';
import { main } from '../src/cli/main.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { f32Bytes } from './helpers/dtypes.js';
import { REFERENCE, core, rawSafetensors, safetensorsBytes, tempDir } from './helpers/files.js';

// The CLI tests start node processes; on a busy 2-core machine one can take seconds.
vi.setConfig({ testTimeout: 60_000 });
const tmp = tempDir('diffai-safetensors-');
afterAll(() => tmp.cleanup());

const header = (h: unknown) => JSON.stringify(h);
const t = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

interface Case {
  name: string;
  /** File content, or how to make the path. */
  make: (path: string) => void;
  /** What the message must say, from the safetensors reader itself. */
  problem: RegExp;
  /**
   * Files too broken to be recognised as safetensors by their first bytes (fewer than 10
   * bytes, a header not starting with '{') may instead be reported by format detection
   * (`not a valid safetensors file: …` for this extension, or `unrecognised file format`),
   * which shows the first bytes it saw.
   */
  unrecognisable?: boolean;
  /** Not a safetensors problem: only through describeModel/inspectFile/CLI. */
  notReader?: boolean;
}

/** What format detection says about bytes no reader recognises. */
const DETECTION = /(not a valid safetensors file: .*|unrecognised file format )\(first bytes: [0-9a-f ]+\)/;
const write = (bytes: Uint8Array) => (path: string) => writeFileSync(path, bytes);

const CASES: Case[] = [
  { name: 'shorter than 8 bytes', make: write(new Uint8Array([16, 0, 0, 0])), problem: /too short|truncated/, unrecognisable: true },
  { name: 'exactly 8 bytes', make: write(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])), problem: /exceeds the file size|truncated/, unrecognisable: true },
  {
    name: 'header length > file size',
    make: write(rawSafetensors('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4), 1000n)),
    problem: /header length 1000 exceeds the file size/,
  },
  {
    name: 'header length > 100 MB',
    make: write(rawSafetensors('{}', new Uint8Array(0), 100_000_001n)),
    problem: /header length 100000001 exceeds the 100 MB limit/,
  },
  {
    name: 'header length 2^64 − 1',
    make: write(rawSafetensors('{}', new Uint8Array(0), (1n << 64n) - 1n)),
    problem: /exceeds the 100 MB limit/,
  },
  { name: 'invalid JSON', make: write(rawSafetensors('{"a": {"dtype": "F32", ')), problem: /invalid safetensors header JSON/ },
  { name: 'invalid UTF-8/JSON bytes', make: write(rawSafetensors('{\u0001\u0002}')), problem: /invalid safetensors header JSON/ },
  { name: 'JSON array, not an object', make: write(rawSafetensors('[1, 2, 3]')), problem: /not a JSON object/, unrecognisable: true },
  { name: 'JSON string, not an object', make: write(rawSafetensors('"hello"')), problem: /not a JSON object/, unrecognisable: true },
  { name: 'unknown dtype', make: write(rawSafetensors(header({ w: t('F128', [1], [0, 16]) }), new Uint8Array(16))), problem: /tensor w: unknown dtype "F128"/ },
  {
    name: 'missing dtype',
    make: write(rawSafetensors(header({ w: { shape: [1], data_offsets: [0, 4] } }), new Uint8Array(4))),
    problem: /tensor w: missing dtype/,
  },
  { name: 'tensor entry not an object', make: write(rawSafetensors(header({ w: 5 }))), problem: /tensor w: entry is not a JSON object/ },
  {
    name: 'negative dimension',
    make: write(rawSafetensors(header({ w: t('F32', [-1], [0, 4]) }), new Uint8Array(4))),
    problem: /tensor w: shape must be a list of non-negative integers/,
  },
  {
    name: 'fractional dimension',
    make: write(rawSafetensors(header({ w: t('F32', [1.5], [0, 4]) }), new Uint8Array(4))),
    problem: /tensor w: shape must be a list/,
  },
  {
    name: 'shape not a list',
    make: write(rawSafetensors(header({ w: t('F32', '4', [0, 16]) }), new Uint8Array(16))),
    problem: /tensor w: shape must be a list/,
  },
  {
    name: 'string dimension',
    make: write(rawSafetensors(header({ w: t('F32', ['4'], [0, 16]) }), new Uint8Array(16))),
    problem: /tensor w: shape must be a list/,
  },
  {
    name: 'shape overflowing numel × size',
    make: write(rawSafetensors(header({ w: t('F32', [2 ** 40, 2 ** 40], [0, 4]) }), new Uint8Array(4))),
    problem: /tensor w: shape \[1099511627776,1099511627776\] is too large/,
  },
  {
    name: 'data_offsets reversed',
    make: write(rawSafetensors(header({ w: t('F32', [1], [8, 4]) }), new Uint8Array(8))),
    problem: /tensor w: data_offsets \[8, 4\] are reversed/,
  },
  {
    name: 'data_offsets out of bounds',
    make: write(rawSafetensors(header({ w: t('F32', [4], [0, 16]) }), new Uint8Array(8))),
    problem: /tensor w: data_offsets \[0, 16\] run past the end of the data \(8 bytes\)/,
  },
  {
    name: 'data_offsets wrong size for numel × dtype',
    make: write(rawSafetensors(header({ w: t('F32', [3], [0, 8]) }), new Uint8Array(8))),
    problem: /tensor w: data_offsets \[0, 8\] hold 8 bytes but shape \[3\] × F32 needs 12/,
  },
  {
    name: 'data_offsets wrong size (bf16 counted as 4 bytes)',
    make: write(rawSafetensors(header({ w: t('BF16', [2], [0, 8]) }), new Uint8Array(8))),
    problem: /hold 8 bytes but shape \[2\] × BF16 needs 4/,
  },
  {
    name: 'data_offsets with one number',
    make: write(rawSafetensors(header({ w: t('F32', [1], [4]) }), new Uint8Array(4))),
    problem: /tensor w: data_offsets must be two non-negative integers/,
  },
  {
    name: 'negative data_offsets',
    make: write(rawSafetensors(header({ w: t('F32', [1], [-4, 0]) }), new Uint8Array(4))),
    problem: /tensor w: data_offsets must be two non-negative integers/,
  },
  {
    name: 'string data_offsets',
    make: write(rawSafetensors(header({ w: t('F32', [1], ['0', '4']) }), new Uint8Array(4))),
    problem: /tensor w: data_offsets must be two non-negative integers/,
  },
  {
    name: 'overlapping tensors',
    make: write(rawSafetensors(header({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }), new Uint8Array(12))),
    problem: /tensors a and b overlap/,
  },
  {
    name: 'a gap between tensors',
    make: write(rawSafetensors(header({ a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }), new Uint8Array(12))),
    problem: /data bytes 4\.\.8 belong to no tensor \(gap before b\)/,
  },
  {
    name: 'trailing bytes after the last tensor',
    make: write(rawSafetensors(header({ a: t('F32', [1], [0, 4]) }), new Uint8Array(7))),
    problem: /3 bytes after the last tensor's data belong to no tensor/,
  },
  {
    name: 'one tensor inside another',
    make: write(rawSafetensors(header({ big: t('F32', [4], [0, 16]), small: t('U8', [4], [4, 8]) }), new Uint8Array(16))),
    problem: /tensors big and small overlap/,
  },
  { name: 'metadata value not a string', make: write(rawSafetensors(header({ __metadata__: { epoch: 5 } }))), problem: /__metadata__\.epoch is not a string/ },
  { name: 'metadata not an object', make: write(rawSafetensors(header({ __metadata__: ['x'] }))), problem: /__metadata__ is not a JSON object/ },
  {
    name: 'truncated real file (last 100 bytes missing)',
    make: (path) => writeFileSync(path, readFileSync(core('digits_mlp.safetensors')).subarray(0, REFERENCE.files['digits_mlp.safetensors']!.size - 100)),
    problem: /run past the end of the data/,
  },
  { name: 'empty file', make: write(new Uint8Array(0)), problem: /empty file|too short/ },
  { name: 'a directory', make: (path) => mkdirSync(path), problem: /is a directory|not a regular file/, notReader: false },
  { name: 'a missing file', make: () => undefined, problem: /no such file/ },
  { name: 'random bytes', make: write(Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) % 256)), problem: DETECTION, notReader: true },
];

function pathOf(c: Case): string {
  return tmp.path(`${c.name.replace(/[^a-z0-9]+/gi, '_')}.safetensors`);
}

beforeAll(() => {
  for (const c of CASES) c.make(pathOf(c));
});

async function rejection(p: Promise<unknown>): Promise<DiffaiError> {
  try {
    await p;
  } catch (e) {
    expect(e, `should be a DiffaiError, got ${String(e)}`).toBeInstanceOf(DiffaiError);
    return e as DiffaiError;
  }
  return expect.fail('expected a rejection');
}

describe('malformed safetensors files are rejected with a DiffaiError that names the problem', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const path = pathOf(c);
      if (!c.notReader) {
        const e = await rejection(safetensorsReader.describe(path));
        expect(e.file).toBe(path);
        expect(e.message).toMatch(c.problem);
      }
      for (const [label, run] of [
        ['describeModel', () => describeModel(path)],
        ['inspectFile', () => inspectFile(path)],
      ] as const) {
        const e = await rejection(run());
        expect(e.file, label).toBe(path);
        const allowed = c.unrecognisable ? new RegExp(`${c.problem.source}|${DETECTION.source}`) : c.problem;
        expect(e.message, `${label}: ${e.message}`).toMatch(allowed);
        expect(e.line).toBe(`diffai: ${path}: ${e.message}`);
        expect(e.message).not.toMatch(/\n/);
      }
    });
  }
});

/**
 * The CLI's main() in this process, with stdout/stderr captured: every case through the
 * real argument parsing and error printing, without a process start-up each (DiffaiError
 * → one line → exit 2 is one code path for every case). Real child processes follow for
 * a representative subset.
 */
async function mainInProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;
  const so = vi.spyOn(process.stdout, 'write').mockImplementation(capture(out));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation(capture(err));
  try {
    const status = await main(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

const FORMS = (path: string) => [
  ['inspect', path],
  [core('digits_mlp.safetensors'), path],
  [path, core('digits_mlp.safetensors'), '-o', 'json'],
];

describe('malformed files through the CLI main(): exit 2, one stderr line, nothing on stdout', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const path = pathOf(c);
      const problem = c.unrecognisable ? new RegExp(`${c.problem.source}|${DETECTION.source}`) : c.problem;
      for (const args of FORMS(path)) expectTrouble(await mainInProcess(args), `${path}: `, problem);
    });
  }
});

/** One case of each kind of problem, as real processes (`node bin/diffai.js`). */
const PROCESS_CASES = [
  'shorter than 8 bytes',
  'header length > file size',
  'header length > 100 MB',
  'invalid JSON',
  'JSON array, not an object',
  'unknown dtype',
  'negative dimension',
  'data_offsets reversed',
  'data_offsets out of bounds',
  'data_offsets wrong size for numel × dtype',
  'overlapping tensors',
  'metadata value not a string',
  'truncated real file (last 100 bytes missing)',
  'empty file',
  'a directory',
  'a missing file',
  'random bytes',
];

describe.concurrent('malformed files through the CLI process: exit 2, one stderr line, nothing on stdout', () => {
  beforeAll(requireBuild);

  it('the subset covers every case kind that exists', () => {
    for (const name of PROCESS_CASES)
      expect(
        CASES.some((c) => c.name === name),
        name,
      ).toBe(true);
  });

  // One process per case (start-up dominates), taking turns at `inspect F`, `diffai good F`
  // and `diffai F good -o json`.
  PROCESS_CASES.forEach((name, i) => {
    const c = CASES.find((x) => x.name === name)!;
    const path = pathOf(c);
    const args = FORMS(path)[i % 3]!;
    it(`${c.name}: diffai ${args.map((a) => (a === path ? 'FILE' : a.replace(/.*\//, ''))).join(' ')}`, async () => {
      const problem = c.unrecognisable ? new RegExp(`${c.problem.source}|${DETECTION.source}`) : c.problem;
      expectTrouble(await cli(args), `${path}: `, problem);
    });
  });

  it('--verbose adds the stack trace on stderr (and still exits 2 with nothing on stdout)', async () => {
    const path = pathOf(CASES.find((c) => c.name === 'overlapping tensors')!);
    const r = await cli(['inspect', path, '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^diffai: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensors a and b overlap`));
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('valid edge cases are accepted', () => {
  it('no tensors, only metadata, empty and 0-d tensors, data at the very end', async () => {
    const path = tmp.path('edge-valid.safetensors');
    writeFileSync(
      path,
      safetensorsBytes(
        [
          { name: 'scalar', dtype: 'f32', shape: [], bytes: f32Bytes([2.5]) },
          { name: 'empty', dtype: 'f32', shape: [0, 4], bytes: new Uint8Array(0) },
          { name: 'v', dtype: 'f32', shape: [2], bytes: f32Bytes([1, -3]) },
        ],
        { note: 'x' },
      ),
    );
    const report = await inspectFile(path);
    expect(report.tensors.map((x) => [x.name, x.shape, x.total_params, x.mean])).toEqual([
      ['empty', [0, 4], 0, null],
      ['scalar', [], 1, 2.5],
      ['v', [2], 2, -1],
    ]);
    expect(report.metadata).toEqual({ '__metadata__.note': 'x' });

    const onlyMeta = tmp.path('only-meta.safetensors');
    writeFileSync(onlyMeta, rawSafetensors(header({ __metadata__: { a: 'b' } })));
    expect((await inspectFile(onlyMeta)).tensors).toEqual([]);
    const nothing = tmp.path('nothing.safetensors');
    writeFileSync(nothing, rawSafetensors('{}'));
    expect((await inspectFile(nothing)).tensors).toEqual([]);
  });

  it('a safetensors file named .pt (or with no extension) is sniffed by its bytes', async () => {
    const ref = REFERENCE.files['digits_mlp.safetensors']!;
    for (const name of ['model.pt', 'model.bin', 'model']) {
      const path = tmp.path(name);
      copyFileSync(core('digits_mlp.safetensors'), path);
      const report = await inspectFile(path);
      expect(report.format).toBe('safetensors');
      expect(report.tensors.map((x) => [x.name, x.mean, x.std])).toEqual(
        Object.keys(ref.tensors)
          .sort()
          .map((n) => [n, expect.closeTo(ref.tensors[n]!.mean!, 9), expect.closeTo(ref.tensors[n]!.std!, 9)]),
      );
    }
  });

  it('the CLI diffs a .pt-named safetensors file against the original: no differences, exit 0', async () => {
    requireBuild();
    const path = tmp.path('model.pt');
    copyFileSync(core('digits_mlp.safetensors'), path);
    const [same, tuned] = await Promise.all([cli([path, core('digits_mlp.safetensors')]), cli([path, core('digits_mlp_finetuned.safetensors')])]);
    expect([same.status, same.stdout, same.stderr]).toEqual([0, 'No differences found.\n', '']);
    expect(tuned.status).toBe(0);
    expect(tuned.stdout).toContain('  ~ __metadata__.epoch: "5" -> "8"\n');
  });
});
