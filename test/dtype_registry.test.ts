import { describe, expect, it } from 'vitest';
import { DTYPES, byteLength, dtypeInfo, elementsIn, isComplex, isFloat } from '../src/dtypes.js';
import { SIZE } from './helpers/dtypes.js';

// Item sizes as numpy/torch report them (np.dtype(x).itemsize), written out independently in
// the test helpers; complex ones added here.
const ITEMSIZE: Record<string, number> = { ...SIZE, f8_e4m3fnuz: 1, f8_e5m2fnuz: 1, c64: 8, c128: 16 };
// ggml's block types: [elements, bytes] per block as ggml-common.h declares them (static_asserts there).
const GGML_BLOCKS: Record<string, [number, number]> = {
  q4_0: [32, 18],
  q4_1: [32, 20],
  q5_0: [32, 22],
  q5_1: [32, 24],
  q8_0: [32, 34],
  q2_k: [256, 84],
  q3_k: [256, 110],
  q4_k: [256, 144],
  q5_k: [256, 176],
  q6_k: [256, 210],
  q8_k: [256, 292],
  iq4_nl: [32, 18],
  iq4_xs: [256, 136],
};

// Packed 4-bit integers (ONNX INT4/UINT4): two elements in one byte.
const BLOCKS: Record<string, [number, number]> = { ...GGML_BLOCKS, i4: [2, 1], u4: [2, 1] };

describe('dtype registry', () => {
  it('sizes every dtype as numpy does', () => {
    for (const d of DTYPES.filter((x) => !(x in BLOCKS))) {
      expect(byteLength(d, 7)).toBe(7 * ITEMSIZE[d]!);
      expect(dtypeInfo(d).bits).toBe(8 * ITEMSIZE[d]!);
      expect(elementsIn(d, 5 * ITEMSIZE[d]!)).toBe(5);
    }
    expect(elementsIn('f32', 6)).toBeUndefined();
  });

  it('sizes block types (ggml, packed 4-bit) in whole blocks and refuses partial blocks', () => {
    expect(DTYPES.filter((d) => dtypeInfo(d).blockElements > 1).sort()).toEqual(Object.keys(BLOCKS).sort());
    for (const [d, [elements, bytes]] of Object.entries(BLOCKS) as Array<[(typeof DTYPES)[number], [number, number]]>) {
      expect(byteLength(d, 3 * elements)).toBe(3 * bytes);
      expect(dtypeInfo(d).bits).toBe((8 * bytes) / elements);
      expect(elementsIn(d, 5 * bytes)).toBe(5 * elements);
      if (bytes > 1) expect(elementsIn(d, 5 * bytes + 1)).toBeUndefined();
      expect(() => byteLength(d, elements + 1)).toThrow(/whole number/);
      expect(dtypeInfo(d).widen?.to).toBe('f32');
    }
  });

  it('classifies and splits', () => {
    expect(DTYPES.filter(isFloat)).toEqual(['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'f8_e4m3fnuz', 'f8_e5m2fnuz', ...Object.keys(GGML_BLOCKS)]);
    expect(DTYPES.filter(isComplex)).toEqual(['c64', 'c128']);
    expect(dtypeInfo('c64').complexPart).toBe('f32');
    expect(dtypeInfo('c128').complexPart).toBe('f64');
    expect(dtypeInfo('i32').widen).toEqual({ kernel: 'i32_to_f64', to: 'f64' });
  });
});
