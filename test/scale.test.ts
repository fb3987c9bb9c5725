/**
 * Many small tensors and many zip entries (issue 9 item 5, issue 15 items 4–5): the batched
 * paths (windows of small tensors read in spans, the header scanner, the read-ahead block)
 * give exactly the results of exact references and of the one-tensor-at-a-time path; hostile
 * archives (overlapping entries, too many entries) are refused with one clear line.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { makeZip, npyF32 } from '../bench/generate-zip.js';
import { DiffaiError } from '../src/errors.js';
import { Executor } from '../src/engine/executor.js';
import { describeModel } from '../src/formats/registry.js';
import { MAX_ZIP_ENTRIES, listZip } from '../src/formats/zip/zip.js';
import { diffFiles, inspectFile } from '../src/library.js';
import { expectComparison, expectStats } from './helpers/assert.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { type TestDType, Rng, SIZE, decode, randomBytes } from './helpers/dtypes.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { ROOT, type TensorSpec, rawSafetensors, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });
const tmp = tempDir('diffai-scale-');
afterAll(() => tmp.cleanup());

const DTYPES: TestDType[] = ['f32', 'bf16', 'f16', 'f64', 'i8', 'u8', 'i32'];

/** 1,500 small tensors of mixed dtypes and sizes, two larger than a batch item, in file order. */
function manyTensors(rng: Rng): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (let i = 0; i < 1500; i++) {
    const dtype = DTYPES[i % DTYPES.length]!;
    const n = i === 500 || i === 1000 ? 40_000 : 1 + rng.int(200);
    out.push({ name: `blocks.${i}.w`, dtype, shape: i % 3 === 0 ? [n] : [1, n], bytes: randomBytes(dtype, n, rng, i % 17 === 0) });
  }
  return out;
}

/** B: every 5th tensor changed in one element, every 50th dropped, 20 added, one reshaped. */
function modified(a: TensorSpec[], rng: Rng): TensorSpec[] {
  const out: TensorSpec[] = [];
  a.forEach((t, i) => {
    if (i % 50 === 7) return;
    if (i === 11) {
      out.push({ ...t, shape: [...t.shape].reverse() }); // [1, n] → [n, 1]
      return;
    }
    const bytes = Uint8Array.from(t.bytes);
    if (i % 5 === 0) bytes[rng.int(bytes.length / SIZE[t.dtype as TestDType]) * SIZE[t.dtype as TestDType]]! ^= 0x24;
    out.push({ ...t, bytes });
  });
  for (let k = 0; k < 20; k++) out.push({ name: `extra.${k}`, dtype: 'f32', shape: [10 + k], bytes: randomBytes('f32', 10 + k, rng) });
  return out;
}

describe('a pair of files with thousands of small tensors', () => {
  const rng = new Rng(9);
  const a = manyTensors(rng);
  const b = modified(a, rng);
  const pathA = writeSafetensors(tmp.path('many_a.safetensors'), a);
  const pathB = writeSafetensors(tmp.path('many_b.safetensors'), b);
  const byName = (specs: TensorSpec[]) => new Map(specs.map((t) => [t.name, t]));
  const values = (t: TensorSpec) => decode(t.bytes, t.dtype as TestDType);

  it('diffs to exactly the expected differences, each number against an exact reference', async () => {
    const { results } = await diffFiles(pathA, pathB, { threads: 1 });
    const inA = byName(a);
    const inB = byName(b);
    const expected = new Map<string, string>();
    for (const [name, ta] of inA) {
      const tb = inB.get(name);
      if (!tb) expected.set(name, 'TensorRemoved');
      else if (ta.shape.join() !== tb.shape.join()) expected.set(name, 'TensorShapeChanged');
      else if (exactCompare(values(ta), values(tb)).changed > 0) expected.set(name, 'TensorStatsChanged');
    }
    for (const name of inB.keys()) if (!inA.has(name)) expected.set(name, 'TensorAdded');
    expect(new Map(results.map((r) => [r.name, r.kind]))).toEqual(expected);
    expect(results.length).toBe(expected.size);
    for (const r of results) {
      if (r.kind === 'TensorStatsChanged') {
        const [va, vb] = [values(inA.get(r.name)!), values(inB.get(r.name)!)];
        expectStats(r.a, exactStats(va), `${r.name} a`);
        expectStats(r.b, exactStats(vb), `${r.name} b`);
        expectComparison(r.comparison, exactCompare(va, vb), r.name);
      } else if (r.kind === 'TensorRemoved') expectStats(r.stats, exactStats(values(inA.get(r.name)!)), r.name);
      else if (r.kind === 'TensorAdded') expectStats(r.stats, exactStats(values(inB.get(r.name)!)), r.name);
    }
  });

  it('inspects every tensor to its exact reference', async () => {
    const report = await inspectFile(pathA, { threads: 1 });
    expect(report.tensors.map((t) => t.name).sort()).toEqual(a.map((t) => t.name).sort());
    const inA = byName(a);
    for (const t of report.tensors) expectStats(t, exactStats(values(inA.get(t.name)!)), t.name);
  });

  it('batched engine runs (runMany) equal one tensor at a time, bit for bit, at any chunk size', async () => {
    const [da, db] = [await describeModel(pathA), await describeModel(pathB)];
    const common = da.tensors.filter((t) => db.tensors.some((u) => u.name === t.name && u.numel === t.numel));
    const partner = new Map(db.tensors.map((t) => [t.name, t]));
    for (const chunkElements of [7, undefined]) {
      const executor = new Executor({ threads: 1, chunkElements });
      try {
        const pairs = common.map((t) => [t, partner.get(t.name)!] as [typeof t, typeof t]);
        const [many, stats] = await Promise.all([executor.compareMany(pairs, 0), executor.statsMany(da.tensors)]);
        // Every 4th against its own run (all tensors' values are checked against exact references above).
        for (let i = 0; i < pairs.length; i += 4) expect(many[i], pairs[i]![0].name).toStrictEqual(await executor.compare(pairs[i]![0], pairs[i]![1], 0));
        for (let i = 1; i < da.tensors.length; i += 4) expect(stats[i], da.tensors[i]!.name).toStrictEqual(await executor.stats(da.tensors[i]!));
      } finally {
        await executor.close();
      }
    }
  });
});

