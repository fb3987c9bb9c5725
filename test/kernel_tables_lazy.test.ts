/**
 * The engine's kernels fill their f16/f8 conversion tables only when a dtype that reads them
 * first comes (src/engine/kernels.ts, prepareFor): a fresh engine that has run f32 and bf16
 * work must then still give exact statistics of every f16 and f8 bit pattern, checked against
 * decodings by formula in the test (test/helpers/dtypes.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { Kernels } from '../src/engine/kernels.js';
import { expectStats } from './helpers/assert.js';
import { bf16FromBits, e4m3FromBits, f16FromBits, f32Bytes, u16Bytes, type TestDType } from './helpers/dtypes.js';
import { statsOfBytes } from './helpers/engine.js';
import { exactStats } from './helpers/exact.js';

const engines: Engine[] = [];
afterAll(() => {
  for (const e of engines) e.close();
});

function freshEngine(): Engine {
  const engine = new Engine({ chunkElements: 1000 });
  engines.push(engine);
  return engine;
}

function check(engine: Engine, bytes: Uint8Array, dtype: TestDType, values: number[], label: string): void {
  const ref = exactStats(values);
  const got = statsOfBytes(engine as never, bytes, dtype);
  expect(got.count, `${label}: finite count`).toBe(ref.count);
  expectStats(got, ref, label);
}

const ALL16 = Array.from({ length: 65536 }, (_, i) => i);
const ALL8 = Array.from({ length: 256 }, (_, i) => i);

describe('conversion tables filled on first need', () => {
  it('f32 and bf16 first, then every f16 and f8 e4m3 pattern, exact', () => {
    const engine = freshEngine();
    const f32 = [1.5, -2.25, 0, 3e-8, 65504];
    check(engine, f32Bytes(f32), 'f32', f32, 'f32 before the tables');
    check(engine, u16Bytes(ALL16), 'bf16', ALL16.map(bf16FromBits), 'bf16 before the tables');
    check(engine, u16Bytes(ALL16), 'f16', ALL16.map(f16FromBits), 'f16 (fills the tables)');
    check(engine, Uint8Array.from(ALL8), 'f8_e4m3', ALL8.map(e4m3FromBits), 'f8 e4m3 after f16');
  });

  it('f8 e4m3 as the first dtype of an engine', () => {
    check(freshEngine(), Uint8Array.from(ALL8), 'f8_e4m3', ALL8.map(e4m3FromBits), 'f8 e4m3 first');
  });

  it('a Kernels made without options has its tables from the start (direct kernel calls)', () => {
    const k = new Kernels();
    const bits = [0x3c00, 0xc000, 0x0001, 0x7bff];
    k.bytes.set(u16Bytes(bits), k.rawA);
    k.k.f16_to_f32_table(k.rawA, k.scratchA, bits.length);
    expect(Array.from(new Float32Array(k.k.memory.buffer, k.scratchA, bits.length))).toEqual(bits.map(f16FromBits));
  });
});
