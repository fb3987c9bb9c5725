/**
 * ONNX reader: every fixture's statistics against the float64 values onnx.numpy_helper
 * decoded in the generator; the same weights as ONNX (inline and external data) and as
 * safetensors diff as identical; QDQ weights link to their float names; malformed and hostile
 * files fail with one line.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { diffFiles, inspectFile } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { expectDescribeFailure, itFailsCleanly } from './helpers/failure.js';
import { itMatchesStatsReference, type RefTensor } from './helpers/proto_reference.js';
import { e4m3fnuzFromBits, e5m2fnuzFromBits } from './helpers/dtypes.js';
import { key, len, str, varint, vint } from './helpers/protobuf_writer.js';

const DIR = join(__dirname, '..', 'fixtures', 'onnx');
const CORE = join(__dirname, '..', 'fixtures', 'core');

const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, Record<string, RefTensor>>;

const tmp = mkdtempSync(join(tmpdir(), 'diffai-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ONNX fixtures against the generator reference', () => {
  itMatchesStatsReference(DIR, REF, 'onnx');
});

const tensorKinds = new Set(['TensorStatsChanged', 'TensorShapeChanged', 'TensorDtypeChanged', 'TensorAdded', 'TensorRemoved']);

describe('ONNX across storage and formats', () => {
  it('the same weights as .onnx, external-data .onnx and .safetensors diff as identical tensors', async () => {
    const onnx = join(DIR, 'digits_mlp.onnx');
    for (const other of [join(DIR, 'external', 'model.onnx'), join(CORE, 'digits_mlp.safetensors')]) {
      // Tensors equal, and ONNX's model fields are not differences against a format that cannot hold them.
      const { results } = await diffFiles(onnx, other, { threads: 1 });
      expect(results.filter((r) => tensorKinds.has(r.kind))).toEqual([]);
      if (other.endsWith('.safetensors')) expect(results).toEqual([]);
    }
  });

  it('the fine-tuned export differs in every tensor, as its safetensors twin does', async () => {
    const { results } = await diffFiles(join(DIR, 'digits_mlp.onnx'), join(DIR, 'digits_mlp_finetuned.onnx'), { threads: 1 });
    const changed = results.filter((r) => r.kind === 'TensorStatsChanged').map((r) => (r as { name: string }).name);
    expect(changed.sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
  });

  it('raw_data and the typed fields (float_data, int32_data, int64_data, double_data, uint64_data) give the same tensors', async () => {
    const report = await inspectFile(join(DIR, 'dtypes.onnx'), { threads: 1 });
    const byName = new Map(report.tensors.map((t) => [t.name, t]));
    for (const dt of ['f32', 'f64', 'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool', 'f16', 'bf16']) {
      const raw = byName.get(`${dt}.raw`)!;
      const typed = byName.get(`${dt}.typed`)!;
      expect(typed.dtype, dt).toBe(raw.dtype);
      expect({ ...typed, name: '' }, dt).toEqual({ ...raw, name: '' });
    }
  });

  it('links a DequantizeLinear weight to its float name and dequantizes a per-tensor scale', async () => {
    const d = await onnxReader.describe(join(DIR, 'dtypes.onnx'));
    const q = d.tensors.find((t) => t.name === 'proj.weight_quantized')!;
    expect(q.linkedTo).toBe('proj.weight');
    expect(q.quantization?.zeroPoint).toBe(3);
    const report = await inspectFile(join(DIR, 'dtypes.onnx'), { threads: 1 });
    const entry = report.tensors.find((t) => t.name === 'proj.weight_quantized') as unknown as { role: string; linked_to: string };
    expect(entry.role).toBe('quantized');
    expect(entry.linked_to).toBe('proj.weight');
  });

  it('keeps model fields as entries and warns about string tensors', async () => {
    const d = await onnxReader.describe(join(DIR, 'dtypes.onnx'));
    expect(d.leaves['producer_name']).toBe('diffai-fixtures');
    expect(d.leaves['opset_import.ai.onnx']).toBe(13);
    expect(d.leaves['metadata_props.author']).toBe('diffai');
    expect(d.warnings.some((w) => w.includes("'labels'"))).toBe(true);
  });

  it('inspects through the CLI and picks .onnx up in directories', () => {
    const a = join(tmp, 'dirA');
    const b = join(tmp, 'dirB');
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, 'm.onnx'), readFileSync(join(DIR, 'digits_mlp.onnx')));
    writeFileSync(join(b, 'm.onnx'), readFileSync(join(DIR, 'digits_mlp_finetuned.onnx')));
    const r = runCli([a, b, '-o', 'json']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Array<{ file: string; status: string }>;
    expect(out.map((e) => [e.file, e.status])).toEqual([['m.onnx', 'modified']]);
  });
});

// ---- hostile files, built with a small protobuf writer ----

const model = (graph: number[]): number[] => [...vint(1, 8), ...str(2, 'test'), ...len(7, graph)];
function tensor(name: string, dataType: number, dims: Array<number | bigint>, extra: number[] = []): number[] {
  return [...dims.flatMap((d) => vint(1, d)), ...vint(2, dataType), ...str(8, name), ...extra];
}

function write(name: string, bytes: number[]): string {
  const path = join(tmp, name);
  writeFileSync(path, Buffer.from(bytes));
  return path;
}

describe('malformed and hostile ONNX files fail with one line', () => {
  const cases: Array<[string, number[], string]> = [
    ['raw_data shorter than the shape', model(len(5, tensor('w', 1, [4], len(9, [0, 0, 0, 0])))), 'raw_data holds 4 bytes'],
    ['negative dimension', model(len(5, tensor('w', 1, [-3], len(9, [])))), 'bad dimension -3'],
    ['dimensions overflowing', model(len(5, tensor('w', 1, [2 ** 40, 2 ** 40], len(9, [])))), 'overflows'],
    ['unknown element type', model(len(5, tensor('w', 99, [1], len(9, [0])))), 'data type 99'],
    ['FLOAT4E2M1 refused by name', model(len(5, tensor('w', 23, [2], len(9, [0])))), 'FLOAT4E2M1'],
    ['a length past its message', [...vint(1, 8), ...key(7, 2), ...varint(1000), 1, 2, 3], 'past the end'],
    ['a varint longer than 10 bytes', [...vint(1, 8), ...key(7, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 'varint'],
    ['a group wire type', [...vint(1, 8), ...key(7, 3)], 'wire type 3'],
    ['packed values fewer than elements', model(len(5, tensor('w', 3, [3], len(5, [1, 2])))), '2 packed values for 3 elements'],
    ['a packed varint cut off', model(len(5, tensor('w', 3, [1], len(5, [0x81])))), 'cut off'],
    ['float_data of the wrong size', model(len(5, tensor('w', 1, [2], len(4, [0, 0, 128, 63])))), 'packed values hold 4 bytes'],
    ['an element type in the wrong field', model(len(5, tensor('w', 1, [1], len(7, [5])))), 'cannot be stored in field 7'],
    ['no graph', [...vint(1, 8), ...str(2, 'x')], 'no graph'],
    [
      'external data outside the directory',
      model(len(5, tensor('w', 1, [1], [...vint(14, 1), ...len(13, [...str(1, 'location'), ...str(2, '../escape.bin')])]))),
      'outside',
    ],
    [
      'external data absolute path',
      model(len(5, tensor('w', 1, [1], [...vint(14, 1), ...len(13, [...str(1, 'location'), ...str(2, '/etc/passwd')])]))),
      'relative path',
    ],
    [
      'external data missing',
      model(len(5, tensor('w', 1, [1], [...vint(14, 1), ...len(13, [...str(1, 'location'), ...str(2, 'missing.bin')])]))),
      'does not exist',
    ],
  ];
  for (const [what, bytes, fragment] of cases) {
    it(what, async () => {
      await expectDescribeFailure(onnxReader, write(`${what.replace(/\W+/g, '_')}.onnx`, bytes), fragment);
    });
  }

  it('refuses external data reached through a symlink out of the directory', async () => {
    const dir = join(tmp, 'ext');
    mkdirSync(dir);
    writeFileSync(join(tmp, 'secret.bin'), Buffer.alloc(4));
    symlinkSync(join(tmp, 'secret.bin'), join(dir, 'link.bin'));
    const path = join(dir, 'm.onnx');
    writeFileSync(path, Buffer.from(model(len(5, tensor('w', 1, [1], [...vint(14, 1), ...len(13, [...str(1, 'location'), ...str(2, 'link.bin')])])))));
    await expectDescribeFailure(onnxReader, path, 'outside');
  });

  it('bounds subgraph nesting', async () => {
    // graph{node{attribute{g: graph{node{…}}}}} nested 200 deep.
    let g: number[] = [];
    for (let i = 0; i < 200; i++) g = len(1, len(5, [...str(1, 'then_branch'), ...len(6, g)]));
    await expectDescribeFailure(onnxReader, write('deep.onnx', model(g)), 'nested more than');
  });

  it('a truncation at any byte of a real export fails cleanly or describes', async () => {
    const bytes = readFileSync(join(DIR, 'testdata', 'test_Linear.onnx'));
    for (let n = 1; n < bytes.length; n++) {
      const path = write('cut.onnx', [...bytes.subarray(0, n)]);
      try {
        await onnxReader.describe(path);
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(DiffaiError);
        expect((e as DiffaiError).message).not.toContain('\n');
      }
    }
  });

  it('exits 2 with one line in the CLI', () => {
    const path = write('bad.onnx', model(len(5, tensor('w', 1, [4], len(9, [0, 0, 0, 0])))));
    const r = runCli(['inspect', path]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('raw_data holds 4 bytes');
  });
});

describe('ONNX float8 FNUZ types', () => {
  for (const [type, name, fromBits] of [
    [18, 'f8_e4m3fnuz', e4m3fnuzFromBits],
    [20, 'f8_e5m2fnuz', e5m2fnuzFromBits],
  ] as const) {
    it(`${name}: all 256 codes through the engine equal an independent decoding`, async () => {
      const codes = Array.from({ length: 256 }, (_, i) => i);
      const path = write(`${name}.onnx`, model(len(5, tensor('w', type, [256], len(9, codes)))));
      const t = (await inspectFile(path, { threads: 1 })).tensors[0]!;
      const values = codes.map(fromBits);
      const finite = values.filter(Number.isFinite);
      const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
      const std = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / finite.length);
      expect(t.dtype).toBe(name);
      expect([t.nan_count, t.posinf_count, t.neginf_count, t.zero_count]).toEqual([1, 0, 0, 1]);
      expect([t.min, t.max]).toEqual([Math.min(...finite), Math.max(...finite)]);
      expect(t.max).toBe(name === 'f8_e4m3fnuz' ? 240 : 57344);
      expect(Math.abs(t.mean! - mean)).toBeLessThan(1e-12 * Math.max(1, Math.abs(t.max!)));
      expect(Math.abs(t.std! - std) / std).toBeLessThan(1e-12);
    });
  }
});

describe('ONNX INT4/UINT4 (two elements a byte, the first in the low nibble)', () => {
  // 40 elements: 20 bytes, so the SIMD path (16 bytes) and the scalar tail both run.
  const bytes = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) & 0xff);
  const nibbles = bytes.flatMap((b) => [b & 15, b >> 4]);
  for (const [type, name, value] of [
    [22, 'i4', (n: number) => (n ^ 8) - 8],
    [21, 'u4', (n: number) => n],
  ] as const) {
    it(`${name}: raw_data and packed int32_data equal an independent decoding`, async () => {
      const values = nibbles.map(value);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      const raw = write(`${name}_raw.onnx`, model(len(5, tensor('w', type, [4, 10], len(9, bytes)))));
      const typed = write(
        `${name}_typed.onnx`,
        model(
          len(
            5,
            tensor(
              'w',
              type,
              [4, 10],
              len(
                5,
                bytes.flatMap((b) => varint(b)),
              ),
            ),
          ),
        ),
      );
      for (const path of [raw, typed]) {
        const t = (await inspectFile(path, { threads: 1 })).tensors[0]!;
        expect(t.dtype).toBe(name);
        expect([t.min, t.max, t.zero_count]).toEqual([Math.min(...values), Math.max(...values), values.filter((v) => v === 0).length]);
        expect(Math.abs(t.mean! - mean)).toBeLessThan(1e-12);
        expect(Math.abs(t.std! - std)).toBeLessThan(1e-12);
      }
    });
  }

  it('refuses an odd number of 4-bit elements by name', async () => {
    await expectDescribeFailure(
      onnxReader,
      write('odd_int4.onnx', model(len(5, tensor('w', 22, [3], len(9, [0, 0]))))),
      'INT4 tensors with an odd number of elements (3)',
    );
  });
});

describe('corrupted ONNX files fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['dtypes.onnx', onnxReader],
    ['digits_mlp.onnx', onnxReader],
  ]);
});
