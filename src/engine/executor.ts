/**
 * The executor: what the differ and inspect call. It splits big tensors into element
 * ranges, sends the ranges to a backend (this thread or a worker pool), and merges the
 * partials in range order. Ranges depend only on the tensor, never on the thread count,
 * so results are identical for any number of threads.
 */
import { MATVEC_MAX_K, VEC_VALUES } from './matvec-limits.js';
import { dtypeInfo, isComplex } from '../dtypes.js';
import { contiguousStrides, readByteLength, storedByteLength, storedDtype, type TensorDescriptor } from '../formats/types.js';
import type { EngineOptions } from './engine.js';
import { type ColumnJob, itemBytes, recordWidth, selectItems, sliceItems } from './columns.js';
import { type JobItem, type OpName, type OpParams, type OpResult, opOf } from './ops.js';
import type { CompareResult } from './ops/compare.js';
import type { Grid } from './ops/grid.js';
import { checkHistogramParams, type Histogram, type HistogramParams } from './ops/histogram.js';
import type { RowComparison } from './ops/row-compare.js';
import { emptyRowStats, type RowStats } from './ops/row-stats.js';
import { rowLengthOf } from './ops/rows.js';
import { checkGatherWork, viewMultiset } from './multiplicity.js';
import { type ComparePartial, type StatsPartial, ldexp, mergeCompare, mergeStats } from './partials.js';
import { lcm } from './pipeline.js';
import { type Backend, InThreadBackend, WorkerPoolBackend } from './pool.js';
import { isDense, viewDims } from './sources.js';
import { lazyBuiltin } from '../lazy-builtin.js';
import { asShared } from './shared-block.js';

