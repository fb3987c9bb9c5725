/**
 * The PyTorch reader on the original diffai's reference files (../shared/reference/
 * diffai-fixtures): every .pt holds the bytes of its .safetensors twin, the legacy
 * tiny_gpt2_real.bin matches torch.load, and the two fake .pt files fail clearly.
 * Run by `npm run conformance`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePytorch, pytorchReader } from '../../src/formats/pytorch/reader.js';
import { decodeTensor, readSourceBytes, referenceStats } from '../helpers/decode.js';
import { expectDescribeFailure } from '../helpers/failure.js';
import { REFERENCE_FIXTURES as REAL } from '../helpers/reference.js';

function close(a: number | null, b: number | null, tol: number): void {
  expect(a).not.toBeNull();
  expect(Math.abs(a! - b!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b!)));
}

function sniffFile(path: string): boolean {
  return pytorchReader.sniff(readFileSync(path).subarray(0, 64), path);
}

const rejection = (path: string) => expectDescribeFailure({ describe: describePytorch }, path);

describe('pytorch: reference files of the original diffai', () => {
  const pairs = [
    'simple_base',
    'simple_modified',
    'normal_model',
    'anomalous_model',
    'checkpoint_epoch_0',
    'checkpoint_epoch_10',
    'checkpoint_epoch_50',
    'model_fp32',
    'model_quantized',
    'small_model',
    'large_model',
    'transformer',
  ];
  for (const base of pairs) {
    it(`${base}.pt has the bytes of ${base}.safetensors`, async () => {
      const pt = join(REAL, `${base}.pt`);
      expect(sniffFile(pt)).toBe(true);
      const d = await describePytorch(pt);
      const st = readFileSync(join(REAL, `${base}.safetensors`));
      const n = Number(st.readBigUInt64LE(0));
      const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      delete (header as Record<string, unknown>)['__metadata__'];
      expect(d.tensors.map((t) => t.name).sort()).toEqual(Object.keys(header).sort());
      for (const t of d.tensors) {
        const h = header[t.name]!;
        expect(t.dtype).toBe(h.dtype.toLowerCase());
        expect(t.shape).toEqual(h.shape);
        expect(t.view).toBeUndefined();
        const bytes = st.subarray(8 + n + h.data_offsets[0], 8 + n + h.data_offsets[1]);
        expect(readSourceBytes(t.source).equals(bytes), t.name).toBe(true);
      }
    });
  }

  it('tiny_gpt2_real.bin (legacy format) matches torch.load', async () => {
    const path = join(REAL, 'tiny_gpt2_real.bin');
    expect(sniffFile(path)).toBe(true);
    const d = await describePytorch(path);
    expect(d.tensors.length).toBe(33);
    const by = new Map(d.tensors.map((t) => [t.name, t]));
    const wte = by.get('transformer.wte.weight')!;
    expect(wte).toMatchObject({ dtype: 'f32', shape: [50257, 2] });
    const s = referenceStats(decodeTensor(wte) as number[]);
    close(s.mean, -0.00014844650306936356, 1e-9);
    close(s.std, 0.019961165577055223, 1e-9);
    const mask = by.get('transformer.h.0.attn.bias')!;
    expect(mask).toMatchObject({ dtype: 'u8', shape: [1, 1, 1024, 1024] });
    close(referenceStats(decodeTensor(mask) as number[]).mean, 0.50048828125, 1e-12);
    const mb = by.get('transformer.h.1.attn.masked_bias')!;
    expect(mb.shape).toEqual([]);
    expect(decodeTensor(mb)).toEqual([-10000]);
    expect(by.get('lm_head.weight')!.source).toEqual(wte.source);
  });

  it('model1.pt and model2.pt (not torch files) fail clearly', async () => {
    for (const f of ['model1.pt', 'model2.pt']) {
      const path = join(REAL, f);
      expect(sniffFile(path)).toBe(false);
      const err = await rejection(path);
      expect(err.message).toMatch(/not a PyTorch checkpoint/);
    }
  });

  it('does not claim the original safetensors files', () => {
    expect(sniffFile(join(REAL, 'small_model.safetensors'))).toBe(false);
  });
});
