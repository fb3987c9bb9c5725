import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DiffaiError } from '../src/errors.js';
import { safetensorsReader } from '../src/formats/safetensors/reader.js';
import { describeSharded, findShardIndex, isShardIndex } from '../src/formats/sharded/index.js';
import type { ModelDescription } from '../src/formats/types.js';
import { decodeTensor, tensorProblems, type RefTensor } from './helpers/decode.js';
import { expectDescribeFailure } from './helpers/failure.js';

const DIR = join(__dirname, '..', 'fixtures', 'sharded');
interface ShardRef {
  tensors?: Record<string, RefTensor>;
  shards?: number;
  warnings?: string[];
  error?: string;
}
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, ShardRef>;
const describeFile = (p: string): Promise<ModelDescription> => safetensorsReader.describe(p);

/** A sharded failure may name the index or a shard, so its file is not checked. */
const failure = (path: string): Promise<DiffaiError> => expectDescribeFailure({ describe: (p) => describeSharded(p, describeFile) }, path, undefined, false);

describe('sharded safetensors checkpoints', () => {
  for (const layout of ['a', 'b']) {
    it(`layout ${layout}: tensors joined across ${REF[layout]!.shards} shards match the reference`, async () => {
      const ref = REF[layout]!;
      for (const path of [join(DIR, layout), join(DIR, layout, 'model.safetensors.index.json')]) {
        const d = await describeSharded(path, describeFile);
        expect(d.format).toBe('sharded');
        expect(d.path).toBe(path);
        expect(d.warnings).toEqual([]);
        expect(d.tensors.map((t) => t.name).sort()).toEqual(Object.keys(ref.tensors!).sort());
        const problems = d.tensors.flatMap((t) => tensorProblems(t, ref.tensors![t.name]!, `${layout}:${t.name}`));
        expect(problems).toEqual([]);
        expect(d.leaves).toEqual({ '__metadata__.format': 'pt' });
        const shards = new Set(d.tensors.map((t) => t.notes!.find((n) => n.startsWith('shard: '))));
        expect(shards.size).toBe(ref.shards);
      }
    });
  }

  it('pairs tensors by name although the shard boundaries differ', async () => {
    const a = await describeSharded(join(DIR, 'a'), describeFile);
    const b = await describeSharded(join(DIR, 'b'), describeFile);
    const bByName = new Map(b.tensors.map((t) => [t.name, t]));
    const changed: string[] = [];
    for (const t of a.tensors) {
      const u = bByName.get(t.name)!;
      expect([u.dtype, u.shape]).toEqual([t.dtype, t.shape]);
      if (JSON.stringify(decodeTensor(u)) !== JSON.stringify(decodeTensor(t))) changed.push(t.name);
    }
    expect(changed).toEqual(['layers.1.bias']);
    // the same tensor lives in different shard files in the two layouts
    const shardOf = (d: ModelDescription, n: string): string | undefined => d.tensors.find((t) => t.name === n)!.notes?.at(-1);
    expect(shardOf(a, 'layers.0.bias')).not.toEqual(shardOf(b, 'layers.0.bias'));
  });

  it('reports index inconsistencies as warnings', async () => {
    const d = await describeSharded(join(DIR, 'inconsistent'), describeFile);
    for (const w of REF['inconsistent']!.warnings!) {
      expect(
        d.warnings.some((x) => x.includes(w)),
        `a warning about ${w} in ${JSON.stringify(d.warnings)}`,
      ).toBe(true);
    }
    expect(d.warnings.length).toBe(4);
    // tensors present in shards are still described, once each
    expect(d.tensors.map((t) => t.name).sort()).toEqual(Object.keys(REF['a']!.tensors!).sort());
  });

  for (const bad of ['missing_shard', 'escape', 'bad_json']) {
    it(`${bad} fails with a clear DiffaiError`, async () => {
      expect((await failure(join(DIR, bad))).message).toContain(REF[bad]!.error);
    });
  }

  it('a directory without an index fails clearly', async () => {
    expect((await failure(join(DIR, '..', 'numpy'))).message).toMatch(/no shard index/);
  });

  it('recognises indexes and directories holding one', () => {
    expect(isShardIndex(join(DIR, 'a'))).toBe(true);
    expect(isShardIndex(join(DIR, 'a', 'model.safetensors.index.json'))).toBe(true);
    expect(isShardIndex(join(DIR, 'a', 'model-00001-of-00002.safetensors'))).toBe(false);
    expect(isShardIndex(join(DIR, '..', 'numpy'))).toBe(false);
    expect(isShardIndex(join(DIR, 'nonexistent'))).toBe(false);
  });
});

describe('pytorch_model.bin.index.json', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'diffai-sharded-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is found, and preferred below the safetensors index', async () => {
    writeFileSync(join(tmp, 'pytorch_model-00001-of-00001.bin'), 'x');
    writeFileSync(join(tmp, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { w: 'pytorch_model-00001-of-00001.bin' } }));
    expect(findShardIndex(tmp)).toBe(join(tmp, 'pytorch_model.bin.index.json'));
    const seen: string[] = [];
    const fake = async (p: string): Promise<ModelDescription> => {
      seen.push(p);
      return {
        path: p,
        format: 'pytorch',
        leaves: {},
        warnings: [],
        tensors: [{ name: 'w', dtype: 'f32', shape: [2], numel: 2, byteOrder: 'little', source: { kind: 'file', path: p, offset: 0, length: 8 } }],
      };
    };
    const d = await describeSharded(tmp, fake);
    expect(seen).toEqual([join(tmp, 'pytorch_model-00001-of-00001.bin')]);
    expect(d.tensors.map((t) => t.name)).toEqual(['w']);
    expect(d.warnings).toEqual([]);
    writeFileSync(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ weight_map: {} }));
    expect(findShardIndex(tmp)).toBe(join(tmp, 'model.safetensors.index.json'));
    const d2 = await describeSharded(tmp, fake);
    expect(d2.warnings.some((w) => w.includes('several shard indexes'))).toBe(true);
  });
});