// node:os only when a run is big enough to ask how many cores there are (start-up time).
const os = lazyBuiltin<typeof import('node:os')>('node:os');

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
    const threads = expectedBytes >= POOL_MIN_BYTES ? Math.max(1, Math.floor(options.threads ?? defaultThreads())) : 1;
    this.backend = threads > 1 ? new WorkerPoolBackend(threads, options) : new InThreadBackend(options);
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

  /** Per-row (dim-0 slice) statistics of a real-valued tensor; a 0-d tensor is one row. */
  async rowStats(desc: TensorDescriptor): Promise<RowStats> {
    refuseComplex('rowStats', desc);
    const rowLength = rowLengthOf(desc.shape, desc.numel);
    if (rowLength === 0) return emptyRowStats(desc.shape[0] ?? 0);
    return this.run('rowStats', [desc], { rowLength });
  }

  /** Row-by-row comparison of two real-valued tensors with equal shapes. */
  async rowCompare(a: TensorDescriptor, b: TensorDescriptor): Promise<RowComparison> {
    refuseComplex('rowCompare', a);
    refuseComplex('rowCompare', b);
    if (a.numel !== b.numel || (a.shape[0] ?? 1) !== (b.shape[0] ?? 1)) {
      throw new Error(`rowCompare: ${a.name} [${a.shape}] and ${b.name} [${b.shape}] do not have the same rows`);
    }
    const rowLength = rowLengthOf(a.shape, a.numel);
    if (rowLength === 0) {
      const rows = a.shape[0] ?? 0;
      const zero = () => new Float64Array(rows);
      return {
        pairs: zero(),
        dot: zero(),
        normA: zero(),
        normB: zero(),
        cosine: zero().fill(NaN),
        diffNorm: zero(),
        relChange: zero(),
        maxAbs: zero(),
        mismatched: zero(),
      };
    }
    return this.run('rowCompare', [a, b], { rowLength });
  }

  /** A fixed-bin histogram of a real-valued tensor's values over [lo, hi] (1 ≤ bins ≤ 1024). */
  async histogram(desc: TensorDescriptor, params: HistogramParams): Promise<Histogram> {
    refuseComplex('histogram', desc);
    checkHistogramParams(params, HIST_MAX_BINS);
    return this.run('histogram', [desc], { lo: params.lo, hi: params.hi, bins: params.bins });
  }

  /**
   * Y = W·X for W = `desc` as [m, n] (shape [d0, rest…]) and X n×k (row-major f64, 1 ≤ k ≤
   * MATVEC_MAX_K); Y is m×k. X is copied into shared memory unless it is there already
   * (shared-block.ts; then it must not change until the call resolves).
   */
  async matvec(desc: TensorDescriptor, x: ArrayLike<number>, k: number): Promise<Float64Array> {
    const [m, n] = matrixShape('matvec', desc, k);
    if (x.length !== n * k) throw new RangeError(`matvec: x has ${x.length} values, ${desc.name} needs n·k = ${n}·${k}`);
    if (m === 0) return new Float64Array(0);
    if (n === 0) return new Float64Array(m * k);
    return this.run('matvec', [desc], { x: asShared(x), k, cols: n });
  }

  /** Z = Wᵀ·Y for W = `desc` as [m, n] and Y m×k (row-major f64, 1 ≤ k ≤ MATVEC_MAX_K); Z is n×k. Y as X of matvec. */
  async matvecT(desc: TensorDescriptor, y: ArrayLike<number>, k: number): Promise<Float64Array> {
    const [m, n] = matrixShape('matvecT', desc, k);
    if (y.length !== m * k) throw new RangeError(`matvecT: y has ${y.length} values, ${desc.name} needs m·k = ${m}·${k}`);
    if (m === 0 || n === 0) return new Float64Array(n * k);
    return this.run('matvecT', [desc], { y: asShared(y), k, cols: n });
  }

  /**
   * Any registered op over whole real-valued tensors (one per side, equal element counts):
   * split into ranges when the op allows and the tensors are read in place, results merged
   * in range order.
   */
  async run<K extends OpName>(name: K, tensors: TensorDescriptor[], params: OpParams<K>): Promise<OpResult<K>> {
    const op = opOf(name);
    const stored = tensors.reduce((s, t) => s + t.source.length / (dtypeInfo(storedDtype(t)).bits / 8), 0);
    for (const t of tensors) checkGatherWork(t, stored, name === 'compare' ? 'comparing it' : `the ${name} pass`);
    const numel = tensors[0]!.numel;
    // Bytes per element (fractional for block-quantized data); ranges start on whole blocks.
    const sizes = tensors.map((t) => dtypeInfo(storedDtype(t)).bits / 8);
    const bytesPerElement = sizes.reduce((x, y) => x + y, 0);
    const align = tensors.reduce((a, t) => lcm(a, dtypeInfo(storedDtype(t)).blockElements), op.rangeAlign?.(params, tensors) ?? 1);
    const ranges =
      op.split === 'ranges' && op.merge && tensors.every(splittable) ? splitRanges(numel, Math.max(...sizes), align) : [[0, numel] as [number, number]];
    const parts = await Promise.all(
      ranges.map(([first, end]) => this.submit(name, { tensors, params, first, end }, Math.ceil((end - first) * bytesPerElement))),
    );
    if (!op.merge) return parts[0]!;
    if (op.mergeAll) return op.mergeAll(parts);
    // Merging from the empty result keeps even a single range's result what a merge makes of it.
    return parts.reduce(op.merge, op.result(op.empty(params, tensors), params));
  }

  /**
   * A registered op over many whole small tensors (each `batchable`), results in item order
   * and equal to `run`'s: items go out in file order as a few jobs of up to RANGE_BYTES, so
   * the engine reads runs of adjacent tensors with one positional read per side.
   */
  async runMany<K extends OpName>(name: K, items: Array<{ tensors: TensorDescriptor[]; params: OpParams<K> }>): Promise<Array<OpResult<K>>> {
    const paths = new Map<string, number>();
    const fileOf = (t: TensorDescriptor) => {
      let id = paths.get(t.source.path);
      if (id === undefined) paths.set(t.source.path, (id = paths.size));
      return id;
    };
    // Order: by the file of each side, then by offset in the first side's file.
    const files = items.map((item) => item.tensors.reduce((key, t) => key * 2 ** 20 + fileOf(t), 0));
    const order = Array.from(items.keys()).sort((x, y) => files[x]! - files[y]! || items[x]!.tensors[0]!.source.offset - items[y]!.tensors[0]!.source.offset);
    const jobs: Array<Promise<void>> = [];
    const results = new Array<OpResult<K>>(items.length);
    for (let i = 0; i < order.length; ) {
      let weight = 0;
      const group: number[] = [];
      while (i < order.length && (group.length === 0 || weight + tensorBytes(items[order[i]!]!.tensors) <= RANGE_BYTES)) {
        weight += tensorBytes(items[order[i]!]!.tensors);
        group.push(order[i++]!);
      }
      const job = group.map((k) => ({ tensors: items[k]!.tensors, params: items[k]!.params, first: 0, end: items[k]!.tensors[0]!.numel }));
      jobs.push(
        this.backend.run({ op: name, items: job }, weight).then((parts) => {
          // Each part is already folded from the op's empty accumulator: what run() returns for one range.
          group.forEach((k, g) => {
            results[k] = parts[g]!;
          });
        }),
      );
    }
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results;
  }

  /** Statistics of many batchable tensors (see runMany). */
  async statsMany(descs: TensorDescriptor[]): Promise<TensorPartials[]> {
    const parts = await this.runMany(
      'stats',
      descs.map((d) => ({ tensors: [d], params: {} })),
    );
    return parts.map((stats) => ({ stats }));
  }

  /** Comparisons of many pairs of batchable tensors with equal element counts (see runMany). */
  async compareMany(pairs: Array<[TensorDescriptor, TensorDescriptor]>, epsilon: number): Promise<ComparedTensors[]> {
    for (const [a, b] of pairs) if (a.numel !== b.numel) throw new Error(`compare: ${a.name} has ${a.numel} elements, ${b.name} ${b.numel}`);
    const parts = await this.runMany(
      'compare',
      pairs.map((tensors) => ({ tensors, params: { epsilon } })),
    );
    return parts.map((r) => ({ a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison }));
  }

  /**
   * A column job (columns.ts: many small plain tensors as typed arrays), records in item
   * order and equal, item for item, to what statsMany/compareMany return: items go out in
   * file order as jobs of up to RANGE_BYTES, read in runs of neighbours. With `into` (at
   * least count × recordWidth doubles, e.g. reused from window to window), the records are
   * written there and a view of it returned.
   */
  async runColumns(job: ColumnJob, into?: Float64Array): Promise<Float64Array> {
    const count = job.numels.length;
    const offsets = job.offsets[0]!;
    // Items usually come in file order already (names and offsets of a writer's file ascend
    // together): then each job is a slice and its records one copy.
    let inOrder = true;
    for (let i = 1; i < count && inOrder; i++) inOrder = offsets[i - 1]! <= offsets[i]!;
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    if (!inOrder) order.sort((x, y) => offsets[x]! - offsets[y]!);
    const bytes = (i: number) => (job.dtypes.length === 1 ? itemBytes(job, 0, i) : itemBytes(job, 0, i) + itemBytes(job, 1, i));
    const width = recordWidth(job.op);
    const out = into !== undefined && into.length >= count * width ? into.subarray(0, count * width) : new Float64Array(count * width);
    const jobs: Array<Promise<void>> = [];
    for (let from = 0; from < count; ) {
      let to = from;
      let weight = 0;
      while (to < count && (to === from || weight + bytes(order[to]!) <= RANGE_BYTES)) weight += bytes(order[to++]!);
      const first = from;
      // In order, a job's records have their place in `out` (an engine in this thread writes them there).
      const place = inOrder ? out.subarray(first * width, to * width) : undefined;
      jobs.push(
        this.backend.runColumns(inOrder ? sliceItems(job, from, to) : selectItems(job, order, from, to), weight, place).then((records) => {
          if (place === undefined) scatterRecords(records, out, order, first, to - first, width);
          else if (records !== place) place.set(records);
        }),
      );
      from = to;
    }
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return out;
  }

  private async realStats(view: TensorDescriptor): Promise<StatsPartial> {
    // Views that repeat stored elements (broadcasts, overlapping windows): exact from the
    // stored elements and their multiplicities.
    const multiset = viewMultiset(view);
    if (multiset?.kind === 'scaled') return scaleStats(await this.realStats(multiset.base), multiset.weight);
    if (multiset?.kind === 'weighted') return this.weightedStats(view, multiset.offset, multiset.weights);
    // Statistics do not depend on element order: a permuted dense block (transpose, Fortran
    // order) is read as the contiguous block it occupies, in place and split like any other.
    return this.run('stats', [asStorageBlock(view) ?? view], {});
  }

  private async realCompare(viewA: TensorDescriptor, viewB: TensorDescriptor, epsilon: number): Promise<CompareResult> {
    // Broadcast the same way on both sides: compare what is stored, each pair counted as often as it repeats.
    const shared = sharedBroadcast(viewA, viewB);
    if (shared) {
      const r = await this.realCompare(shared.a, shared.b, epsilon);
      return { a: scaleStats(r.a, shared.weight), b: scaleStats(r.b, shared.weight), comparison: scaleCompare(r.comparison, shared.weight) };
    }
    // Two views with the same permutation pair up element for element in storage order too.
    const blockA = asStorageBlock(viewA);
    const blockB = asStorageBlock(viewB);
    const samePermutation = blockA && blockB && sameLayout(viewA, viewB);
    return this.run('compare', samePermutation ? [blockA, blockB] : [viewA, viewB], { epsilon });
  }

  /** Statistics of storage elements [offset, offset + weights.length), element i counted weights[i] times. */
  private weightedStats(view: TensorDescriptor, offset: number, weights: Float64Array): Promise<StatsPartial> {
    const block: TensorDescriptor = { ...view, shape: [weights.length], numel: weights.length, view: { offset, strides: [1] } };
    return this.run('weightedStats', [block], { weights });
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
        (results) => {
          group.forEach((w, k) => {
            w.resolve(results[k]);
          });
        },
        (err) => {
          for (const w of group) w.reject(err);
        },
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
 * (positional reads run ahead of the kernels on libuv's pool), so more threads than that only
 * compete. Measured on 2 cores: 1 thread 6.0–6.5 GB/s, 2 threads 5.4–6.1 GB/s on 4 GiB.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.floor(os().availableParallelism() / 2));
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
  const dims = viewDims(desc)
    .map((size, k) => ({ size, stride: view.strides[k]! }))
    .filter((d) => d.size !== 1);
  dims.sort((x, y) => x.stride - y.stride);
  let expected = 1;
  for (const d of dims) {
    if (d.stride !== expected) return undefined;
    expected *= d.size;
  }
  return { ...desc, shape: [desc.numel], view: { offset: view.offset, strides: [1] } };
}

