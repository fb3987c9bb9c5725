/**
 * Fuzzing every reader (issue 15; safetensors, NumPy, MATLAB, PyTorch zip and legacy, HDF5,
 * ONNX, TensorFlow, GGUF): small valid files of each format truncated at every byte
 * (sampled for the larger ones) and with random byte flips and extreme 32-bit words, each
 * described and fully read (statistics of every tensor). Every case must either work or be
 * refused with a one-line DiffaiError naming the file; nothing else may escape — no
 * RangeError, no TypeError, no stack overflow, no out-of-memory.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Executor } from '../src/engine/executor.js';
import { DiffaiError } from '../src/errors.js';
import { describeModel } from '../src/formats/registry.js';
import { ROOT } from './helpers/files.js';
import { Rng } from './helpers/dtypes.js';
import { matCompressed, matDouble, matFile, matStruct, npyF64, npz, safetensors } from './helpers/hostile_files.js';

const TMP = mkdtempSync(join(tmpdir(), 'diffai-fuzz-'));
const fixture = (...parts: string[]) => readFileSync(join(ROOT, 'fixtures', ...parts));

/** Seed files: small valid files of every reader (built here, or real fixtures). */
const SEEDS: Array<[string, () => Buffer]> = [
  ['built.safetensors', () => safetensors({ 'a.weight': [1, -2, 3.5, 0], 'a.bias': [0.25, 7] }, { epoch: '3' })],
  ['v1_f32.npy', () => fixture('numpy', 'v1_f32.npy')],
  ['order_f.npy', () => fixture('numpy', 'order_f.npy')],
  ['built.npz', () => npz({ w: npyF64([1, 2, 3]), b: npyF64([4]) }, true)],
  ['handmade_le.mat', () => fixture('matlab', 'handmade_le.mat')],
  ['built.mat', () => matFile([matDouble('x', [2, 2], [1, 2, 3, 4]), matCompressed(matStruct('s', { f: matDouble('', [1, 3], [5, 6, 7]) }))])],
  ['state_dict_zip.pt', () => fixture('pytorch', 'state_dict_zip.pt')],
  ['state_dict_legacy.pt', () => fixture('pytorch', 'state_dict_legacy.pt')],
  ['views_zip.pt', () => fixture('pytorch', 'views_zip.pt')],
  ['broadcast_mixed.pt', () => fixture('hostile', 'broadcast_mixed.pt')],
  ['latest.h5', () => fixture('hdf5', 'latest.h5')],
  ['digits_mlp.onnx', () => fixture('onnx', 'digits_mlp.onnx')],
  ['digits_mlp.pb', () => fixture('tensorflow', 'digits_mlp.pb')],
  ['types_v2.gguf', () => fixture('gguf', 'types_v2.gguf')],
  // Chunked and deflated HDF5, MATLAB 7.3, deflated MAT v5 and k-quant GGUF: read to the last element too.
  ['generic.h5', () => fixture('hdf5', 'generic.h5')],
  ['matlab_v73.mat', () => fixture('hdf5', 'matlab_v73.mat')],
  ['vars_compressed.mat', () => fixture('matlab', 'vars_compressed.mat')],
  ['llama-q4_k_m.gguf', () => fixture('gguf', 'llama-q4_k_m.gguf')],
];

/** Truncation lengths: every byte of small files; for larger ones every byte of the head and tail and an even sample between. */
function truncations(size: number): number[] {
  if (size <= 1024) return Array.from({ length: size }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < 256; i++) out.add(i);
  for (let i = size - 128; i < size; i++) out.add(i);
  for (let i = 0; i < 256; i++) out.add(Math.floor((i * size) / 256));
  return [...out].sort((a, b) => a - b);
}

const EXTREMES = [0, 0xffffffff, 0x80000000, 0x7fffffff, 0x40000000, 1];

/** Seeded corruptions: 1–4 random bytes, or an extreme 32-bit word at a random offset. */
function flips(data: Buffer, count: number, seed: number): Buffer[] {
  const rng = new Rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = Buffer.from(data);
    if (i % 2 === 0) {
      const n = 1 + Math.floor(rng.next() * 4);
      for (let k = 0; k < n; k++) b[Math.floor(rng.next() * b.length)] = Math.floor(rng.next() * 256);
    } else if (b.length >= 4) {
      b.writeUInt32LE(EXTREMES[Math.floor(rng.next() * EXTREMES.length)]!, Math.floor(rng.next() * (b.length - 3)));
    }
    out.push(b);
  }
  return out;
}

const executor = new Executor({ threads: 1 });
afterAll(() => executor.close());

/** 'ok' or 'refused'; anything else is reported as a problem. */
async function probe(path: string): Promise<'ok' | 'refused' | string> {
  try {
    const model = await describeModel(path);
    for (const t of model.tensors) await executor.stats(t);
    return 'ok';
  } catch (e) {
    if (!(e instanceof DiffaiError)) return `${(e as Error)?.name}: ${(e as Error)?.message}`;
    if (e.message.includes('\n') || e.line.includes('\n')) return `multi-line message: ${JSON.stringify(e.message)}`;
    if (e.file === undefined) return `message names no file: ${e.message}`;
    return 'refused';
  }
}

describe('every reader, truncated at every byte and with random corruptions', () => {
  for (const [name, make] of SEEDS) {
    it(name, async () => {
      const data = make();
      const ext = name.slice(name.lastIndexOf('.'));
      const seed = join(TMP, `seed-${name}`);
      writeFileSync(seed, data);
      expect(await probe(seed)).toBe('ok');
      const cases = [...truncations(data.length).map((n) => data.subarray(0, n)), ...flips(data, 200, 15 + name.length)];
      const problems: string[] = [];
      let refused = 0;
      for (let i = 0; i < cases.length; i++) {
        const path = join(TMP, `${name}-${i}${ext}`);
        writeFileSync(path, cases[i]!);
        const r = await probe(path);
        if (r === 'refused') refused++;
        else if (r !== 'ok') problems.push(`case ${i} (${i < cases.length - 200 ? `truncated to ${cases[i]!.length} bytes` : 'corrupted'}): ${r}`);
      }
      expect(problems).toEqual([]);
      expect(refused).toBeGreaterThan(cases.length / 4);
    }, 120_000);
  }
});
