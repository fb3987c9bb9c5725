/**
 * The hostile suite, round four: names that grow only because groups nest (pickle, MAT v5,
 * HDF5), strings and lists shared through the pickle memo, messages quoting megabytes, raw
 * control characters in JSON/Markdown/HTML/textconv/git-diff/check output and on stderr,
 * shard indexes of thousands of files, deeply nested part files, and the reader and engine
 * boundaries that name the file whatever goes wrong. Inputs are built here (one small h5py
 * fixture); each must end with exit 2 and one line naming the file, or work within bounds.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { jobFailure } from '../src/engine/engine.js';
import type { Job } from '../src/engine/ops.js';
import { DiffaiError } from '../src/errors.js';
import { readerFailure } from '../src/formats/registry.js';
import { MAX_SHARDS } from '../src/formats/sharded/index.js';
import { MAX_DESCRIBED_ENTRIES, MAX_NAME_TEXT } from '../src/formats/tensor-list.js';
import { warningList } from '../src/formats/warnings.js';
import { JsonPieceEscaper, jsonTerminalSafe } from '../src/render/json-safe.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';
import { safetensors, safetensorsRaw } from './helpers/hostile_files.js';
import { checkpoint, manyLeaves, matNestedLongNames, nestedLongKeyPickle, sharedScalarList, sharedStringLeaves } from './helpers/hostile_names.js';

requireBuild();
const TMP = mkdtempSync(join(tmpdir(), 'diffai-round4-'));
const write = (name: string, data: Buffer | string): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};
/** A heap far below what the unbounded cases needed (4.3 GB, or a hang): a run that still tried would crash, not exit 2. */
const SMALL_HEAP = { NODE_OPTIONS: '--max-old-space-size=256' };
const NAMES_TOO_LONG = new RegExp(`names add up to more than ${MAX_NAME_TEXT >> 20} Mi characters`);