/** Multiplies a partial's counts and sums by `weight` (each element counted that many times). */
export function scaleStats(p: StatsPartial, weight: number): StatsPartial {
  if (weight === 1) return p;
  let m2 = p.m2 * weight;
  let exp = p.exp;
  if (!Number.isFinite(m2) && Number.isFinite(p.m2)) {
    m2 = ldexp(p.m2, -54) * weight; // weight < 2^54: moved into the 4^exp scale
    exp += 27;
  }
  const n = (x: number) => x * weight;
  return { ...p, count: n(p.count), m2, exp, nan: n(p.nan), posinf: n(p.posinf), neginf: n(p.neginf), zeros: n(p.zeros) };
}

function scaleCompare(c: ComparePartial, weight: number): ComparePartial {
  const n = (x: number) => x * weight;
  return {
    pairs: n(c.pairs),
    maxAbs: c.maxAbs,
    sumAbs: n(c.sumAbs),
    changed: n(c.changed),
    sumSqDiff: n(c.sumSqDiff),
    sumAB: n(c.sumAB),
    sumAA: n(c.sumAA),
    sumBB: n(c.sumBB),
    mismatched: n(c.mismatched),
  };
}

/**
 * Two views of one shape broadcast along the same dimensions (stride 0 on both sides): the
 * same views without those dimensions, and how often each of their pairs repeats.
 */
