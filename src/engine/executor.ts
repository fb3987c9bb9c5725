/**
 * The executor: what the differ and inspect call. It splits big tensors into element
 * ranges, sends the ranges to a backend (this thread or a worker pool), and merges the
 * partials in range order. Ranges depend only on the tensor, never on the thread count,
 * so results are identical for any number of threads.
 */
import { availableParallelism } from 'node:os';
import { byteLength, dtypeInfo, isComplex } from '../dtypes.js';
import { contiguousStrides, storedByteLength, storedDtype, type TensorDescriptor } from '../formats/types.js';
import type { EngineOptions } from './engine.js';
import { type JobItem, type OpName, type OpParams, type OpResult, opOf } from './ops.js';
import type { CompareResult } from './ops/compare.js';
import type { Grid } from './ops/grid.js';
import { type ComparePartial, type StatsPartial, mergeCompare, mergeStats } from './partials.js';
import { type Backend, InThreadBackend, WorkerPoolBackend } from './pool.js';
import { isDense } from './sources.js';

/** Range size for splitting: a few chunks, so one huge tensor keeps every thread busy. */
export const RANGE_BYTES = 16 << 20;
/** Jobs this small are batched with their neighbours: one job, one read per file for many tensors. */
export const SMALL_JOB_BYTES = 64 << 10;
/** Below this much data, worker start-up costs more than it saves. */
export const POOL_MIN_BYTES = 64 << 20;

export interface ExecutorOptions extends EngineOptions {
  /** Engine threads (default: defaultThreads()); 1 runs everything in this thread. */
  threads?: number;
}

/** Partial statistics of a tensor; complex tensors carry their parts. */
export interface TensorPartials {
  stats: StatsPartial;
  real?: StatsPartial;
  imag?: StatsPartial;
}

export interface ComparedTensors {
  a: TensorPartials;
  b: TensorPartials;
  comparison: ComparePartial;
}

export class Executor {
  private backend: Backend;
  /** Small items waiting to go out as one job, by op. */
  private batches = new Map<OpName, Waiting[]>();