describe('names composed from nested groups stay within the name budget', () => {
  it('a pickle of dicts 150 deep under one memoized 1 MB key (a 150 MB name; 4.3 GB and a crash with 20,000 leaves)', async () => {
    const one = write('long_key.pt', checkpoint(nestedLongKeyPickle(1 << 20, 150)));
    const many = write('long_key_many.pt', checkpoint(nestedLongKeyPickle(1 << 20, 150, 20_000)));
    const [a, b] = await Promise.all([cli(['inspect', one], SMALL_HEAP), cli(['inspect', many], SMALL_HEAP)]);
    expectTrouble(a, one, NAMES_TOO_LONG);
    expectTrouble(b, many, NAMES_TOO_LONG);
  });

  it('a MAT v5 struct nested 60 deep under 4,000-character field names, 20,000 fields at the bottom', async () => {
    const path = write('long_fields.mat', matNestedLongNames(60, 4000, 20_000));
    expectTrouble(await cli(['inspect', path], SMALL_HEAP), path, NAMES_TOO_LONG);
  });

  it('an h5py file of 60 nested 2,300-character groups (322 KB naming 44 M characters; was exit 0 with 44 MB of output)', async () => {
    const path = join(ROOT, 'fixtures/hostile/nested_long_names.h5');
    expectTrouble(await cli(['inspect', path, '--shape-only'], SMALL_HEAP), path, NAMES_TOO_LONG);
  });

  it('ordinary nesting under the budget still works, names exact', async () => {
    const path = write('nested_ok.pt', checkpoint(nestedLongKeyPickle(1000, 20, 50)));
    const r = await cli(['inspect', path, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const keys = Object.keys(JSON.parse(r.stdout).metadata);
    expect(keys).toHaveLength(50);
    expect(keys[7]).toBe(`${Array.from({ length: 21 }, () => 'k'.repeat(1000)).join('.')}.x7`);
  });
});

describe('values shared through the pickle memo', () => {
  it('one 1 MB string in 20,000 leaves (20 GB of text): past the 16 MiB text budget each is its size and SHA-256', async () => {
    const s = `${'s'.repeat((1 << 20) - 1)}!`;
    const path = write('shared_string.pt', checkpoint(sharedStringLeaves(s, 20_000)));
    const r = await cli(['inspect', path, '-o', 'json'], SMALL_HEAP);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeLessThan(40 << 20);
    const leaves = JSON.parse(r.stdout).metadata as Record<string, string>;
    expect(Object.keys(leaves)).toHaveLength(20_000);
    const digest = createHash('sha256').update(s).digest('hex');
    expect(leaves.k0).toBe(s);
    expect(leaves.k19999).toBe(`<string of ${1 << 20} bytes, sha256 ${digest}>`);
    const full = Object.values(leaves).filter((v) => v === s).length;
    expect(full).toBe(16); // exactly the strings that fit 16 MiB
  });

  it('a list of 20,000 scalars referenced 20,000 times (400 M values printed) is refused', async () => {
    const path = write('shared_list.pt', checkpoint(sharedScalarList(20_000)));
    expectTrouble(await cli(['inspect', path], SMALL_HEAP), path, /more than \d+ values/);
  });
});

describe('entries besides tensors are budgeted like tensors', () => {
  it(`more than ${MAX_DESCRIBED_ENTRIES} safetensors metadata keys (10^6 in 30 MB took 50 s and 950 MB) or pickled leaves are refused`, async () => {
    const meta: Record<string, string> = {};
    for (let i = 0; i <= MAX_DESCRIBED_ENTRIES; i++) meta[`k${i}`] = `v${i}`;
    const st = write('many_meta.safetensors', safetensors({ w: [1] }, meta));
    const pkl = write('many_leaves.pt', checkpoint(manyLeaves(MAX_DESCRIBED_ENTRIES + 1)));
    const [a, b] = await Promise.all([cli(['inspect', st], SMALL_HEAP), cli(['inspect', pkl], SMALL_HEAP)]);
    expectTrouble(a, st, new RegExp(`more than ${MAX_DESCRIBED_ENTRIES} metadata entries`));
    expectTrouble(b, pkl, new RegExp(`more than ${MAX_DESCRIBED_ENTRIES} entries besides tensors`));
  });

  it('a thousand metadata keys still work, values exact', async () => {
    const meta: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) meta[`k${i}`] = `v${i}`;
    const r = await cli(['inspect', write('some_meta.safetensors', safetensors({ w: [1] }, meta)), '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).metadata['__metadata__.k999']).toBe('v999');
  });
});

describe('messages and warnings quoting megabytes stay one readable line', () => {
  it('a 1 MB dtype string: one line naming the file, the middle left out', async () => {
    const path = write(
      'long_dtype.safetensors',
      safetensorsRaw(JSON.stringify({ a: { dtype: 'F'.repeat(1 << 20), shape: [1], data_offsets: [0, 4] } }), Buffer.alloc(4)),
    );
    const line = expectTrouble(await cli(['inspect', path]), path, /unknown dtype "F+…\(\d+ characters left out\)…F+"$/);
    expect(line.length).toBeLessThan(2200 + path.length);
  });

  it('a warning keeps at most 2,000 characters, its start and end', () => {
    const warnings = warningList();
    warnings.push(`start ${'n'.repeat(1 << 20)} end`);
    expect(warnings[0]!.length).toBeLessThan(2100);
    expect(warnings[0]).toMatch(/^start n+…\(\d+ characters left out\)…n+ end$/);
  });
});

describe('no raw control characters in any output', () => {
  const evil = 'a\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eevil\u0000\u007f\u2028<script>alert(1)</script>|`*_';
  // C0 but line feed and tab, DEL, C1, separators, bidi controls, BOM
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find raw control characters
  const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
  const a = write('evil_a.safetensors', safetensors({ [evil]: [1, 2], ok: [1] }, { [evil]: evil }));
  const b = write('evil_b.safetensors', safetensors({ [evil]: [1, 3], ok: [2] }, { [evil]: `${evil}2` }));

  it('JSON escapes them as \\uXXXX and still parses back to the exact names (diff and inspect)', async () => {
    const [diff, inspect] = await Promise.all([cli([a, b, '-o', 'json']), cli(['inspect', a, '-o', 'json'])]);
    for (const r of [diff, inspect]) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(RAW);
    }
    expect(diff.stdout).toContain('\\u009b31m\\u202eevil\\u0000\\u007f\\u2028');
    const changed = JSON.parse(diff.stdout).find((e: Record<string, unknown>) => 'TensorStatsChanged' in e).TensorStatsChanged[0];
    expect(changed).toBe(evil);
    expect(JSON.parse(inspect.stdout).tensors.map((t: { name: string }) => t.name)).toContain(evil);
  });

  it('YAML double-quotes and escapes them, bidirectional controls too (js-yaml leaves those raw); names load back exactly', async () => {
    const [diff, inspect] = await Promise.all([cli([a, b, '-o', 'yaml']), cli(['inspect', a, '-o', 'yaml'])]);
    for (const r of [diff, inspect]) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(RAW);
    }
    expect(diff.stdout).toContain('\\u202Eevil');
    const entries = yaml.load(diff.stdout) as Array<Record<string, unknown[]>>;
    expect(entries.find((e) => 'TensorStatsChanged' in e)!.TensorStatsChanged![0]).toBe(evil);
    expect((yaml.load(inspect.stdout) as { tensors: Array<{ name: string }> }).tensors.map((t) => t.name)).toContain(evil);
  });

  it('Markdown and HTML show them escaped (and HTML escapes markup)', async () => {
    const rs = await Promise.all([
      cli([a, b, '-o', 'markdown']),
      cli([a, b, '-o', 'html']),
      cli(['inspect', a, '-o', 'markdown']),
      cli(['inspect', a, '-o', 'html']),
    ]);
    for (const r of rs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.replace(/[\n\t]/g, '')).not.toMatch(RAW);
      expect(r.stdout).toContain('\\e]0;pwned');
    }
    expect(rs[1]!.stdout).not.toContain('<script>alert');
  });

  it('textconv lines, the git-diff header, check lines and stderr notes', async () => {
    const path = `pa\u001b[31mth\u202e.safetensors`;
    const prefixed = write('prefixed.safetensors', safetensors({ [`${evil}.x`]: [1], [`${evil}.y`]: [1] }));
    const plain = write('plain.safetensors', safetensors({ x: [1], y: [2] }));
    const evilPath = write('ch\u001b[31meck.safetensors', safetensors({ [evil]: [1] }));
    const rs = await Promise.all([
      cli(['textconv', a]),
      cli(['git-diff', path, a, '0000000', '100644', b, '1111111', '100644']),
      cli(['check', evilPath]),
      cli([prefixed, plain]),
      cli([a, b, '-v']),
    ]);
    for (const r of rs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.replace(/\n/g, '')).not.toMatch(RAW);
      expect(r.stderr.replace(/\n/g, '')).not.toMatch(RAW);
    }
    expect(rs[0]!.stdout).toContain('a\\e]0;pwned\\x07');
    expect(rs[1]!.stdout.split('\n')[0]).toBe('diffai a/pa\\e[31mth\\u202e.safetensors b/pa\\e[31mth\\u202e.safetensors');
    expect(rs[3]!.stderr).toContain('--strip-prefix a\\e]0;pwned');
  });

  it('the JSON piece escaper: clean bytes pass as they are; a character cut between pieces is escaped whole', () => {
    const e = new JsonPieceEscaper();
    const clean = Buffer.from('{"name": "caf\u00e9"}');
    expect(e.piece(clean)).toBe(clean); // no lead byte of an unsafe character: the same bytes
    expect(e.piece(Buffer.from('"\u2026"'))).toBe('"\u2026"'); // a lead byte: decoded, checked, nothing to escape
    const bytes = Buffer.from('"x\u202ey\u009bz\u007f"');
    const cut = bytes.indexOf(0xe2) + 1; // inside U+202E's three bytes
    const pieces = [e.piece(bytes.subarray(0, cut)), e.piece(bytes.subarray(cut)), e.flush()];
    const text = pieces.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'))).join('');
    expect(text).toBe('"x\\u202ey\\u009bz\\u007f"');
    expect(JSON.parse(text)).toBe('x\u202ey\u009bz\u007f');
    expect(jsonTerminalSafe(JSON.stringify('\ufeff\u2066'))).toBe('"\\ufeff\\u2066"');
  });
});

