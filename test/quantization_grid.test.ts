/**
 * Quantization that keeps the dtype: values rounded to an int grid but still stored as f32
 * are found by --quantization-analysis (with the grid's bits, scheme and step), while a real
 * fine-tune is not.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../src/index.js';
import { safetensorsBytes } from './helpers/files.js';

const dir = mkdtempSync(join(tmpdir(), 'diffai-grid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic N(0, 0.05)-ish weights. */
function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.1;
  }
  return out;
}

function snap(x: Float32Array, bits: number, scheme: 'symmetric' | 'affine'): { values: Float32Array; step: number } {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const maxAbs = Math.max(Math.abs(lo), Math.abs(hi));
  const step = scheme === 'symmetric' ? maxAbs / (2 ** (bits - 1) - 1) : (hi - lo) / (2 ** bits - 1);
  const origin = scheme === 'symmetric' ? 0 : lo;
  return { values: x.map((v) => origin + Math.round((v - origin) / step) * step), step };
}

const f32 = (x: Float32Array) => new Uint8Array(x.buffer.slice(0));

describe('grid-snapped tensors', () => {
  it('finds int8 symmetric and int4 affine grids, and leaves unsnapped tensors alone', async () => {
    const w1 = weights(4096, 1);
    const w2 = weights(1024, 2);
    const w3 = weights(2048, 3);
    const s1 = snap(w1, 8, 'symmetric');
    const s2 = snap(w2, 4, 'affine');
    const w3b = w3.map((v, i) => (i % 5 === 0 ? v * 1.01 : v)); // a plain change: not on any grid
    const a = join(dir, 'a.safetensors');
    const b = join(dir, 'b.safetensors');
    writeFileSync(
      a,
      safetensorsBytes([
        { name: 'l1.weight', dtype: 'f32', shape: [64, 64], bytes: f32(w1) },
        { name: 'l2.weight', dtype: 'f32', shape: [32, 32], bytes: f32(w2) },
        { name: 'l3.weight', dtype: 'f32', shape: [2048], bytes: f32(w3) },
      ]),
    );
    writeFileSync(
      b,
      safetensorsBytes([
        { name: 'l1.weight', dtype: 'f32', shape: [64, 64], bytes: f32(s1.values) },
        { name: 'l2.weight', dtype: 'f32', shape: [32, 32], bytes: f32(s2.values) },
        { name: 'l3.weight', dtype: 'f32', shape: [2048], bytes: f32(w3b) },
      ]),
    );
    const { analyses } = await analyzeFiles([a, b], ['quantization']);
    const q = analyses.find((e) => e.key === 'QuantizationAnalysis')!.data as {
      tensors: Array<{ name: string; effective_bits_b: number; grid: { bits: number; scheme: string; step: number } | null; bytes_a: number; bytes_b: number }>;
      compression_ratio: number;
    };
    expect(q.tensors.map((t) => t.name).sort()).toEqual(['l1.weight', 'l2.weight']);
    const t1 = q.tensors.find((t) => t.name === 'l1.weight')!;
    expect(t1.grid).toMatchObject({ bits: 8, scheme: 'symmetric' });
    expect(Math.abs(t1.grid!.step - s1.step)).toBeLessThanOrEqual(1e-6 * s1.step);
    const t2 = q.tensors.find((t) => t.name === 'l2.weight')!;
    expect(t2.grid).toMatchObject({ bits: 4, scheme: 'affine' });
    expect(Math.abs(t2.grid!.step - s2.step)).toBeLessThanOrEqual(1e-6 * s2.step);
    expect(t1.effective_bits_b).toBe(8);
    expect(t1.bytes_b).toBe(t1.bytes_a);
    expect(q.compression_ratio).toBe(1);
  });

  it('a real fine-tune is not mistaken for quantization', async () => {
    const { analyses } = await analyzeFiles(
      [
        join(import.meta.dirname, '..', 'fixtures', 'core', 'digits_mlp.safetensors'),
        join(import.meta.dirname, '..', 'fixtures', 'core', 'digits_mlp_finetuned.safetensors'),
      ],
      ['quantization'],
    );
    expect((analyses.find((e) => e.key === 'QuantizationAnalysis')!.data as { tensors_requantized: number }).tensors_requantized).toBe(0);
  });
});