  /** `expectedBytes`: how much tensor data the caller will read (to decide on workers). */
  constructor(options: ExecutorOptions = {}, expectedBytes = Infinity) {
    const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
    this.backend = threads > 1 && expectedBytes >= POOL_MIN_BYTES
      ? new WorkerPoolBackend(threads, options)
      : new InThreadBackend(options);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  async stats(desc: TensorDescriptor): Promise<TensorPartials> {
    if (isComplex(desc.dtype)) {
      const [re, im] = complexParts(desc);
      const [real, imag] = await Promise.all([this.realStats(re), this.realStats(im)]);
      return { stats: mergeStats(real, imag), real, imag };
    }
    return { stats: await this.realStats(desc) };
  }

  async compare(a: TensorDescriptor, b: TensorDescriptor, epsilon: number): Promise<ComparedTensors> {
    if (a.numel !== b.numel) throw new Error(`compare: ${a.name} has ${a.numel} elements, ${b.name} ${b.numel}`);
    if (!isComplex(a.dtype) && !isComplex(b.dtype)) {
      const r = await this.realCompare(a, b, epsilon);
      return { a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison };
    }
    // Complex: parts compared pairwise; a real tensor against a complex one has imaginary part 0.
    const [reA, imA] = isComplex(a.dtype) ? complexParts(a) : [a, undefined];
    const [reB, imB] = isComplex(b.dtype) ? complexParts(b) : [b, undefined];
    const real = await this.realCompare(reA, reB, epsilon);
    if (!imA || !imB) return { a: { stats: real.a }, b: { stats: real.b }, comparison: real.comparison };
    const imag = await this.realCompare(imA, imB, epsilon);
    return {
      a: { stats: mergeStats(real.a, imag.a), real: real.a, imag: imag.a },
      b: { stats: mergeStats(real.b, imag.b), real: real.b, imag: imag.b },
      comparison: mergeCompare(real.comparison, imag.comparison),
    };
  }

  /** Indexes of the all-zero rows (dim-0 slices) of a real-valued tensor, in one pass. */
  async zeroRows(desc: TensorDescriptor): Promise<number[]> {
    if (isComplex(desc.dtype) || desc.shape.length === 0 || desc.numel === 0) return [];
    return this.run('zeroRows', [desc], { rowLength: desc.numel / desc.shape[0]! });
  }

  /** Largest distance (in steps) of a real-valued tensor's finite values from each grid. */
  async gridResiduals(desc: TensorDescriptor, grids: Grid[]): Promise<number[]> {
    if (isComplex(desc.dtype) || desc.numel === 0) return grids.map(() => 0);
    return this.run('grid', [desc], { grids });
  }

  /**
   * Any registered op over whole real-valued tensors (one per side, equal element counts):
   * split into ranges when the op allows and the tensors are read in place, results merged
   * in range order.
   */
  async run<K extends OpName>(name: K, tensors: TensorDescriptor[], params: OpParams<K>): Promise<OpResult<K>> {
    const op = opOf(name);
    const numel = tensors[0]!.numel;
    const sizes = tensors.map((t) => byteLength(storedDtype(t), 1));
    const bytesPerElement = sizes.reduce((x, y) => x + y, 0);
    const ranges = op.split === 'ranges' && op.merge && tensors.every(splittable) ? splitRanges(numel, Math.max(...sizes)) : [[0, numel] as [number, number]];
    const parts = await Promise.all(ranges.map(([first, end]) => this.submit(name, { tensors, params, first, end }, (end - first) * bytesPerElement)));
    if (!op.merge) return parts[0]!;
    // Merging from the empty result keeps even a single range's result what a merge makes of it.
    return parts.reduce(op.merge, op.result(op.empty(params, tensors), params));
  }

  private realStats(view: TensorDescriptor): Promise<StatsPartial> {
    // Statistics do not depend on element order: a permuted dense block (transpose, Fortran
    // order) is read as the contiguous block it occupies, in place and split like any other.
    return this.run('stats', [asStorageBlock(view) ?? view], {});
  }

  private realCompare(viewA: TensorDescriptor, viewB: TensorDescriptor, epsilon: number): Promise<CompareResult> {
    // Two views with the same permutation pair up element for element in storage order too.
    const blockA = asStorageBlock(viewA);
    const blockB = asStorageBlock(viewB);
    const samePermutation = blockA && blockB && sameLayout(viewA, viewB);
    return this.run('compare', samePermutation ? [blockA, blockB] : [viewA, viewB], { epsilon });
  }

  /**
   * Sends one item to the backend. Small items read in place wait for the current turn of
   * the event loop to end and go as batches (in file order), so many small tensors cost a
   * few jobs and a few reads instead of one of each per tensor.
   */
  private submit<K extends OpName>(name: K, item: JobItem<K>, weight: number): Promise<OpResult<K>> {
    if (weight > SMALL_JOB_BYTES || !item.tensors.every(splittable)) {
      return this.backend.run({ op: name, items: [item] }, weight).then((r) => r[0]!);
    }
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(name);
      if (!batch) {
        batch = [];
        this.batches.set(name, batch);
        queueMicrotask(() => this.flush(name));
      }
      batch.push({ item, weight, resolve: resolve as (r: unknown) => void, reject });
    });
  }

  private flush(name: OpName): void {
    const batch = this.batches.get(name) ?? [];
    this.batches.delete(name);
    const key = (w: Waiting) => w.item.tensors.map((t) => t.source.path).join('\0');
    const start = (w: Waiting) => w.item.tensors[0]!.source.offset + w.item.first;
    batch.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : start(x) - start(y)));
    for (let i = 0; i < batch.length; ) {
      let weight = 0;
      let j = i;
      while (j < batch.length && (j === i || weight + batch[j]!.weight <= RANGE_BYTES)) weight += batch[j++]!.weight;
      const group = batch.slice(i, j);
      this.backend.run({ op: name, items: group.map((w) => w.item) }, weight).then(
        (results) => group.forEach((w, k) => w.resolve(results[k])),
        (err) => group.forEach((w) => w.reject(err)),
      );
      i = j;
    }
  }
}

