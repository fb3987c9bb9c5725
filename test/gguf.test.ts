/**
 * GGUF: the reader against the generator's records and @huggingface/gguf, the dequantization
 * kernels element by element against the generator's own dequantization (float32 in ggml's
 * order: bit for bit; float64: to 1e-6 of the block's magnitude), statistics against float64,
 * the llama-family names against a Hugging Face safetensors file, and hostile files.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf as hfGguf } from '@huggingface/gguf';
import { describe, expect, it } from 'vitest';
import { dtypeInfo } from '../src/dtypes.js';
import { Kernels } from '../src/engine/kernels.js';
import { pipelineFor } from '../src/engine/pipeline.js';
import { GGML_TYPES } from '../src/formats/gguf/ggml-types.js';
import { alignGgufNames, huggingFaceName } from '../src/formats/gguf/hf-names.js';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { describeModel } from '../src/formats/registry.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { diffDirectories, diffFiles, inspectFile } from '../src/library.js';
import { requireBuild, runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/files.js';

const DIR = join(ROOT, 'fixtures', 'gguf');
const fx = (name: string) => join(DIR, name);

interface RefStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}
const REF = JSON.parse(readFileSync(fx('reference.json'), 'utf8')) as {
  tensors: Record<string, { type: string; shape: number[]; offset: number; numel: number; stats: RefStats }>;
  metadata: Record<string, unknown>;
  llama_sqnr: Record<string, { type: string; sqnr_db: number }>;
};
const VALUES_F32 = new Float32Array(new Uint8Array(readFileSync(fx('values.f32'))).buffer);
const VALUES_F64 = new Float64Array(new Uint8Array(readFileSync(fx('values.f64'))).buffer);

function expectStats(got: { mean: number | null; std: number | null; min: number | null; max: number | null }, ref: RefStats, label: string): void {
  // 1e-6 relative; the mean relative to the spread (it is near zero).
  const scale = Math.abs(ref.mean) + ref.std;
  expect(Math.abs(got.mean! - ref.mean), `${label} mean`).toBeLessThanOrEqual(1e-6 * scale);
  expect(Math.abs(got.std! - ref.std), `${label} std`).toBeLessThanOrEqual(1e-6 * ref.std);
  expect(Math.abs(got.min! - ref.min), `${label} min`).toBeLessThanOrEqual(1e-6 * Math.abs(ref.min));
  expect(Math.abs(got.max! - ref.max), `${label} max`).toBeLessThanOrEqual(1e-6 * Math.abs(ref.max));
}

describe('GGUF reader', () => {
  it('describes every tensor as the generator wrote it (C-order shapes, dtypes, v3 and v2)', async () => {
    for (const file of ['types_v3.gguf', 'types_v2.gguf']) {
      const m = await describeModel(fx(file));
      expect(m.format).toBe('gguf');
      expect(m.tensors.map((t) => t.name)).toEqual(Object.keys(REF.tensors));
      for (const t of m.tensors) {
        const r = REF.tensors[t.name]!;
        expect(t.shape).toEqual(r.shape);
        expect(t.numel).toBe(r.numel);
        expect(t.dtype).toBe(r.type.toLowerCase());
      }
    }
  });

  it('keeps metadata as entries: every value type, nested arrays, long arrays by digest', async () => {
    const m = await describeModel(fx('types_v3.gguf'));
    for (const [key, value] of Object.entries(REF.metadata)) {
      if (key === 'tokenizer.ggml.tokens') continue;
      // u64 beyond 2^53 is kept exactly, as a decimal string.
      const expected = key === 'test.u64' ? '9007199254740994' : value;
      expect(m.leaves[key], key).toEqual(expected);
    }
    expect(m.leaves['tokenizer.ggml.tokens']).toMatch(/^<array of 1500 string, sha256 [0-9a-f]{64}>$/);
  });

  it('agrees with @huggingface/gguf on metadata and tensor infos', async () => {
    for (const file of ['types_v3.gguf', 'llama-q4_k_m.gguf']) {
      const path = fx(file);
      const theirs = await hfGguf(path, { allowLocalFile: true });
      const ours = await describeModel(path);
      const meta = theirs.metadata as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(meta)) {
        if (['version', 'tensor_count', 'kv_count'].includes(key)) continue;
        const v = ours.leaves[key];
        if (Array.isArray(value) && value.length > 1024) expect(v, key).toMatch(new RegExp(`^<array of ${value.length} `));
        else if (typeof value === 'bigint') expect(String(v), key).toBe(value.toString());
        else if (typeof value === 'number' && !Number.isInteger(value)) expect(v as number, key).toBeCloseTo(value, 12);
        else expect(v, key).toEqual(value);
      }
      expect(Object.keys(ours.leaves).sort()).toEqual(
        Object.keys(meta)
          .filter((k) => !['version', 'tensor_count', 'kv_count'].includes(k))
          .sort(),
      );
      expect(ours.tensors.length).toBe(theirs.tensorInfos.length);
      theirs.tensorInfos.forEach((info, i) => {
        const t = ours.tensors[i]!;
        expect(t.name).toBe(info.name);
        expect(t.shape).toEqual(info.shape.map(Number).reverse());
        expect(t.dtype).toBe(GGML_TYPES.get(info.dtype)!.dtype);
        expect(t.source.offset).toBe(Number(theirs.tensorDataOffset + info.offset));
      });
    }
  });
});

describe('GGUF dequantization kernels', () => {
  it('match the generator element by element: bit for bit with ggml-order float32, within 1e-6 of the block magnitude in float64', async () => {
    const m = await describeModel(fx('types_v3.gguf'));
    const k = new Kernels();
    const file = readFileSync(fx('types_v3.gguf'));
    const raw = new Uint32Array(k.k.memory.buffer);
    for (const t of m.tensors) {
      const r = REF.tensors[t.name]!;
      const p = pipelineFor(t);
      const src = t.source as Extract<TensorDescriptor['source'], { kind: 'file' }>;
      k.bytes.set(file.subarray(src.offset, src.offset + src.length), k.rawA);
      let out = k.rawA;
      if (p.widen) {
        k.k[p.widen.kernel](k.rawA, k.scratchA, t.numel);
        out = k.scratchA;
      }
      const got = new Float32Array(k.k.memory.buffer, out, t.numel);
      const gotBits = raw.subarray(out / 4, out / 4 + t.numel);
      const want = VALUES_F32.subarray(r.offset, r.offset + r.numel);
      const wantBits = new Uint32Array(want.buffer, want.byteOffset, want.length);
      const exact = VALUES_F64.subarray(r.offset, r.offset + r.numel);
      const block = dtypeInfo(t.dtype).blockElements;
      let mismatches = 0;
      for (let i = 0; i < t.numel; i++) {
        if (gotBits[i] !== wantBits[i]) mismatches++;
        const b0 = i - (i % Math.max(block, 32));
        let mag = 0;
        for (let j = b0; j < b0 + Math.max(block, 32) && j < t.numel; j++) mag = Math.max(mag, Math.abs(exact[j]!));
        expect(Math.abs(got[i]! - exact[i]!), `${t.name}[${i}]`).toBeLessThanOrEqual(1e-6 * mag);
      }
      expect(mismatches, `${t.name}: elements not bit-identical to ggml's float32 order`).toBe(0);
    }
  });

  it('give float64 statistics to 1e-6 through inspect, for chunk sizes that cut tensors into few blocks', async () => {
    for (const options of [{}, { chunkElements: 100 }, { chunkElements: 300, threads: 2 }]) {
      const report = await inspectFile(fx('types_v3.gguf'), options);
      expect(report.tensors.length).toBe(16);
      for (const t of report.tensors) expectStats(t, REF.tensors[t.name]!.stats, `${t.name} ${JSON.stringify(options)}`);
    }
    const v2 = await inspectFile(fx('types_v2.gguf'));
    for (const t of v2.tensors) expectStats(t, REF.tensors[t.name]!.stats, `v2 ${t.name}`);
  });
});

describe('GGUF against Hugging Face names', () => {
  it('maps the llama-family names', () => {
    expect(huggingFaceName('blk.12.attn_q.weight')).toBe('model.layers.12.self_attn.q_proj.weight');
    expect(huggingFaceName('blk.3.attn_k.bias')).toBe('model.layers.3.self_attn.k_proj.bias');
    expect(huggingFaceName('blk.0.attn_v.weight')).toBe('model.layers.0.self_attn.v_proj.weight');
    expect(huggingFaceName('blk.0.attn_output.weight')).toBe('model.layers.0.self_attn.o_proj.weight');
    expect(huggingFaceName('blk.7.ffn_gate.weight')).toBe('model.layers.7.mlp.gate_proj.weight');
    expect(huggingFaceName('blk.7.ffn_up.weight')).toBe('model.layers.7.mlp.up_proj.weight');
    expect(huggingFaceName('blk.7.ffn_down.weight')).toBe('model.layers.7.mlp.down_proj.weight');
    expect(huggingFaceName('blk.7.attn_norm.weight')).toBe('model.layers.7.input_layernorm.weight');
    expect(huggingFaceName('blk.7.ffn_norm.weight')).toBe('model.layers.7.post_attention_layernorm.weight');
    expect(huggingFaceName('token_embd.weight')).toBe('model.embed_tokens.weight');
    expect(huggingFaceName('output_norm.weight')).toBe('model.norm.weight');
    expect(huggingFaceName('output.weight')).toBe('lm_head.weight');
    expect(huggingFaceName('rope_freqs.weight')).toBeUndefined();
    expect(huggingFaceName('blk.0.ffn_gate_exps.weight')).toBeUndefined();
  });

  it('GGUF metadata is compared between two GGUF files', async () => {
    const { results } = await diffFiles(fx('llama-f16.gguf'), fx('types_v3.gguf'), { shapeOnly: true });
    expect(results).toContainEqual({ kind: 'Modified', name: 'general.name', a: 'tiny llama', b: 'diffai type fixture ✓' });
    expect(results.find((r) => r.name === 'tokenizer.ggml.tokens')?.kind).toBe('Added');
  });

  it('renames only against a model with Hugging Face names; two GGUF files keep theirs', async () => {
    const [f16, q4] = await Promise.all([describeModel(fx('llama-f16.gguf')), describeModel(fx('llama-q4_k_m.gguf'))]);
    const [a, b] = alignGgufNames([f16, q4]);
    expect(a!.tensors.map((t) => t.name)).toContain('blk.0.attn_q.weight');
    expect(b!.tensors.map((t) => t.name)).toContain('blk.0.attn_q.weight');
    const st = await describeModel(fx('llama.safetensors'));
    const [, g] = alignGgufNames([st, q4]);
    expect(g!.tensors.map((t) => t.name).sort()).toEqual(st.tensors.map((t) => t.name).sort());
  });

  it('an f16 GGUF of a safetensors model diffs as identical tensors: names mapped, Q/K rows un-permuted exactly', async () => {
    const { results } = await diffFiles(fx('llama.safetensors'), fx('llama-f16.gguf'));
    // Format-level metadata (safetensors __metadata__, GGUF key/value pairs) is not compared across formats.
    expect(results.filter((r) => !r.kind.startsWith('Tensor'))).toEqual([]);
    const tensorKinds = results;
    // Only the norms differ, by dtype (written as F32 as llama.cpp does), never by value or name.
    expect(tensorKinds.map((r) => `${r.kind} ${r.name}`).sort()).toEqual(
      [
        'TensorDtypeChanged model.layers.0.input_layernorm.weight',
        'TensorDtypeChanged model.layers.0.post_attention_layernorm.weight',
        'TensorDtypeChanged model.norm.weight',
      ].sort(),
    );
  });

  it('--quantization-analysis gives each tensor the SQNR the generator computed against the original', () => {
    requireBuild();
    const r = runCli([fx('llama.safetensors'), fx('llama-q4_k_m.gguf'), '--quantization-analysis', '-o', 'json']);
    expect(r.status === 0 || r.status === 1, r.stderr).toBe(true); // 0 or 1 by the exit-code convention in force
    const entry = (JSON.parse(r.stdout) as Array<Record<string, { tensors: Array<{ name: string; dtype_b: string; sqnr_db: number }> }>>).find(
      (e) => 'QuantizationAnalysis' in e,
    )!;
    const byName = new Map(entry.QuantizationAnalysis!.tensors.map((t) => [t.name, t]));
    expect(Object.keys(REF.llama_sqnr).length).toBe(9);
    for (const [name, ref] of Object.entries(REF.llama_sqnr)) {
      const t = byName.get(name)!;
      expect(t, name).toBeDefined();
      expect(t.dtype_b).toBe(ref.type.toLowerCase());
      expect(Math.abs(t.sqnr_db - ref.sqnr_db), name).toBeLessThanOrEqual(1e-6 * ref.sqnr_db);
    }
  });

  it('directories pick up .gguf files', async () => {
    const a = tempDir();
    const b = tempDir();
    try {
      copyFileSync(fx('llama-f16.gguf'), a.path('model.gguf'));
      copyFileSync(fx('llama-q4_k_m.gguf'), b.path('model.gguf'));
      copyFileSync(fx('types_v3.gguf'), b.path('extra.gguf'));
      const report = await diffDirectories(a.dir, b.dir);
      expect(report.files.map((f) => [f.file, f.status])).toEqual([
        ['extra.gguf', 'only_in_b'],
        ['model.gguf', 'modified'],
      ]);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });
});

describe('GGUF splits (gguf-split)', () => {
  it('the first split reads the whole model: it diffs as identical to the unsplit file', async () => {
    const split = await describeModel(fx('llama-q4_k_m-00001-of-00002.gguf'));
    const whole = await describeModel(fx('llama-q4_k_m.gguf'));
    expect(split.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(whole.tensors.map((t) => [t.name, t.dtype, t.shape]));
    expect(split.leaves).toEqual(whole.leaves);
    const { results } = await diffFiles(fx('llama-q4_k_m-00001-of-00002.gguf'), fx('llama-q4_k_m.gguf'));
    expect(results).toEqual([]);
  });

  it('a later split alone is read alone, with a warning; a missing split fails with one line', async () => {
    const second = await describeModel(fx('llama-q4_k_m-00002-of-00002.gguf'));
    expect(second.tensors.length).toBe(7);
    expect(second.warnings.join('\n')).toContain('split 2 of 2');
    const dir = tempDir();
    try {
      copyFileSync(fx('llama-q4_k_m-00001-of-00002.gguf'), dir.path('m-00001-of-00002.gguf'));
      const err = await describeModel(dir.path('m-00001-of-00002.gguf')).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).toMatch(/no such file|ENOENT|not found/i);
      // In a directory, only the first split is a model.
      copyFileSync(fx('llama-q4_k_m-00002-of-00002.gguf'), dir.path('m-00002-of-00002.gguf'));
      const report = await diffDirectories(dir.dir, dir.dir);
      expect(report.files.map((f) => [f.file, f.status])).toEqual([['m-00001-of-00002.gguf', 'identical']]);
    } finally {
      dir.cleanup();
    }
  });
});

describe('GGUF types diffai does not read', () => {
  it('are refused by name, exit 2 with one line', () => {
    requireBuild();
    const r = runCli(['inspect', fx('unsupported.gguf')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('IQ2_XXS');
    expect(r.stderr).toContain('blk.0.attn_q.weight');
  });

  it('the reader sniffs GGUF by its magic bytes, whatever the extension', () => {
    expect(ggufReader.sniff(new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]), 'x.bin')).toBe(true);
    expect(ggufReader.sniff(new Uint8Array([0x47, 0x47, 0x55, 0x45]), 'x.gguf')).toBe(false);
  });
});
