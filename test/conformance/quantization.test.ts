/**
 * The original diffai's model_quantized reference file (fp32 values rounded to an int8
 * grid, ../shared/reference/diffai-fixtures) is found by --quantization-analysis.
 * Run by `npm run conformance`.
 */
import { describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/index.js';
import { referenceFile } from '../helpers/reference.js';

describe('quantization analysis on the original files', () => {
  it("the original tool's model_quantized (fp32 rounded to an int8 grid) is found", async () => {
    const { analyses } = await analyzeFiles([referenceFile('model_fp32.safetensors'), referenceFile('model_quantized.safetensors')], ['quantization']);
    const q = analyses.find((e) => e.key === 'QuantizationAnalysis')!.data as { tensors: Array<{ name: string; grid: { bits: number } | null }> };
    // Every tensor with at least 64 elements (the three weights and fc1.bias) sits on an int8 grid.
    expect(q.tensors.map((t) => [t.name, t.grid?.bits]).sort()).toEqual([
      ['fc1.bias', 8],
      ['fc1.weight', 8],
      ['fc2.weight', 8],
      ['fc3.weight', 8],
    ]);
  });
});
