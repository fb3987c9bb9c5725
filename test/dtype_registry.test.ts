import { describe, expect, it } from 'vitest';
import { DTYPES, byteLength, dtypeInfo, elementsIn, isComplex, isFloat } from '../src/dtypes.js';
import { SIZE } from './helpers/dtypes.js';

// Item sizes as numpy/torch report them (np.dtype(x).itemsize), written out independently in
// the test helpers; complex ones added here.
const ITEMSIZE: Record<string, number> = { ...SIZE, f8_e4m3fnuz: 1, f8_e5m2fnuz: 1, c64: 8, c128: 16 };

describe('dtype registry', () => {
  it('sizes every dtype as numpy does', () => {
    for (const d of DTYPES) {
      expect(byteLength(d, 7)).toBe(7 * ITEMSIZE[d]!);
      expect(dtypeInfo(d).bits).toBe(8 * ITEMSIZE[d]!);
      expect(elementsIn(d, 5 * ITEMSIZE[d]!)).toBe(5);
    }
    expect(elementsIn('f32', 6)).toBeUndefined();
  });

  it('classifies and splits', () => {
    expect(DTYPES.filter(isFloat)).toEqual(['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'f8_e4m3fnuz', 'f8_e5m2fnuz']);
    expect(DTYPES.filter(isComplex)).toEqual(['c64', 'c128']);
    expect(dtypeInfo('c64').complexPart).toBe('f32');
    expect(dtypeInfo('c128').complexPart).toBe('f64');
    expect(dtypeInfo('i32').widen).toEqual({ kernel: 'i32_to_f64', to: 'f64' });
  });
});
