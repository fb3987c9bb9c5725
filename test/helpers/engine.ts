/**
 * Glue between raw bytes, temporary files and the engine under test.
 *
 * Tensor-level statistics and comparisons (`stats(desc)`, `compare(a, b, eps)`) live on
 * `Engine` in src/engine/engine.ts, or on `Executor` in src/engine/executor.ts once the
 * engine is split into per-thread engines and an executor; `runnerFor` uses whichever the
 * tree has (in this thread, so chunk sizes are what the test asks for).
 */
import { writeFileSync } from 'node:fs';
import type { DType } from '../../src/dtypes.js';
import { Engine } from '../../src/engine/engine.js';
import type { ComparePartial, StatsPartial } from '../../src/engine/partials.js';
import { comparison, tensorStats } from '../../src/diff/stats.js';
import type { Comparison, TensorStats } from '../../src/diff/types.js';
import type { TensorDescriptor } from '../../src/formats/types.js';
import { SIZE, type TestDType } from './dtypes.js';

/** Chunk sizes every kernel test runs with: merging every element, odd chunks, big chunks, default. */
export const CHUNKS: Array<number | undefined> = [1, 3, 1000, undefined];

export interface Partials {
  stats: StatsPartial;
  real?: StatsPartial;
  imag?: StatsPartial;
}
export interface Runner {
  statsOfBytes(bytes: Uint8Array, dtype: DType): StatsPartial;
  stats(desc: TensorDescriptor): Promise<Partials>;
  compare(a: TensorDescriptor, b: TensorDescriptor, eps: number): Promise<{ a: Partials; b: Partials; comparison: ComparePartial }>;
  close(): Promise<void>;
}

type ExecutorLike = Pick<Runner, 'stats' | 'compare'> & { close(): void | Promise<void> };
type ExecutorCtor = new (options: { chunkElements?: number; threads?: number }, expectedBytes?: number) => ExecutorLike;
const executorModule = (await import('../../src/engine/executor.js' as string).catch(() => undefined)) as { Executor?: ExecutorCtor } | undefined;

/** An engine (and executor, when the tree has one) limited to `chunkElements`. */
export function makeRunner(chunkElements?: number): Runner {
  const options = chunkElements === undefined ? {} : { chunkElements };
  const engine = new Engine(options) as Engine & Partial<Pick<Runner, 'stats' | 'compare'>>;
  const Executor = executorModule?.Executor;
  const exec: ExecutorLike = Executor ? new Executor({ ...options, threads: 1 }) : (engine as unknown as ExecutorLike);
  return {
    statsOfBytes: (bytes, dtype) => engine.statsOfBytes(bytes, dtype),
    stats: (desc) => exec.stats(desc),
    compare: (a, b, eps) => exec.compare(a, b, eps),
    close: async () => {
      if (exec !== (engine as unknown)) await exec.close();
      engine.close();
    },
  };
}

const runners = new Map<number | undefined, Runner>();
export function engineFor(chunk: number | undefined): Runner {
  let r = runners.get(chunk);
  if (!r) {
    r = makeRunner(chunk);
    runners.set(chunk, r);
  }
  return r;
}
export async function closeEngines(): Promise<void> {
  for (const r of runners.values()) await r.close();
  runners.clear();
}

export function memoryDesc(dtype: TestDType, n: number): TensorDescriptor {
  return {
    name: 'array',
    dtype: dtype as DType,
    shape: [n],
    numel: n,
    byteOrder: 'little',
    source: { kind: 'file', path: '<memory>', offset: 0, length: n * SIZE[dtype] },
  };
}

/** Engine.statsOfBytes turned into the contract's stats object (src/diff/stats.ts). */
export function statsOfBytes(engine: Runner, bytes: Uint8Array, dtype: TestDType): TensorStats & { count: number } {
  const partial = engine.statsOfBytes(bytes, dtype as DType);
  const n = bytes.length / SIZE[dtype];
  return { ...tensorStats(memoryDesc(dtype, n), { stats: partial }), count: partial.count };
}

let serial = 0;

/**
 * Writes the parts one after another to a new file named after `path` (after `lead` junk
 * bytes) and returns descriptors of each. Every call makes a new file: an engine keeps its
 * file handles (and sizes) open for its lifetime, so files are never rewritten under it.
 */
export function writeTensors(base: string, parts: Array<{ dtype: TestDType; bytes: Uint8Array; name?: string }>, lead = 3): TensorDescriptor[] {
  const path = `${base}.${++serial}`;
  const total = lead + parts.reduce((s, p) => s + p.bytes.length, 0);
  const buf = new Uint8Array(total).fill(0xa5);
  let offset = lead;
  const descs: TensorDescriptor[] = [];
  parts.forEach((p, i) => {
    buf.set(p.bytes, offset);
    const n = p.bytes.length / SIZE[p.dtype];
    descs.push({
      name: p.name ?? `t${i}`,
      dtype: p.dtype as DType,
      shape: [n],
      numel: n,
      byteOrder: 'little',
      source: { kind: 'file', path, offset, length: p.bytes.length },
    });
    offset += p.bytes.length;
  });
  writeFileSync(path, buf);
  return descs;
}

export async function statsOfDesc(engine: Runner, desc: TensorDescriptor): Promise<TensorStats> {
  return tensorStats(desc, await engine.stats(desc));
}

export async function compareDescs(
  engine: Runner,
  a: TensorDescriptor,
  b: TensorDescriptor,
  eps: number,
): Promise<{ a: TensorStats; b: TensorStats; c: Comparison }> {
  const r = await engine.compare(a, b, eps);
  return { a: tensorStats(a, r.a), b: tensorStats(b, r.b), c: comparison(r.comparison) };
}
