/**
 * The hostile suite (issue 15): terminal escapes, names that are object keys, sharded
 * indexes, non-regular files, output faults, library arguments, deep nesting, huge shapes
 * and decompression bombs. Every input is built here at test time (small, or sparse); each
 * must end with exit 2 and one line naming the file and the problem — or, when valid, work.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { analyzeFiles } from '../src/analysis/index.js';
import { DiffaiError } from '../src/errors.js';
import { diffFiles, inspectFile, tensorStats } from '../src/library.js';
import { termSafe } from '../src/terminal.js';
import { BIN, cli, expectTrouble, requireBuild } from './helpers/cli.js';
import {
  matCell,
  matCompressed,
  matDouble,
  matFile,
  matStruct,
  npyF64,
  npyRaw,
  npz,
  safetensors,
  safetensorsRaw,
  writeSparse,
} from './helpers/hostile_files.js';

requireBuild();
const TMP = mkdtempSync(join(tmpdir(), 'diffai-hostile-'));
const write = (name: string, data: Buffer): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find raw control characters
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const expectNoRawControls = (text: string) => expect(text.replace(/\n/g, '')).not.toMatch(RAW_CONTROL);

describe('terminal escapes (item 6)', () => {
  const NAMES = [
    'ansi\u001b[31mred\u001b[0m',
    'osc\u001b]0;pwned\u0007',
    'cr\roverwrite',
    'bs\b\b\bxx',
    'nul\u0000byte',
    'new\nline',
    'c1\u009b2J',
    'bidi\u202egnp.exe',
  ];

  it('escape sequences are shown escaped: one function, every control character, idempotent', () => {
    expect(termSafe('a\u001b[31mb')).toBe('a\\e[31mb');
    expect(termSafe('x\r\n\t\b\u0000\u0007\u007f\u009b\u202e')).toBe('x\\r\\n\\t\\b\\0\\x07\\x7f\\x9b\\u202e');
    for (const n of NAMES) {
      expect(termSafe(n)).not.toMatch(RAW_CONTROL);
      expect(termSafe(termSafe(n))).toBe(termSafe(n));
    }
    expect(termSafe('plain.name/ü∂')).toBe('plain.name/ü∂');
  });

  it('tensor names in text output, inspect output and warnings; JSON keeps the exact names', async () => {
    const a = write('esc_a.safetensors', safetensors(Object.fromEntries(NAMES.map((n, i) => [n, [i, 1, 2]]))));
    const b = write('esc_b.safetensors', safetensors(Object.fromEntries(NAMES.map((n, i) => [n, [i, 1, 3]]))));
    const [text, json, inspect] = await Promise.all([cli([a, b]), cli([a, b, '-o', 'json']), cli(['inspect', a])]);
    for (const r of [text, inspect]) {
      expect(r.status).toBeLessThan(2);
      expectNoRawControls(r.stdout);
      expectNoRawControls(r.stderr);
    }
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(NAMES.length); // a newline in a name does not split its line
    expect(text.stdout).toContain('ansi\\e[31mred\\e[0m');
    expect(text.stdout).toContain('new\\nline');
    const names = (JSON.parse(json.stdout) as Array<Record<string, [string]>>).map((e) => Object.values(e)[0]![0]);
    expect(names.sort()).toEqual([...NAMES].sort());
  });

  it('npz entry names, MAT variable names and warnings', async () => {
    const evil = 'w\u001b]2;title\u0007';
    const zA = write('esc_a.npz', npz({ [evil]: npyF64([1, 2]), 'x\u001b[2J': npyF64([1]) }));
    const zB = write('esc_b.npz', npz({ [evil]: npyF64([1, 3]), 'x\u001b[2J': npyF64([1]) }));
    const mA = write('esc_a.mat', matFile([matDouble(`m\u001b[1m`, [1, 2], [1, 2])]));
    const mB = write('esc_b.mat', matFile([matDouble(`m\u001b[1m`, [1, 2], [1, 5])]));
    const warn = write('esc_warn.npz', npz({ ok: npyF64([1]) }));
    const runs = await Promise.all([cli([zA, zB]), cli([mA, mB]), cli(['inspect', zA]), cli(['inspect', mA]), cli([warn, warn])]);
    for (const r of runs) {
      expect(r.status, r.stderr).toBeLessThan(2);
      expectNoRawControls(r.stdout);
      expectNoRawControls(r.stderr);
    }
    expect(runs[0]!.stdout).toContain('w\\e]2;title\\x07');
    expect(runs[1]!.stdout).toContain('m\\e[1m');
  });

  it('file paths with control characters in error lines: one line, escaped', async () => {
    const path = join(TMP, 'no\nsuch\u001b[31m.pt');
    const r = await cli(['inspect', path]);
    const line = expectTrouble(r, termSafe(path), /no such file/);
    expect(line).toContain('no\\nsuch\\e[31m.pt');
  });
});

describe('names that are object keys (item 7, npz and MAT)', () => {
  it('npz entries named __proto__ and constructor are tensors like any other', async () => {
    const a = write('proto_a.npz', npz({ ['__proto__']: npyF64([1, 2, 3]), constructor: npyF64([4, 5]), toString: npyF64([1]) }));
    const b = write('proto_b.npz', npz({ ['__proto__']: npyF64([1, 2, 9]), constructor: npyF64([4, 5]), toString: npyF64([1]) }));
    const { results } = await diffFiles(a, b, { threads: 1 });
    expect(results.map((r) => [r.kind, r.name])).toEqual([['TensorStatsChanged', '__proto__']]);
    const report = await inspectFile(a, { threads: 1 });
    expect(report.tensors.map((t) => t.name).sort()).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('MAT variables and struct fields named __proto__ and constructor', async () => {
    const file = (x: number) =>
      matFile([
        matDouble('__proto__', [1, 1], [x]),
        matDouble('constructor', [1, 2], [1, 2]),
        matStruct('s', { ['__proto__']: matDouble('', [1, 1], [x + 1]), valueOf: matDouble('', [1, 1], [7]) }),
      ]);
    const a = write('proto_a.mat', file(1));
    const b = write('proto_b.mat', file(5));
    const { results } = await diffFiles(a, b, { threads: 1 });
    expect(results.map((r) => r.name).sort()).toEqual(['__proto__', 's.__proto__']);
    const report = await inspectFile(a, { threads: 1 });
    expect(report.tensors.map((t) => t.name).sort()).toEqual(['__proto__', 'constructor', 's.__proto__', 's.valueOf']);
  });
});

describe('sharded indexes (item 8)', () => {
  const shard = safetensors({ w: [1, 2, 3] });
  const index = (dir: string, weightMap: Record<string, string>, extra = '') => {
    mkdirSync(join(TMP, dir), { recursive: true });
    writeFileSync(join(TMP, dir, 'model.safetensors.index.json'), `{${extra}"weight_map": ${JSON.stringify(weightMap)}}`);
    return join(TMP, dir);
  };

  it('an index naming itself or another index is refused (no recursion)', async () => {
    const self = index('sh_self', { w: 'model.safetensors.index.json' });
    const other = index('sh_circ', { w: 'b.safetensors.index.json' });
    writeFileSync(join(other, 'b.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'model.safetensors.index.json' } }));
    const [r1, r2] = await Promise.all([cli(['inspect', self]), cli(['inspect', other])]);
    expectTrouble(r1, join(self, 'model.safetensors.index.json'), /is the index itself/);
    expectTrouble(r2, join(other, 'b.safetensors.index.json'), /a shard index cannot be a shard of another index/);
  });

  it('metadata nested 100,000 deep is refused without a stack overflow', async () => {
    const deep = index('sh_deep', { w: 'a.safetensors' }, `"metadata": {"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}, `);
    writeFileSync(join(deep, 'a.safetensors'), shard);
    expectTrouble(await cli(['inspect', deep]), join(deep, 'model.safetensors.index.json'), /nested deeper than 64 levels/);
  });

  it('shards resolving outside the directory (symlink, ..) are refused and their bytes never printed', async () => {
    mkdirSync(join(TMP, 'outside'), { recursive: true });
    writeFileSync(join(TMP, 'outside', 'secret.safetensors'), 'SECRET-CONTENT-0123456789');
    const link = index('sh_link', { w: 'a.safetensors' });
    symlinkSync(join(TMP, 'outside', 'secret.safetensors'), join(link, 'a.safetensors'));
    const dots = index('sh_dots', { w: '../outside/secret.safetensors' });
    const notModel = index('sh_text', { w: 'a.safetensors' });
    writeFileSync(join(notModel, 'a.safetensors'), 'SECRET-CONTENT-0123456789');
    const runs = await Promise.all([cli(['inspect', link]), cli(['inspect', dots]), cli(['inspect', notModel])]);
    expectTrouble(runs[0]!, join(link, 'model.safetensors.index.json'), /resolves outside the index's directory/);
    expectTrouble(runs[1]!, join(dots, 'model.safetensors.index.json'), /points outside the index's directory/);
    expectTrouble(runs[2]!, join(notModel, 'a.safetensors'));
    for (const r of runs) expect(r.stderr).not.toMatch(/SECRET|53 45 43 52/);
  });

  it('a shard safetensors header with a syntax error is named without quoting its text', async () => {
    const dir = index('sh_json', { w: 'a.safetensors' });
    writeFileSync(join(dir, 'a.safetensors'), safetensorsRaw('{"SECRET": oops}'));
    const line = expectTrouble(await cli(['inspect', dir]), join(dir, 'a.safetensors'), /invalid safetensors header JSON: (syntax error|unexpected character)/);
    expect(line).not.toContain('SECRET');
  });
});

describe('files that are not regular files (item 9)', () => {
  const fifo = join(TMP, 'model.fifo.pt');
  execFileSync('mkfifo', [fifo]);

  it('a FIFO is refused at once by the CLI (inspect and diff) and the library', async () => {
    const [r1, r2] = await Promise.all([cli(['inspect', fifo]), cli([fifo, fifo])]);
    expectTrouble(r1, fifo, /not a regular file but a FIFO/);
    expectTrouble(r2, fifo, /not a regular file but a FIFO/);
    await expect(inspectFile(fifo)).rejects.toThrow(DiffaiError);
    await expect(diffFiles(fifo, fifo)).rejects.toThrow(/FIFO/);
  });

  it('a symlink loop and a path through a file name the path with exit 2', async () => {
    const loop = join(TMP, 'loop.pt');
    symlinkSync(join(TMP, 'loop2.pt'), loop);
    symlinkSync(loop, join(TMP, 'loop2.pt'));
    const file = write('plain.safetensors', safetensors({ w: [1] }));
    const [r1, r2] = await Promise.all([cli(['inspect', loop]), cli(['inspect', join(file, 'inside.pt')])]);
    expectTrouble(r1, loop, /symbolic links/);
    expectTrouble(r2, join(file, 'inside.pt'), /no such file/);
  });

  it('permission denied names the path (run as an unprivileged user when the tests run as root)', async () => {
    const locked = join(TMP, 'locked');
    mkdirSync(locked);
    const model = join(locked, 'm.safetensors');
    writeFileSync(model, safetensors({ w: [1] }));
    chmodSync(locked, 0o000);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'inspect', model], { ...asNobody, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    chmodSync(locked, 0o755);
    expectTrouble(r, model, /permission denied/);
  });
});

describe('output faults (item 10)', () => {
  // Enough differences for far more output than a pipe buffer holds.
  const many = (shift: number) => safetensors(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`layer.${i}.weight`, [i, shift, 2]])));

  it('a reader that goes away (| head -c 10) ends the run quietly', async () => {
    const a = write('many_a.safetensors', many(1));
    const b = write('many_b.safetensors', many(2));
    const r = await new Promise<{ status: number | null; stderr: string; got: number }>((resolve) => {
      const child = spawn(process.execPath, [BIN, a, b, '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let got = 0;
      child.stdout.once('data', (d: Buffer) => {
        got = Math.min(10, d.length);
        child.stdout.destroy();
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stderr, got }));
    });
    expect(r.got).toBe(10);
    expect(r.stderr).toBe('');
    expect(r.status).not.toBe(2);
    expect(r.status).not.toBeNull();
  });

  it('an output that cannot be written (/dev/full) exits 2 with one line', async () => {
    const a = write('full_a.safetensors', many(1));
    const b = write('full_b.safetensors', many(2));
    const fd = openSync('/dev/full', 'w');
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, a, b, '-o', 'json'], { stdio: ['ignore', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stderr }));
    });
    closeSync(fd);
    expectTrouble({ status: r.status, stdout: '', stderr: r.stderr }, 'cannot write the output', /no space left on device/);
  });
});

describe('library arguments (item 12)', () => {
  const A = write('lib_a.safetensors', safetensors({ w: [1, 2] }));
  const bad: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['diffFiles(null, …)', () => diffFiles(null as never, A), /diffFiles: pathA must be a file path.*got null/],
    ['a numeric path', () => diffFiles(A, 42 as never), /pathB .* got number 42/],
    ['an object path', () => inspectFile({} as never), /inspectFile: path .* got an object/],
    ['options: null', () => diffFiles(A, A, null as never), /options must be an object or undefined, got null/],
    ['ignoreKeysRegex as a string', () => diffFiles(A, A, { ignoreKeysRegex: 'w' as never }), /options.ignoreKeysRegex must be a RegExp/],
    ['epsilon as a string', () => diffFiles(A, A, { epsilon: '0.1' as never }), /options.epsilon must be a finite number ≥ 0, got the string "0.1"/],
    ['epsilon NaN', () => diffFiles(A, A, { epsilon: Number.NaN }), /options.epsilon .* got number NaN/],
    ['negative epsilon', () => diffFiles(A, A, { epsilon: -1 }), /options.epsilon .* got number -1/],
    ['threads 0', () => inspectFile(A, { threads: 0 }), /options.threads must be a positive integer/],
    ['an unknown analysis', () => analyzeFiles([A, A], ['nope' as never]), /analyzeFiles: unknown analysis "nope" \(known: /],
    ['one file to analyze', () => analyzeFiles([A], ['similarity']), /analyzeFiles: give at least 2 files, got 1/],
    ['analyses as a string', () => analyzeFiles([A, A], 'similarity' as never), /analyses must be an array of analysis names/],
    ['inspectFile on a FIFO', () => inspectFile(join(TMP, 'model.fifo.pt')), /not a regular file but a FIFO/],
  ];
  for (const [label, call, message] of bad) {
    it(`${label}: DiffaiError with one line`, async () => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DiffaiError);
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).toMatch(message);
    });
  }

  it('tensorStats: a non-buffer or an unknown dtype is a DiffaiError', () => {
    expect(() => tensorStats([1, 2] as never)).toThrow(DiffaiError);
    expect(() => tensorStats(new Uint8Array(4), 'f33' as never)).toThrow(/unknown dtype "f33"/);
  });

  it('an aborted call stays an AbortError', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await diffFiles(A, A, { signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error)?.name).toBe('AbortError');
  });
});

describe('deep nesting, huge shapes and decompression bombs in every reader', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    [
      'safetensors header nested 100,000 deep',
      () => write('deep.safetensors', safetensorsRaw(`{"a": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`)),
      /nest(ed|ing) deeper/,
    ],
    [
      'safetensors shape past 2^53 elements',
      () => write('huge.safetensors', safetensorsRaw('{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}')),
      /too large|does not|exceeds|safe/,
    ],
    [
      'npy header nested 10,000 deep',
      () => write('deep.npy', npyRaw(`{'descr': '<f8', 'fortran_order': False, 'shape': ${'('.repeat(10_000)}${')'.repeat(10_000)}, }`, Buffer.alloc(0), 2)),
      /nest|deep/,
    ],
    [
      'npy shape overflowing 2^64',
      () => write('huge.npy', npyRaw("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551617, 2), }")),
      /shape|large|range/,
    ],
    [
      'npy shape of 2^62 × 2^62',
      () => write('huge2.npy', npyRaw("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }")),
      /shape|large|range/,
    ],
    [
      'MAT structs nested 1,000 deep',
      () => {
        let inner = matDouble('', [1, 1], [1]);
        for (let i = 0; i < 1000; i++) inner = matStruct(i === 999 ? 'top' : '', { f: inner });
        return write('deep_struct.mat', matFile([inner]));
      },
      /nested more than/,
    ],
    [
      'MAT cells nested 1,000 deep',
      () => {
        let inner = matDouble('', [1, 1], [1]);
        for (let i = 0; i < 1000; i++) inner = matCell(i === 999 ? 'top' : '', inner);
        return write('deep_cell.mat', matFile([inner]));
      },
      /nested more than/,
    ],
    ['MAT dims of 2^31−1 × 2^31−1 doubles', () => write('huge.mat', matFile([matDouble('x', [2147483647, 2147483647], [1])])), /.+/],
  ];
  for (const [label, make, problem] of cases) {
    it(`${label}: exit 2, one line`, async () => {
      const path = make();
      expectTrouble(await cli(['inspect', path]), path, problem);
    });
  }

  it('a deflated npz entry of 64 MiB of zeros (1000:1) streams with exact results', async () => {
    const n = 8 << 20;
    const data = Buffer.concat([npyRaw(`{'descr': '<f8', 'fortran_order': False, 'shape': (${n},), }`), Buffer.alloc(n * 8)]);
    const path = write('bomb.npz', npz({ zeros: data }, true));
    const r = await cli(['inspect', path, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout).tensors[0];
    expect([t.total_params, t.zero_count, t.mean, t.std]).toEqual([n, n, 0, 0]);
  });

  it('a MAT miCOMPRESSED variable of 64 MiB of zeros streams with exact results', async () => {
    const n = 8 << 20;
    const path = write('bomb.mat', matFile([matCompressed(matDouble('z', [n, 1], new Array(n).fill(0)))]));
    const r = await cli(['inspect', path, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout).tensors[0];
    expect([t.total_params, t.zero_count]).toEqual([n, n]);
  });

  it('a sparse 4 GiB safetensors whose header claims the data is read only as far as it is asked', async () => {
    const header = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [1 << 30], data_offsets: [0, 4 * 2 ** 30] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const path = join(TMP, 'sparse.safetensors');
    writeSparse(path, Buffer.concat([len, header]), 8 + header.length + 4 * 2 ** 30);
    const r = await cli(['inspect', path, '--shape-only', '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tensors[0].shape).toEqual([1 << 30]);
  });
});