function sharedBroadcast(a: TensorDescriptor, b: TensorDescriptor): { a: TensorDescriptor; b: TensorDescriptor; weight: number } | undefined {
  if (!a.view || !b.view) return undefined;
  const da = viewDims(a);
  const db = viewDims(b);
  if (da.length !== db.length || da.some((d, k) => d !== db[k])) return undefined;
  if (dtypeInfo(storedDtype(a)).blockElements > 1 || dtypeInfo(storedDtype(b)).blockElements > 1) return undefined;
  const sa = a.view.strides;
  const sb = b.view.strides;
  const broadcast = da.map((d, k) => d > 1 && sa[k] === 0 && sb[k] === 0);
  if (!broadcast.includes(true)) return undefined;
  const keep = (d: TensorDescriptor, s: number[]): TensorDescriptor => {
    const shape = da.filter((_, k) => !broadcast[k]);
    return { ...d, shape, numel: shape.reduce((x, y) => x * y, 1), view: { offset: d.view!.offset, strides: s.filter((_, k) => !broadcast[k]) } };
  };
  const weight = da.reduce((m, d, k) => (broadcast[k] ? m * d : m), 1);
  return { a: keep(a, sa), b: keep(b, sb), weight };
}

function sameLayout(a: TensorDescriptor, b: TensorDescriptor): boolean {
  const same = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.shape, b.shape) && same(viewDims(a), viewDims(b)) && same(a.view!.strides, b.view!.strides);
}

export { MATVEC_MAX_K, VEC_VALUES };

/** Largest histogram bin count (assembly/layout.ts HIST_MAX_BINS). */
export const HIST_MAX_BINS = 1024;

/** The new ops compute on real values: complex tensors are refused rather than silently reduced to a part. */
function refuseComplex(op: string, desc: TensorDescriptor): void {
  if (isComplex(desc.dtype)) throw new Error(`${op}: ${desc.name} is complex (${desc.dtype}); pass a real view of its real or imaginary part`);
}