describe('directory diffs of deep trees', () => {
  it('a model 1,900 directories down (near PATH_MAX) is listed: each directory’s real path is not resolved component by component (that took minutes)', async () => {
    const deep = join(TMP, 'deep_tree');
    const leaf = join(deep, ...Array.from({ length: 1900 }, () => 'a'));
    mkdirSync(leaf, { recursive: true });
    writeFileSync(join(leaf, 'm.safetensors'), safetensors({ w: [1] }));
    const empty = join(TMP, 'deep_empty');
    mkdirSync(empty);
    const r = await cli([deep, empty, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const files = JSON.parse(r.stdout) as Array<{ file: string; status: string }>;
    expect(files).toEqual([expect.objectContaining({ file: `${'a/'.repeat(1900)}m.safetensors`, status: 'only_in_a' })]);
  });
});

describe('shard indexes, part files and the boundaries that name the file', () => {
  it(`an index naming more than ${MAX_SHARDS} shard files is refused before any is opened`, async () => {
    const dir = join(TMP, 'many_shards');
    mkdirSync(dir);
    const weightMap: Record<string, string> = {};
    for (let i = 0; i <= MAX_SHARDS; i++) weightMap[`t${i}`] = `model-${i}.safetensors`;
    const index = join(dir, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ weight_map: weightMap }));
    expectTrouble(await cli(['inspect', index]), index, new RegExp(`names ${MAX_SHARDS + 1} shard files, more than the ${MAX_SHARDS}`));
  });

  it('a part file nested 100,000 deep is refused by merge (it was internal error: Maximum call stack size exceeded)', async () => {
    const A = join(ROOT, 'fixtures/core/digits_mlp.safetensors');
    const B = join(ROOT, 'fixtures/core/digits_mlp_finetuned.safetensors');
    const parts = await Promise.all([1, 2].map((k) => cli([A, B, '--partition', `${k}/2`, '-o', 'partials'])));
    const deep = `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`;
    const paths = parts.map((r, i) => write(`deep_part${i}.json`, r.stdout.replace('"input":{}', `"input":{"x":${deep}}`)));
    expect(readFileSync(paths[0]!, 'utf8')).toContain('[[[[');
    expectTrouble(await cli(['merge', ...paths]), paths[0]!, /is not a diffai part file: nested deeper than \d+ levels/);
  });

  it('an error a reader did not expect becomes one line naming the file', () => {
    const overflow = readerFailure(new RangeError('Maximum call stack size exceeded'), 'm.onnx', 'onnx');
    expect(overflow).toBeInstanceOf(DiffaiError);
    expect((overflow as DiffaiError).line).toBe('diffai: m.onnx: nested too deeply for the onnx reader (Maximum call stack size exceeded)');
    expect((readerFailure(new RangeError('Invalid string length'), 'x.pt', 'pytorch') as DiffaiError).line).toMatch(
      /^diffai: x\.pt: too large for the pytorch reader/,
    );
    expect((readerFailure(new TypeError('boom'), 'y.h5', 'hdf5') as DiffaiError).line).toBe('diffai: y.h5: the hdf5 reader failed: boom');
    const mine = new DiffaiError('z', 'already one line');
    expect(readerFailure(mine, 'z', 'npz')).toBe(mine);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(readerFailure(abort, 'z', 'npz')).toBe(abort);
  });

  it('so does an error an engine job did not expect, naming the files it read', () => {
    const tensor = (path: string) => ({ name: 'w', source: { kind: 'file', path, offset: 0, length: 4 } });
    const job = { op: 'stats', items: [{ tensors: [tensor('a.safetensors'), tensor('b.safetensors')], first: 0, end: 1 }] } as unknown as Job;
    const e = jobFailure(new RangeError('Array buffer allocation failed'), job) as DiffaiError;
    expect(e).toBeInstanceOf(DiffaiError);
    expect(e.line).toBe('diffai: a.safetensors, b.safetensors: cannot read the tensor data (tensor w): Array buffer allocation failed');
  });
});