describe('the safetensors header scanner keeps JSON semantics and refuses ambiguity', () => {
  const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const file = (name: string, header: string, data = four) => {
    const path = tmp.path(name);
    writeFileSync(path, rawSafetensors(header, data));
    return path;
  };

  it('accepts escapes in names and keys, numbers written as 4.0 or 4e0, unknown keys and repeated keys (last wins)', async () => {
    const path = file(
      'json.safetensors',
      '{"w\\u00e9\\n\\"x": {"d\\u0074ype": "F32", "shape": [2.0e0, 2.0], "junk": {"a": [1, {"b": null}]}, "data_offsets": [0, 8], "data_offsets": [0, 16]}, "__metadata__": {"k\\/": "v\\u263a"}}',
    );
    const d = await describeModel(path);
    expect(d.tensors.map((t) => [t.name, t.dtype, t.shape, t.source.length])).toEqual([['wé\n"x', 'f32', [2, 2], 16]]);
    expect({ ...d.leaves }).toEqual({ '__metadata__.k/': 'v☺' });
  });

  /** ~9 MB of header JSON (the reader holds 4 MiB at a time): 60,000 entries of varied length, a 6 MB metadata value in the middle. */
  function bigHeader(): { text: string; entries: Array<[string, number]> } {
    const entries: Array<[string, number]> = [];
    const members: string[] = [];
    let offset = 0;
    for (let i = 0; i < 60_000; i++) {
      const name = `blocks.${i}.${'x'.repeat((i * 37) % 101)}.w`;
      const n = 1 + (i % 3);
      entries.push([name, n]);
      if (i === 30_000) members.push(`"__metadata__": {"note": "${'m'.repeat(6_000_000)}", "k": "v"}`);
      members.push(`"${name}": {"dtype": "F32", "shape": [${n}], "data_offsets": [${offset}, ${offset + 4 * n}]}`);
      offset += 4 * n;
    }
    return { text: `{${members.join(', ')}}`, entries };
  }

  it('reads a header larger than its read window: members cut at window ends, a member larger than the window', async () => {
    const { text, entries } = bigHeader();
    const elements = entries.reduce((s, [, n]) => s + n, 0);
    const path = file('big-header.safetensors', text, new Uint8Array(4 * elements));
    const d = await describeModel(path);
    // Reference: JSON.parse of the same header text.
    const parsed = JSON.parse(text) as Record<string, { shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
    const expected = Object.entries(parsed).filter(([k]) => k !== '__metadata__') as Array<[string, { shape: number[]; data_offsets: [number, number] }]>;
    expect(d.tensors.length).toBe(expected.length);
    const dataStart = 8 + Buffer.byteLength(text) + ((8 - (Buffer.byteLength(text) % 8)) % 8);
    d.tensors.forEach((t, i) => {
      const [name, e] = expected[i]!;
      expect([t.name, t.shape, t.source.offset - dataStart, t.source.length]).toEqual([
        name,
        e.shape,
        e.data_offsets[0],
        e.data_offsets[1] - e.data_offsets[0],
      ]);
    });
    expect(d.leaves['__metadata__.note']).toBe((parsed.__metadata__ as Record<string, string>).note);
    expect(d.leaves['__metadata__.k']).toBe('v');
  });

  it('agrees with JSON.parse on a random header past the window: escaped and non-ASCII names, escaped dtypes, key orders, 6,000 distinct shapes', async () => {
    const rng = new Rng(17);
    const pieces = ['a', 'é', '\u{1F600}', '\\"', '\\\\', '\\/', '\\n', '\\u00e9', '\\ud83d\\ude00', '.', '0', '__proto__', ' '];
    const dtypes: Array<[string, number]> = [
      ['"F32"', 4],
      ['"F\\u0033\\u0032"', 4],
      ['"BF16"', 2],
      ['"I8"', 1],
      ['"U\\u0038"', 1],
    ];
    const members: string[] = [];
    const names = new Set<string>();
    let offset = 0;
    for (let i = 0; members.length < 50_000; i++) {
      const raw = `t${i}.${Array.from({ length: rng.int(4) }, () => pieces[rng.int(pieces.length)]).join('')}${'z'.repeat(rng.int(60))}`;
      const name = JSON.parse(`"${raw}"`) as string;
      if (names.has(name)) continue;
      names.add(name);
      const [dtype, size] = dtypes[rng.int(dtypes.length)]!;
      // Shapes: mostly a few common ones, and 6,000 of their own (past the table's shared-shape limit).
      const shape = i % 7 === 0 ? [1 + (i % 6000), 1 + rng.int(3)] : [[2, 3], [4], [], [1, 1, 2], [2, 0]][rng.int(5)]!;
      const bytes = size * shape.reduce((x, y) => x * y, 1);
      const fields = [`"dtype": ${dtype}`, `"shape":[${shape.join(' , ')}]`, `"data_offsets": [${offset},${offset + bytes}]`];
      if (rng.int(3) === 0) fields.reverse();
      if (rng.int(5) === 0) fields.splice(1, 0, '"extra": {"x": [1, "}"]}');
      members.push(`"${raw}"\t:\n{${fields.join(rng.int(2) ? ',' : ' ,\r\n ')}}`);
      offset += bytes;
    }
    const text = `{${members.join(', ')} }`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 << 20); // past the 4 MiB read window
    const path = file('random-header.safetensors', text, new Uint8Array(offset));
    const d = await describeModel(path);
    const parsed = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const dataStart = 8 + Buffer.byteLength(text) + ((8 - (Buffer.byteLength(text) % 8)) % 8);
    // JSON.parse reorders integer-like keys; the reader keeps file order: compare by name.
    const byName = new Map(d.tensors.map((t) => [t.name, t]));
    expect(byName.size).toBe(Object.keys(parsed).length);
    const entries = Object.entries(parsed);
    const got = entries.map(([name]) => {
      const t = byName.get(name);
      return t && [name, t.dtype, t.shape, t.source.offset - dataStart, t.source.length];
    });
    const want = entries.map(([name, e]) => [name, e.dtype.toLowerCase(), e.shape, e.data_offsets[0], e.data_offsets[1] - e.data_offsets[0]]);
    // Compared as text (a deep equality of 50,000 rows is slow); a mismatch shows its first differing row.
    const differing = got.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(want[i]));
    expect(differing === -1 ? undefined : [got[differing], want[differing]]).toBeUndefined();
    expect(got.length).toBe(50_000);
  });

  it('refuses a tensor name given twice, wherever the two are, as the first window does', async () => {
    const { text, entries } = bigHeader();
    const twice = text.replace(`"${entries[59_999]![0]}"`, `"${entries[1]![0]}"`);
    expect(twice).not.toBe(text);
    const elements = entries.reduce((s, [, n]) => s + n, 0);
    const r = await cli(['inspect', file('twice.safetensors', twice, new Uint8Array(4 * elements))]);
    expectTrouble(r, '', /appears twice in the header/);
  });

  it('reports a syntax error past the first window at its byte offset in the header', async () => {
    const { text, entries } = bigHeader();
    // The separator before the 50,000th entry (~12.7 MB in, past the 6 MB metadata) becomes ';'.
    const at = text.indexOf(`, "${entries[50_000]![0]}"`);
    const broken = `${text.slice(0, at)};${text.slice(at + 1)}`;
    const path = file('big-header-broken.safetensors', broken, new Uint8Array(4 * entries.reduce((s, [, n]) => s + n, 0)));
    await expect(describeModel(path)).rejects.toThrow(`invalid safetensors header JSON: expected ',' or '}' at byte ${at}`);
  });

  for (const [label, header, problem] of [
    [
      'a name given twice',
      '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}',
      /tensor a appears twice/,
    ],
    ['a dtype named like an object key', '{"a": {"dtype": "constructor", "shape": [4], "data_offsets": [0, 16]}}', /unknown dtype "constructor"/],
    [
      'two __metadata__ entries',
      '{"__metadata__": {}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "__metadata__": {}}',
      /duplicate __metadata__/,
    ],
    [
      'trailing garbage after the object',
      '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}} x',
      /invalid safetensors header JSON: unexpected data/,
    ],
    [
      'nesting 100,000 deep in an unknown key',
      `{"a": {"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}`,
      /nesting deeper than 1000/,
    ],
  ] as const) {
    it(`refuses ${label}`, async () => {
      const path = file(`${label.replace(/\W+/g, '_')}.safetensors`, header);
      await expect(describeModel(path)).rejects.toThrow(problem);
      await expect(describeModel(path)).rejects.toBeInstanceOf(DiffaiError);
    });
  }
});