/** [m, n] of a tensor taken as a matrix ([d0, product of the rest]; a 1-d tensor is [d0, 1]). */
function matrixShape(op: string, desc: TensorDescriptor, k: number): [number, number] {
  refuseComplex(op, desc);
  if (!Number.isInteger(k) || k < 1 || k > MATVEC_MAX_K) throw new RangeError(`${op}: k must be an integer in 1..${MATVEC_MAX_K}, got ${k}`);
  if (desc.shape.length === 0) throw new RangeError(`${op}: ${desc.name} is a scalar, not a matrix`);
  const m = desc.shape[0]!;
  const n = m === 0 ? desc.shape.slice(1).reduce((a, b) => a * b, 1) : desc.numel / m;
  if (n * k > VEC_VALUES)
    throw new RangeError(`${op}: ${desc.name} has rows of ${n} elements; n·k = ${n * k} exceeds the ${VEC_VALUES} values a vector block holds`);
  return [m, n];
}

/** Dense tensors read in place can start anywhere; streams and gathers run whole. */
function splittable(desc: TensorDescriptor): boolean {
  return desc.source.kind === 'file' && isDense(desc);
}

/**
 * [first, end) element ranges of about RANGE_BYTES each, starting on multiples of `align`
 * elements (at least one `align` each); one range when elementSize is 0 (not splittable).
 */
export function splitRanges(numel: number, elementSize: number, align = 1): Array<[number, number]> {
  if (elementSize === 0 || numel * elementSize <= RANGE_BYTES) return [[0, numel]];
  const per = Math.max(1, Math.floor(RANGE_BYTES / elementSize / align)) * align;
  const ranges: Array<[number, number]> = [];
  for (let first = 0; first < numel; first += per) ranges.push([first, Math.min(numel, first + per)]);
  return ranges;
}

/** A complex tensor as two real views (real and imaginary parts) of its interleaved storage. */
function complexParts(desc: TensorDescriptor): [TensorDescriptor, TensorDescriptor] {
  const part = dtypeInfo(desc.dtype).complexPart!;
  if (desc.imagSource) {
    // Planar: each part is a tensor of its own over its own storage.
    const { imagSource, ...rest } = desc;
    return [
      { ...rest, name: `${desc.name}.real`, dtype: part },
      { ...rest, name: `${desc.name}.imag`, dtype: part, source: imagSource },
    ];
  }
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

/** Small items handed to one batch call: enough for long spans and full jobs, few enough to keep memory flat. */
export const BATCH_WINDOW = 1024;

/**
 * Runs every item, results in item order. Items that `isSmall` accepts go to `batch` in
 * windows of BATCH_WINDOW (one call per window: no promise, key or job per tensor, so a
 * million small tensors cost a few hundred calls); the others each get `task`, started at
 * once so the executor can schedule the largest first.
 */
export async function runAll<T, R>(
  items: T[],
  isSmall: (item: T) => boolean,
  task: (item: T) => Promise<R>,
  batch: (items: T[]) => Promise<R[]>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const small: number[] = [];
  const large: Array<Promise<void>> = [];
  items.forEach((item, i) => {
    if (isSmall(item)) small.push(i);
    else
      large.push(
        task(item).then((r) => {
          results[i] = r;
        }),
      );
  });
  const rest = Promise.all(large);
  rest.catch(() => undefined); // awaited below, after the windows; a failure meanwhile is not unhandled
  try {
    for (let w = 0; w < small.length; w += BATCH_WINDOW) {
      const window = small.slice(w, w + BATCH_WINDOW);
      const out = await batch(window.map((i) => items[i]!));
      window.forEach((i, k) => {
        results[i] = out[k]!;
      });
    }
  } finally {
    await rest.catch(() => undefined); // when a window fails, still wait for the large tasks before reporting it
  }
  await rest;
  return results;
}

/** A tensor small and plain enough to be read in one span with its neighbours (see Executor.runMany). */
export function batchable(desc: TensorDescriptor): boolean {
  return !isComplex(desc.dtype) && splittable(desc) && storedByteLength(desc) <= SMALL_JOB_BYTES;
}

/**
 * Bytes the engine reads for tensors (for deciding on workers and for progress totals): a
 * view that repeats its storage (a broadcast) reads no more than the storage holds.
 */
export function tensorBytes(tensors: TensorDescriptor[]): number {
  return tensors.reduce((sum, t) => sum + readByteLength(t), 0);
}

/** Records of items order[first…first + count) (a job's, in its order) to their places in `out`. */
function scatterRecords(records: Float64Array, out: Float64Array, order: Uint32Array, first: number, count: number, width: number): void {
  for (let m = 0; m < count; m++) out.set(records.subarray(m * width, (m + 1) * width), order[first + m]! * width);
}
