/**
 * The hostile suite, round two (issue 15): small files that ask for work, memory or output
 * out of all proportion to their size, in the readers covered least — ONNX (many tensors,
 * repeated names, metadata beyond the text budget, external data ranges sharing bytes, FIFOs
 * and links as external data), GGUF (tensor counts, huge metadata arrays), HDF5 and MATLAB
 * 7.3 (unwritten and aliased chunks, self-containing cells; h5py-written by
 * fixtures/generate_hostile.py), MAT v5 (many variables), PyTorch (views revisiting one
 * storage), spooled standard input and library options. Each refusal is exit 2 with one
 * line naming the file; each valid boundary case works.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkOptions } from '../src/arguments.js';
import { DiffaiError } from '../src/errors.js';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { describeModel } from '../src/formats/registry.js';
import { MAX_DESCRIBED_TENSORS } from '../src/formats/tensor-list.js';
import { MAX_WARNINGS, warningList } from '../src/formats/warnings.js';
import { inspectFile } from '../src/library.js';
import { BIN, type CliResult, cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { Rng } from './helpers/dtypes.js';
import { ROOT } from './helpers/files.js';
import { ggufBytes, u32, u64, V } from './helpers/gguf.js';
import { npyRaw, npz, writeSparse } from './helpers/hostile_files.js';
import {
  matManyVariables,
  ONNX_EXTERNAL_LOCATION,
  onnxExternal,
  onnxMetadata,
  onnxModel,
  onnxOne,
  onnxTensor,
  shiftedViews,
} from './helpers/hostile_formats.js';

requireBuild();
const TMP = mkdtempSync(join(tmpdir(), 'diffai-hostile2-'));
const write = (name: string, data: Buffer): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};
const hostile = (name: string) => join(ROOT, 'fixtures', 'hostile', name);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('ONNX', () => {
  it(`more than ${MAX_DESCRIBED_TENSORS} initializers are refused (the shared tensor budget)`, async () => {
    const inits: Buffer[] = [];
    for (let i = 0; i <= MAX_DESCRIBED_TENSORS; i++) inits.push(onnxOne(`t${i}`));
    const path = write('many.onnx', onnxModel(inits));
    expectTrouble(await cli(['inspect', path, '--shape-only']), path, new RegExp(`more than ${MAX_DESCRIBED_TENSORS} tensors`));
  }, 60_000);

  it('3,000 initializers of one name give 100 warnings and one line counting the rest', async () => {
    const path = write('dups.onnx', onnxModel(Array.from({ length: 3000 }, () => onnxOne('same'))));
    const r = await cli(['inspect', path]);
    expect(r.status, r.stderr).toBe(0);
    const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('appears more than once') || l.includes('more warnings'));
    expect(lines).toHaveLength(MAX_WARNINGS + 1);
    expect(lines.at(-1)).toMatch(/… and 2899 more warnings left out$/);
  });

  it('metadata beyond the 16 MiB text budget is kept as size and SHA-256', async () => {
    const values = Array.from({ length: 300 }, (_, i) => String.fromCharCode(65 + (i % 26)).repeat(65_536));
    const path = write(
      'meta.onnx',
      onnxModel(
        [onnxOne('w')],
        values.map((v, i) => onnxMetadata(`k${i}`, v)),
      ),
    );
    const d = await describeModel(path);
    expect(d.leaves['metadata_props.k0']).toBe(values[0]);
    expect(d.leaves['metadata_props.k255']).toBe(values[255]);
    expect(d.leaves['metadata_props.k256']).toBe(`<string of 65536 bytes, sha256 ${sha256(values[256]!)}>`);
    expect(d.leaves['metadata_props.k299']).toBe(`<string of 65536 bytes, sha256 ${sha256(values[299]!)}>`);
  });

  it('external data ranges of different tensors must not share bytes; disjoint ranges in one file work', async () => {
    const dir = join(TMP, 'ext');
    mkdirSync(dir);
    writeSparse(join(dir, 'w.bin'), Buffer.alloc(8), 1 << 26);
    const tensor = (name: string, offset: number) =>
      onnxTensor(
        name,
        [1 << 22],
        1,
        onnxExternal('location', 'w.bin'),
        onnxExternal('offset', String(offset)),
        onnxExternal('length', String(1 << 24)),
        ONNX_EXTERNAL_LOCATION,
      );
    const bad = join(dir, 'overlap.onnx');
    writeFileSync(bad, onnxModel(Array.from({ length: 2000 }, (_, i) => tensor(`e${i}`, 4 * i))));
    const good = join(dir, 'disjoint.onnx');
    writeFileSync(good, onnxModel([tensor('a', 0), tensor('b', 1 << 24)]));
    const [r1, r2] = await Promise.all([cli(['inspect', bad]), cli(['inspect', good, '-o', 'json'])]);
    expectTrouble(r1, bad, /tensors 'e0' and 'e1' share external data bytes \(4\.\.16777216\)/);
    expect(r2.status, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout).tensors.map((t: { zero_count: number }) => t.zero_count)).toEqual([1 << 22, 1 << 22]);
  });

  it('external data that is a FIFO, a directory or a link out of the directory is refused without reading it', async () => {
    const dir = join(TMP, 'ext_special');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    symlinkSync('/dev/zero', join(dir, 'zero'));
    const model = (location: string, file: string) => {
      const p = join(dir, file);
      writeFileSync(p, onnxModel([onnxTensor('x', [4], 1, onnxExternal('location', location), ONNX_EXTERNAL_LOCATION)]));
      return p;
    };
    const cases: Array<[string, RegExp]> = [
      [model('pipe', 'fifo.onnx'), /external data "pipe" is not a regular file/],
      [model('sub', 'dir.onnx'), /external data "sub" is not a regular file/],
      [model('zero', 'zero.onnx'), /external data file "zero" lies outside the model's directory/],
      [model('../../etc/passwd', 'dots.onnx'), /lies outside the model's directory/],
    ];
    const runs = await Promise.all(cases.map(([p]) => cli(['inspect', p])));
    for (const [i, r] of runs.entries()) expectTrouble(r, cases[i]![0], cases[i]![1]);
  });
});

describe('GGUF', () => {
  it(`a tensor count over ${MAX_DESCRIBED_TENSORS} is refused before any tensor is read`, async () => {
    const head = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(MAX_DESCRIBED_TENSORS + 1), u64(0)]);
    const path = write('count.gguf', Buffer.concat([head, Buffer.alloc(24 * (MAX_DESCRIBED_TENSORS + 2))]));
    expectTrouble(
      await cli(['inspect', path]),
      path,
      new RegExp(`tensor count ${MAX_DESCRIBED_TENSORS + 1} is larger than the limit of ${MAX_DESCRIBED_TENSORS}`),
    );
  });

  it('a 32 MB metadata array is summarized by its SHA-256 (hashed as one run of bytes); long bool arrays too, and a bad bool in one is refused', async () => {
    const u8 = Buffer.alloc(32 << 20);
    for (let i = 0; i < u8.length; i += 4099) u8[i] = i & 0xff;
    const bools = Buffer.from(Array.from({ length: 5000 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)));
    const path = write(
      'arrays.gguf',
      ggufBytes({
        kvs: [
          { key: 'big', ...V.array(0, u8.length, u8) },
          { key: 'flags', ...V.array(7, bools.length, bools) },
        ],
        tensors: [],
        data: 0,
      }),
    );
    const d = await ggufReader.describe(path);
    expect(d.leaves.big).toBe(`<array of ${u8.length} u8, sha256 ${sha256(u8)}>`);
    expect(d.leaves.flags).toBe(`<array of 5000 bool, sha256 ${sha256([...bools].map(String).join(''))}>`);
    const badBools = Buffer.from(bools);
    badBools[4321] = 2;
    const bad = write('badbool.gguf', ggufBytes({ kvs: [{ key: 'flags', ...V.array(7, badBools.length, badBools) }], tensors: [], data: 0 }));
    expectTrouble(await cli(['inspect', bad]), bad, /"flags": bool value 2 is neither 0 nor 1/);
  });
});

describe('HDF5 and MATLAB 7.3 (h5py-written, fixtures/hostile)', () => {
  it('40 unwritten 1 GiB datasets (40 GiB of fill zeros from 15 KB) are over the work budget', async () => {
    expectTrouble(
      await cli(['inspect', hostile('unstored_many.h5')]),
      hostile('unstored_many.h5'),
      /datasets of \d+ bytes from 0 stored bytes .*over the budget/,
    );
  });

  it('300 chunk-index entries naming one deflated chunk are over the work budget (the chunk counts once)', async () => {
    const path = hostile('chunk_alias.h5');
    expectTrouble(await cli(['inspect', path]), path, /datasets of 1258291200 bytes from \d{4} stored bytes .*over the budget/);
  });

  it('a MATLAB 7.3 char array hard-linked as 200 variables: entry text stops at the 16 MiB budget, the rest skipped with a warning', async () => {
    const d = await describeModel(hostile('chars_linked.mat'));
    const kept = Object.keys(d.leaves).filter((k) => typeof d.leaves[k] === 'string'); // a skipped array is a null entry
    const skipped = d.warnings.filter((w) => w.endsWith("skipped (the file's char arrays are over 16777216 bytes)"));
    expect(kept.length).toBeGreaterThanOrEqual(120);
    expect(kept.length).toBeLessThanOrEqual(128); // 128 × 65,536 UTF-16 units is the whole budget
    expect(kept.length + skipped.length).toBe(200);
    expect(d.leaves.c0).toBe('A'.repeat(65536));
  });

  it('a MATLAB 7.3 cell that contains itself ends with one line', async () => {
    expectTrouble(await cli(['inspect', hostile('cell_cycle.mat')]), hostile('cell_cycle.mat'), /nested more than 64 deep/);
  });
});

describe('MAT v5 and PyTorch', () => {
  it(`more than ${MAX_DESCRIBED_TENSORS} MAT variables are refused`, async () => {
    const path = write('many.mat', matManyVariables(MAX_DESCRIBED_TENSORS + 1));
    expectTrouble(await cli(['inspect', path, '--shape-only']), path, new RegExp(`more than ${MAX_DESCRIBED_TENSORS} tensors`));
  }, 60_000);

  it('npz string arrays beyond the 16 MiB text budget are skipped with a warning, the first 16 MiB kept', async () => {
    const entries: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i++) {
      const text = Buffer.alloc(4 * 4 * 65_536);
      for (let k = 0; k < text.length; k += 4) text.writeUInt32LE(65 + ((i + k / 4) % 26), k);
      entries[`s${i}`] = npyRaw("{'descr': '<U65536', 'fortran_order': False, 'shape': (4,), }", text);
    }
    const d = await describeModel(write('strings.npz', npz(entries)));
    expect(Object.keys(d.leaves).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `s${i}`).sort());
    expect((d.leaves.s3 as string[])[0]!.slice(0, 3)).toBe('DEF');
    expect(d.warnings).toEqual(
      [16, 17, 18, 19].map((i) => `npz entry 's${i}.npy': string array <U65536 [4] skipped (the file's string arrays are over 16777216 bytes)`),
    );
  });

  it('5,000 views b[i:] of one 1 MiB storage (5 GB of statistics from a 2 MB file) are refused; 100 of them work', async () => {
    const bad = write('views_bad.pt', shiftedViews(1 << 18, 5000));
    const good = write('views_ok.pt', shiftedViews(1 << 18, 100));
    const [r1, r2] = await Promise.all([cli(['inspect', bad]), cli(['inspect', good, '-o', 'json'])]);
    expectTrouble(r1, bad, /its tensors view the stored bytes over and over/);
    expect(r2.status, r2.stderr).toBe(0);
    const tensors = JSON.parse(r2.stdout).tensors as Array<{ name: string; total_params: number }>;
    expect(tensors).toHaveLength(100);
    expect(tensors.find((t) => t.name === 't99')?.total_params).toBe((1 << 18) - 99);
  });
});

describe('spooled inputs are judged by their first bytes', () => {
  const withStdin = (args: string[], stdinPath: string) =>
    new Promise<CliResult>((resolve) => {
      const fd = openSync(stdinPath, 'r');
      const child = spawn(process.execPath, [BIN, ...args], { stdio: [fd, 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => {
        stdout += d;
      });
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill(), 30_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        closeSync(fd);
        resolve({ status, stdout, stderr });
      });
    });

  it('an endless stream of zeros on standard input is refused at once, not spooled', async () => {
    expectTrouble(await withStdin(['inspect', '-'], '/dev/zero'), '-', /unrecognised file format \(first bytes: 00 00/);
  });

  it('a gzip file (or gzip on standard input) of no model is refused at its first decompressed bytes', async () => {
    const gz = write('zeros.safetensors.gz', gzipSync(Buffer.alloc(8 << 20)));
    const [r1, r2] = await Promise.all([cli(['inspect', gz]), withStdin(['inspect', '-'], gz)]);
    expectTrouble(r1, gz, /unrecognised file format/);
    expectTrouble(r2, '-', /unrecognised file format/);
  });

  it('a model on standard input still works', async () => {
    const r = await withStdin(['inspect', '-', '-o', 'json'], join(ROOT, 'fixtures', 'core', 'digits_mlp.safetensors'));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tensors.length).toBeGreaterThan(0);
  });
});

describe('sharded index mutation sweep', () => {
  it('the index of a sharded checkpoint truncated at every byte and with 200 byte flips: described or refused with one line', async () => {
    const dir = join(TMP, 'sharded_sweep');
    cpSync(join(ROOT, 'fixtures', 'sharded', 'a'), dir, { recursive: true });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = readFileSync(indexPath);
    const rng = new Rng(15);
    const cases: Buffer[] = [];
    for (let n = 0; n < index.length; n++) cases.push(index.subarray(0, n));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(index);
      for (let k = 0; k < 1 + (i % 3); k++) b[Math.floor(rng.next() * b.length)] = Math.floor(rng.next() * 256);
      cases.push(b);
    }
    const problems: string[] = [];
    let refused = 0;
    for (const [i, data] of cases.entries()) {
      writeFileSync(indexPath, data);
      try {
        await describeModel(dir);
      } catch (e) {
        if (e instanceof DiffaiError && !e.line.includes('\n') && e.file !== undefined) refused++;
        else problems.push(`case ${i}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(refused).toBeGreaterThan(index.length / 2);
  });
});

describe('directory diffs', () => {
  it('a link to itself (ELOOP) and a FIFO named like a model are skipped with one warning each', async () => {
    const dirs = ['dir_a', 'dir_b'].map((d) => join(TMP, d));
    for (const d of dirs) {
      mkdirSync(d);
      writeFileSync(join(d, 'm.safetensors'), readFileSync(join(ROOT, 'fixtures', 'core', 'digits_mlp.safetensors')));
      symlinkSync('self', join(d, 'self'));
      execFileSync('mkfifo', [join(d, 'pipe.safetensors')]);
    }
    const r = await cli([dirs[0]!, dirs[1]!]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trimEnd().split('\n').sort()).toEqual(
      dirs
        .flatMap((d) => [
          `diffai: warning: ${join(d, 'pipe.safetensors')}: not a regular file but a FIFO (named pipe); skipped`,
          `diffai: warning: ${join(d, 'self')}: symbolic link loop skipped`,
        ])
        .sort(),
    );
  });
});

describe('bounded lists and library options', () => {
  it('a warning list keeps MAX_WARNINGS and one line counting the rest', () => {
    const w = warningList();
    for (let i = 0; i < 250; i++) w.push(`w${i}`);
    expect(w).toHaveLength(MAX_WARNINGS + 1);
    expect(w[MAX_WARNINGS - 1]).toBe(`w${MAX_WARNINGS - 1}`);
    expect(w.at(-1)).toBe(`… and ${250 - MAX_WARNINGS} more warnings left out`);
  });

  it('options.threads beyond the cores is capped (each thread holds its own engine); results are unchanged', async () => {
    expect(checkOptions('inspectFile', { threads: 1e9 }).threads).toBe(availableParallelism());
    expect(checkOptions('inspectFile', { threads: 1 }).threads).toBe(1);
    const path = join(ROOT, 'fixtures', 'core', 'digits_mlp.safetensors');
    const [many, one] = await Promise.all([inspectFile(path, { threads: 1e9 }), inspectFile(path, { threads: 1 })]);
    expect(many.tensors).toEqual(one.tensors);
  });

  it('options.format must name a reader', async () => {
    const err = await inspectFile(join(ROOT, 'fixtures', 'core', 'digits_mlp.safetensors'), { format: 'bogus' as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiffaiError);
    expect((err as Error).message).toMatch(/^inspectFile: options.format must be one of safetensors, .*got the string "bogus"$/);
  });
});