describe('zip archives with many or overlapping entries', () => {
  it('a 5,000-entry .npz describes every array, read through the read-ahead block', async () => {
    const arrays = Array.from({ length: 5000 }, (_, i) => Float32Array.from({ length: 1 + (i % 9) }, (_, j) => Math.sin(i + j / 7)));
    const path = makeZip(
      tmp.path('many.npz'),
      arrays.map((v, i) => ({ name: `x${i}.npy`, data: npyF32(v) })),
    );
    const report = await inspectFile(path, { threads: 1 });
    expect(report.tensors.length).toBe(5000);
    for (const t of report.tensors) expectStats(t, exactStats([...arrays[Number(t.name.slice(1))]!]), t.name);
  });

  it('entries that share a record (64 names for one deflated stream) are refused at once, by name', async () => {
    requireBuild();
    const big = npyF32(new Float32Array(4 << 20));
    const path = makeZip(tmp.path('overlap.npz'), [{ name: 'a.npy', data: big, deflate: true }], {
      aliases: Array.from({ length: 63 }, (_, i) => ({ name: `b${i}.npy`, of: 0 })),
    });
    expect(() => listZip(path)).toThrow(/zip: entries "a\.npy" and "b0\.npy" overlap/);
    const r = await cli(['inspect', path]);
    expectTrouble(r, path, /overlap/);
    // A torch-style archive whose storage names all point into data.pkl's record.
    const pt = makeZip(tmp.path('overlap.pt'), [{ name: 'archive/data.pkl', data: Uint8Array.from([0x80, 0x02, 0x7d, 0x2e]) }], {
      aliases: [{ name: 'archive/data/0', of: 0 }],
    });
    expectTrouble(await cli([pt, pt]), pt, /overlap/);
  });

  it(`more than ${MAX_ZIP_ENTRIES} entries are refused before any entry is read`, async () => {
    requireBuild();
    const path = makeZip(
      tmp.path('too_many.npz'),
      (function* () {
        for (let i = 0; i <= MAX_ZIP_ENTRIES; i++) yield { name: `${i}.npy`, data: new Uint8Array(0) };
      })(),
    );
    expect(() => listZip(path)).toThrow(new RegExp(`zip: ${MAX_ZIP_ENTRIES + 1} entries exceed the limit of ${MAX_ZIP_ENTRIES}`));
    expectTrouble(await cli(['inspect', path]), path, /entries exceed the limit/);
  });
});

describe('large outputs', () => {
  it('are written in pieces without splitting a surrogate pair at a piece boundary', () => {
    requireBuild();
    // 1 + 2·2^20 UTF-16 units: every piece boundary (2^20) falls inside an emoji's pair.
    const script = `import { write } from ${JSON.stringify(join(ROOT, 'dist', 'src', 'cli', 'output.js'))}; await write('a' + '\u{1F600}'.repeat(1 << 20));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(1 + 2 * (1 << 20));
    expect(r.stdout === `a${'\u{1F600}'.repeat(1 << 20)}`).toBe(true);
  });
});