interface Waiting {
  item: JobItem;
  weight: number;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * Half the available cores: each engine thread keeps a second core busy with its reads
 * (double-buffered positional reads run on libuv's pool), so more threads than that only
 * compete. Measured on 2 cores: 1 thread 6.0–6.5 GB/s, 2 threads 5.4–6.1 GB/s on 4 GiB.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/**
 * A non-contiguous view whose elements exactly fill a contiguous block of its storage (a
 * transpose or other permutation of a dense tensor, e.g. Fortran order), as a 1-d tensor
 * over that block; undefined for anything else (strided slices, broadcasts, dense views).
 */
export function asStorageBlock(desc: TensorDescriptor): TensorDescriptor | undefined {
  const view = desc.view;
  if (!view || isDense(desc) || desc.numel === 0) return undefined;
  // Sort dimensions by stride; a dense block has strides 1, d0, d0·d1, … in that order.
  const dims = desc.shape.map((size, k) => ({ size, stride: view.strides[k]! })).filter((d) => d.size !== 1);
  dims.sort((x, y) => x.stride - y.stride);
  let expected = 1;
  for (const d of dims) {
    if (d.stride !== expected) return undefined;
    expected *= d.size;
  }
  return { ...desc, shape: [desc.numel], view: { offset: view.offset, strides: [1] } };
}

function sameLayout(a: TensorDescriptor, b: TensorDescriptor): boolean {
  const same = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.shape, b.shape) && same(a.view!.strides, b.view!.strides);
}

/** Dense tensors read in place can start anywhere; streams and gathers run whole. */
function splittable(desc: TensorDescriptor): boolean {
  return desc.source.kind === 'file' && isDense(desc);
}

/** [first, end) element ranges of about RANGE_BYTES each; one range when elementSize is 0 (not splittable). */
export function splitRanges(numel: number, elementSize: number): Array<[number, number]> {
  if (elementSize === 0 || numel * elementSize <= RANGE_BYTES) return [[0, numel]];
  const per = Math.floor(RANGE_BYTES / elementSize);
  const ranges: Array<[number, number]> = [];
  for (let first = 0; first < numel; first += per) ranges.push([first, Math.min(numel, first + per)]);
  return ranges;
}

/** A complex tensor as two real views (real and imaginary parts) of its interleaved storage. */
function complexParts(desc: TensorDescriptor): [TensorDescriptor, TensorDescriptor] {
  const part = dtypeInfo(desc.dtype).complexPart!;
  const strides = desc.view?.strides ?? contiguousStrides(desc.shape);
  const offset = desc.view?.offset ?? 0;
  const make = (which: 0 | 1, suffix: string): TensorDescriptor => ({
    ...desc,
    name: `${desc.name}.${suffix}`,
    dtype: part,
    view: { offset: offset * 2 + which, strides: strides.map((s) => s * 2) },
  });
  return [make(0, 'real'), make(1, 'imag')];
}


/** Small tasks in flight at once: enough to fill batches and threads, few enough to keep memory flat. */
export const TASK_WINDOW = 128;

/**
 * Runs `task` on every item, results in item order. Large items (over SMALL_JOB_BYTES by
 * `bytesOf`) start at once, so the executor can schedule the largest first; small ones run
 * in windows of TASK_WINDOW, so 100,000 small tensors never hold 100,000 pending promises
 * (and a window's items go to the engine together, in batches).
 */
export async function runAll<T, R>(items: T[], bytesOf: (item: T) => number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const small: number[] = [];
  const large: Array<Promise<void>> = [];
  items.forEach((item, i) => {
    if (bytesOf(item) > SMALL_JOB_BYTES) large.push(task(item).then((r) => { results[i] = r; }));
    else small.push(i);
  });
  const rest = Promise.all(large);
  try {
    for (let w = 0; w < small.length; w += TASK_WINDOW) {
      await Promise.all(small.slice(w, w + TASK_WINDOW).map(async (i) => { results[i] = await task(items[i]!); }));
    }
  } finally {
    await rest.catch(() => undefined); // when a window fails, still wait for the large tasks before reporting it
  }
  await rest;
  return results;
}

/** Stored bytes of tensors (for deciding on workers and for progress totals). */
export function tensorBytes(tensors: TensorDescriptor[]): number {
  return tensors.reduce((sum, t) => sum + storedByteLength(t), 0);
}
