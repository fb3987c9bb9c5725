/**
 * The per-thread engine: streams element ranges of tensors chunk by chunk into its own
 * WASM memory and runs an op's kernels on them (ops.ts). It is the only code that touches
 * WASM memory; one lives in the main thread and one in each worker. Orchestration
 * (splitting, complex parts, threads) is the executor's job.
 */
import { DTYPES, type DType } from '../dtypes.js';
import { DiffaiError } from '../errors.js';
import { storedDtype, type TensorDescriptor } from '../formats/types.js';
import { type BatchCall, ColumnBatch } from './column-batch.js';
import { compileKernels, Kernels } from './kernels.js';
import type { Chunk, EngineOp } from './op.js';
import { type ColumnJob, itemBytes, packResult, recordWidth } from './columns.js';
import { type Job, type JobItem, type OpName, type OpResult, opOf } from './ops.js';
import { statsOp } from './ops/stats.js';
import type { StatsPartial } from './partials.js';
import {
  type Kind,
  type Pipeline,
  asF64,
  blockAlign,
  bytesOf,
  chunkElements,
  convert,
  inlineReadElements,
  kernelLimit,
  pipelineFor,
  readElements,
} from './pipeline.js';
import { ReadRing } from './read-ring.js';
import { type ElementReader, FileCache, isDense, openElementReader, readAt, readsInline, storageBytes } from './sources.js';

export interface EngineOptions {
  /** Upper bound on elements per chunk (tests use small values to exercise merging). */
  chunkElements?: number;
  signal?: AbortSignal;
  /**
   * Chunk reads of a streamed tensor kept under way per side while the kernels run (1 is
   * double buffering); at most the raw slots per side less one. Results do not depend on it.
   */
  readsInFlight?: number;
  /** How chunks of local files are read (ReadMode; default 'ahead'). Results do not depend on it. */
  reads?: ReadMode;
  /** Called with the number of stored bytes processed, for progress display. */
  onBytes?: (bytes: number) => void;
}

type AnyOp = EngineOp<unknown, unknown, unknown>;

/**
 * How an engine reads the chunks of local files:
 * - 'ahead': positional reads on libuv's thread pool, `readsInFlight` chunks ahead of the
 *   kernels, so another core copies from the page cache while this one computes (a thread
 *   hop and a wake-up per read, and the bytes arrive in that core's cache);
 * - 'inline': each ~1 MiB chunk is read on the engine's own thread just before its kernels,
 *   the C loop's structure (bench/ceiling.c): no hop, no wake-up, the bytes still in this
 *   core's cache. Measured on the 2-core VM: 15–25 % less CPU for the same work, but no
 *   overlap, so it is for engines that have no spare core to read for them (executor.ts
 *   readModeFor). Remote and compressed sources read as in 'ahead' either way.
 */
export type ReadMode = 'ahead' | 'inline';

/**
 * Reads in flight per side unless the options say otherwise (the rings allow 3,
 * assembly/layout.ts): deeper read-ahead cost ~6 % more CPU on a warm page cache (slots
 * written chunks before the kernels read them have left the cache) and saved no wall time.
 */
export const DEFAULT_READS_IN_FLIGHT = 1;

/** The chunk handed to ops: the sides' stored bytes in WASM memory, prepared on demand. */
class ChunkView implements Chunk {
  n = 0;
  first = 0;
  private raws: number[] = [];
  private prepared: Array<number | undefined> = [];

  constructor(
    readonly k: Kernels,
    readonly pipelines: Pipeline[],
    readonly kind: Kind,
  ) {}

  /** Points the view at n elements per side at `raws` (byte-swapping them in place). */
  set(first: number, n: number, raws: number[]): void {
    this.first = first;
    this.n = n;
    this.raws = raws;
    for (let side = 0; side < raws.length; side++) {
      this.prepared[side] = undefined;
      const p = this.pipelines[side]!;
      if (p.swap) this.k.k.byteswap(raws[side]!, n, p.blockBytes);
    }
  }

  pipeline(side: number): Pipeline {
    return this.pipelines[side]!;
  }

  raw(side: number): number {
    return this.raws[side]!;
  }

  ptr(side: number): number {
    let ptr = this.prepared[side];
    if (ptr === undefined) {
      ptr = convert(this.k, this.pipelines[side]!, this.raws[side]!, side === 0 ? this.k.scratchA : this.k.scratchB, this.n);
      this.prepared[side] = ptr;
    }
    return ptr;
  }
}

/** What a column job's items of one pair of dtypes run with: chunk view, kernel step and the op's batch call (if any). */
interface ColumnSetup {
  view: ChunkView;
  step: number;
  call: BatchCall | undefined;
}

/** Where one side of an item lies in its file, when it can be read as part of a span. */
interface Placement {
  path: string;
  start: number;
  end: number;
}

/**
 * A job's items as byte ranges, per side in typed arrays (no object per item): what the
 * neighbour-run reader (readNeighbours) coalesces. Only the first `count` entries count: the
 * arrays are the engine's, reused from job to job (RangeScratch).
 */
interface ItemRanges {
  sides: number;
  count: number;
  paths: string[];
  /** Per side: item i's file as its index in `paths`, or −1 when it cannot be read in a run (it streams, or fails). */
  file: Int32Array[];
  /** Per side: item i's bytes [start, end) in its file (meaningful where file ≥ 0). */
  start: Float64Array[];
  end: Float64Array[];
}

/**
 * The arrays of ItemRanges, grown as needed and reused: an engine runs one job at a time, and
 * typed arrays made anew for every small batch (a 100,000-entry .npz inspects in ~100) let
 * V8's heap grow ~40 MB more at the peak (measured: 205 against 165 MB).
 */
class RangeScratch {
  file: Int32Array[] = [];
  start: Float64Array[] = [];
  end: Float64Array[] = [];

  /** Arrays of at least `count` entries for two sides. */
  take(count: number): this {
    const size = this.file[0]?.length ?? 0;
    if (size < count) {
      const grown = Math.max(count, 2 * size, 1024);
      this.file = [new Int32Array(grown), new Int32Array(grown)];
      this.start = [new Float64Array(grown), new Float64Array(grown)];
      this.end = [new Float64Array(grown), new Float64Array(grown)];
    }
    return this;
  }
}

/**
 * One idle kernel instance per thread, handed to the next engine: a new WASM instance (26 MiB
 * of memory, ~10 ms) for each of 3,000 file pairs of a directory diff took most of its 50 s.
 * Jobs write every buffer they read, so nothing carries over but the built tables.
 */
let idleKernels: Kernels | undefined;

export class Engine {
  private madeKernels: Kernels | undefined;
  private files = new FileCache();
  private scratch = new RangeScratch();
  /** Scratch of windowOf and fold, by number of sides (no array per item). */
  private at = [[], [0], [0, 0]];
  private raws = [[], [0], [0, 0]];
  /** Column-job items waiting for their batch call (made with the kernels). */
  private batch: ColumnBatch | undefined;

  constructor(private options: EngineOptions = {}) {}

  close(): void {
    this.files.close();
    // Kept for the next engine of this thread: a directory diff makes an engine per file pair.
    idleKernels ??= this.madeKernels;
    this.madeKernels = undefined;
  }

  /** How chunks are read from the next job on (a pool worker learns it from its pool). */
  setReads(reads: ReadMode | undefined): void {
    this.options = { ...this.options, reads };
  }

  /** Makes the kernels now, rather than with the first job (after compileKernels() has resolved). */
  prepare(): void {
    void this.kernels;
  }

  /** Made on first use, from the module compileKernels() compiled when it is ready by then. */
  private get kernels(): Kernels {
    if (!this.madeKernels) {
      this.madeKernels = idleKernels ?? new Kernels({ tables: 'lazy' });
      idleKernels = undefined;
    }
    return this.madeKernels;
  }

  /** Runs a job: one result per item, in item order. */
  async run<K extends OpName>(job: Job<K>): Promise<Array<OpResult<K>>> {
    if (!this.madeKernels) await compileKernels();
    const op = opOf(job.op) as AnyOp;
    const items = job.items as JobItem[];
    const ranges = this.itemRanges(op, items);
    const results: unknown[] = [];
    // Neighbours whose element ranges lie side by side are read together; an item alone streams (reads ahead of the kernels).
    for (let i = 0; i < items.length; ) {
      const from = i;
      const end = await this.readNeighbours(ranges, i, 2);
      if (end === i) {
        results.push(await this.stream(op, items[i]!));
        i++;
        continue;
      }
      let ps: Pipeline[] = [];
      let view: ChunkView | undefined;
      let previous: TensorDescriptor[] | undefined;
      for (; i < end; i++) {
        this.options.signal?.throwIfAborted();
        const { first, end: last, tensors, params } = items[i]!;
        // Neighbours usually share dtypes: their pipelines and chunk view are made once.
        if (!previous || !samePipelines(previous, tensors)) {
          ps = this.pipelines(tensors);
          view = new ChunkView(this.kernels, ps, ps[0]!.kind);
          previous = tensors;
        }
        const step = this.step(op, items[i]!, ps, kernelLimit(ps, this.options.chunkElements));
        const acc = this.fold(op, view!, params, op.empty(params, tensors), first, last, step, this.windowOf(ranges, from, i));
        results.push(op.result(acc, params));
        this.options.onBytes?.(ps.reduce((sum, p) => sum + bytesOf(p, last - first), 0));
      }
    }
    return results as Array<OpResult<K>>;
  }

  /** Runs an op job or a column job (what the pool hands a worker). */
  async execute(job: Job | ColumnJob): Promise<unknown[] | Float64Array> {
    try {
      return await ('items' in job ? this.run(job) : this.runColumns(job));
    } catch (e) {
      throw jobFailure(e, job);
    }
  }

  /** The sides' pipelines: both compute as f64 when their kinds differ. */
  private pipelines(tensors: Array<Pick<TensorDescriptor, 'dtype' | 'storedAs' | 'byteOrder' | 'quantization'>>): Pipeline[] {
    for (const t of tensors) this.kernels.prepareFor(storedDtype(t));
    const ps = tensors.map(pipelineFor);
    return ps.some((p) => p.kind !== ps[0]!.kind) ? ps.map(asF64) : ps;
  }

  private step(op: AnyOp, item: Pick<JobItem, 'params' | 'tensors'>, ps: Pipeline[], limit = this.options.chunkElements): number {
    const step = chunkElements(this.kernels, ps, limit);
    if (!op.chunkElements) return step;
    // An op's own step (whole rows) is kept on whole blocks too; rows of block data are whole blocks.
    const own = op.chunkElements(item.params, item.tensors, step);
    const align = blockAlign(ps);
    return Math.max(align, own - (own % align));
  }

  /**
   * The streaming loop every op runs on: elements [first, end) of each side are read chunk
   * by chunk into the sides' rings of raw buffers (read-ring.ts), up to `readsInFlight`
   * chunks ahead of the op's kernels; or, reading inline (ReadMode), into each side's first
   * raw buffer on this thread just before the kernels run on it.
   */
  private async stream(op: AnyOp, item: JobItem): Promise<unknown> {
    const k = this.kernels;
    const { first, end, tensors, params } = item;
    const ps = this.pipelines(tensors);
    // Kernels run on sub-chunks of `sub` elements (~1 MiB, less for dequantized data to stay
    // in cache); reads are as large as a raw slot allows, a whole number of sub-chunks.
    const sub = this.step(op, item, ps, kernelLimit(ps, this.options.chunkElements));
    const reach = Math.max(1, Math.floor(readElements(k, ps, this.options.chunkElements) / sub)) * sub;
    const view = new ChunkView(k, ps, ps[0]!.kind);
    const bases = [k.rawA, k.rawB];
    const bytesOfAll = (n: number) => ps.reduce((s, p) => s + bytesOf(p, n), 0);
    let acc = op.empty(params, tensors);
    const readers: ElementReader[] = [];
    let ring: ReadRing | undefined;
    try {
      for (const t of tensors) readers.push(openElementReader(t, this.files, first));
      const inline = this.options.reads === 'inline' && readers.every((r) => r.readNow);
      const step = inline ? inlineReadElements(ps, sub, reach) : reach;
      const raws = readers.map(() => 0);
      const slotOf = (side: number, slot: number) => bases[side]! + slot * k.rawBytes;
      // Where one side's share of a chunk goes: its bytes at the start of the side's slot.
      const target = (side: number, chunk: number, slot: number) => k.view(slotOf(side, slot), bytesOf(ps[side]!, Math.min(step, end - first - chunk * step)));
      const readChunk = (chunk: number, slot: number): Promise<unknown> => {
        if (readers.length === 1) return readers[0]!.read(target(0, chunk, slot));
        return Promise.all(readers.map((r, side) => r.read(target(side, chunk, slot))));
      };
      const readNow = (chunk: number, slot: number) => {
        for (let side = 0; side < readers.length; side++) readers[side]!.readNow!(target(side, chunk, slot));
      };
      // A reader that can read at once on this thread: the ring has this thread read later
      // chunks while it waits (read-ring.ts). One side only: a pair's two reads already run on
      // two pool threads at once, and there this thread's reading measured slower (mixed pair,
      // 2 cores: 380 against 359 ms), where one side's gained (f32 statistics: 219 against 244).
      const help = readers.length === 1 && readers[0]!.readNow ? readNow : undefined;
      // Readers that take each read's place when it is issued (positional reads) may have several under way.
      const depth = readers.every((r) => r.parallel) ? readsInFlight(this.options.readsInFlight, k.ringSlots) : 1;
      if (!inline) ring = new ReadRing(Math.ceil((end - first) / step), depth, readChunk, { slots: help ? k.ringSlots : undefined, readNow: help });
      for (let done = first, c = 0; done < end; done += step, c++) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, end - done);
        let slot = 0;
        if (ring) {
          await ring.take(c);
          slot = ring.slot(c);
        } else readNow(c, 0);
        for (let side = 0; side < raws.length; side++) raws[side] = slotOf(side, slot);
        for (let s = 0; s < n; s += sub) {
          view.set(
            done + s,
            Math.min(sub, n - s),
            raws.map((r, side) => r + bytesOf(ps[side]!, s)),
          );
          acc = op.chunk(acc, view, params);
        }
        this.options.onBytes?.(bytesOfAll(n));
      }
    } finally {
      await ring?.drain(); // never leave a read writing into WASM memory
      for (const r of readers) r.close();
    }
    return op.result(acc, params);
  }

  private placement(t: TensorDescriptor, first: number, end: number): Placement | undefined {
    if (t.source.kind !== 'file' || !isDense(t)) return undefined;
    const start = storageBytes(t, t.view?.offset ?? 0);
    // Anything a streamed read would reject (elements past the storage or the file) streams, for its error.
    if (start + storageBytes(t, t.numel) > t.source.length) return undefined;
    const at = t.source.offset + start;
    const placed = { path: t.source.path, start: at + storageBytes(t, first), end: at + storageBytes(t, end) };
    return placed.end <= this.files.get(t.source.path).size ? placed : undefined;
  }

  /** An op job's items as byte ranges (items with another number of sides than the op's, or not in place, are unplaced). */
  private itemRanges(op: AnyOp, items: JobItem[]): ItemRanges {
    const count = items.length;
    const paths: string[] = [];
    const { file, start, end } = this.scratch.take(count);
    for (let s = 0; s < op.sides; s++) file[s]!.fill(-1, 0, count);
    items.forEach((item, i) => {
      if (item.tensors.length !== op.sides) return;
      item.tensors.forEach((t, s) => {
        const p = this.placement(t, item.first, item.end);
        if (!p) return;
        let id = paths.lastIndexOf(p.path);
        if (id < 0) id = paths.push(p.path) - 1;
        file[s]![i] = id;
        start[s]![i] = p.start;
        end[s]![i] = p.end;
      });
    });
    return { sides: op.sides, count, paths, file, start, end };
  }

  /**
   * The one read loop for many small items (op jobs' batches and column jobs): the run of
   * items from `from` on whose byte ranges lie, per side, in one file in ascending order
   * without overlap and within one raw buffer is read with one positional read per side
   * (side s into its raw buffer, item `from` first: windowOf gives each item's place). Returns
   * the end of the run; `from` when it would hold fewer than `least` items (nothing is read)
   * or item `from` cannot start one (unplaced, or larger than a raw buffer).
   */
  private async readNeighbours(ranges: ItemRanges, from: number, least: number): Promise<number> {
    const k = this.kernels;
    const { sides, count, file, start, end: stop } = ranges;
    for (let s = 0; s < sides; s++) if (file[s]![from]! < 0 || stop[s]![from]! - start[s]![from]! > k.rawBytes) return from;
    let end = from + 1;
    for (; end < count; end++) {
      let fits = true;
      for (let s = 0; s < sides && fits; s++) {
        const f = file[s]!;
        const at = start[s]![end]!;
        fits = f[end] === f[from] && at >= stop[s]![end - 1]! && stop[s]![end]! - start[s]![from]! <= k.rawBytes;
      }
      if (!fits) break;
    }
    if (end - from < least) return from;
    const bases = [k.rawA, k.rawB];
    const reads: Array<Promise<void>> = [];
    for (let s = 0; s < sides; s++) {
      const at = start[s]![from]!;
      const target = k.view(bases[s]!, stop[s]![end - 1]! - at);
      const f = this.files.get(ranges.paths[file[s]![from]!]!);
      if (this.options.reads === 'inline' && readsInline(f)) f.readInto(target, at);
      else reads.push(readAt(f, target, at));
    }
    if (reads.length > 0) await Promise.all(reads);
    return end;
  }

  /** Where item i of the run readNeighbours read from item `from` on lies in WASM memory, per side. */
  private windowOf(ranges: ItemRanges, from: number, i: number): number[] {
    const at = this.at[ranges.sides]!;
    const k = this.kernels;
    for (let s = 0; s < at.length; s++) at[s] = (s === 0 ? k.rawA : k.rawB) + ranges.start[s]![i]! - ranges.start[s]![from]!;
    return at;
  }

  /** Folds elements [first, end) of an item whose stored bytes start at `at` (per side) chunk by chunk into `acc`. */
  private fold(op: AnyOp, view: ChunkView, params: unknown, acc: unknown, first: number, end: number, step: number, at: number[]): unknown {
    const raws = this.raws[at.length]!;
    const ps = view.pipelines;
    for (let done = first; done < end; done += step) {
      for (let s = 0; s < at.length; s++) raws[s] = at[s]! + bytesOf(ps[s]!, done - first);
      view.set(done, Math.min(step, end - done), raws);
      acc = op.chunk(acc, view, params);
    }
    return acc;
  }

  /**
   * Runs a column job (columns.ts): runs of neighbours are read by readNeighbours, then each
   * item is folded chunk by chunk exactly as an op job's span item is, and its result packed
   * into the job's record array. Between reads only typed arrays are held, so per-item
   * objects die young.
   */
  async runColumns(job: ColumnJob, into?: Float64Array): Promise<Float64Array> {
    if (!this.madeKernels) await compileKernels();
    const op = opOf(job.op) as AnyOp;
    const sides = job.paths.length;
    const count = job.numels.length;
    // Into the caller's array when it has one (a new array per job is fresh pages to fault in, job after job).
    const out = into?.length === count * recordWidth(job.op) ? into : new Float64Array(count * recordWidth(job.op));
    const files = job.paths.map((p) => this.files.get(p));
    const params: { epsilon: number } | Record<string, never> = job.op === 'compare' ? { epsilon: job.epsilon } : {};
    const { file, end } = this.scratch.take(count);
    const ranges: ItemRanges = { sides, count, paths: job.paths, file, start: job.offsets, end };
    for (let s = 0; s < sides; s++) {
      const offsets = job.offsets[s]!;
      const ids = file[s]!;
      const ends = end[s]!;
      const size = files[s]!.size;
      for (let i = 0; i < count; i++) {
        ends[i] = offsets[i]! + itemBytes(job, s, i);
        // An item past the end of its file starts no run and joins none: it fails below.
        ids[i] = ends[i]! <= size ? s : -1;
      }
    }
    // Pipelines, chunk view, step and batch call by the items' dtypes, made once per pair of dtypes.
    const setups = new Map<number, ColumnSetup>();
    let key = -1;
    let setup: ColumnSetup | undefined;
    const batch = (this.batch ??= new ColumnBatch(this.kernels));
    const width = recordWidth(job.op);
    for (let i = 0; i < count; ) {
      const from = i;
      const end = await this.readNeighbours(ranges, i, 1);
      if (end === i) {
        for (let s = 0; s < sides; s++) {
          if (ranges.end[s]![i]! - ranges.start[s]![i]! > this.kernels.rawBytes) throw new Error(`column job: item ${i} is larger than a raw buffer`);
          if (ranges.file[s]![i]! < 0) throw new DiffaiError(job.paths[s], 'tensor data runs past the end of the file');
        }
      }
      try {
        for (; i < end; i++) {
          const codeA = job.dtypes[0]![i]!;
          const codeB = sides > 1 ? job.dtypes[1]![i]! : 0;
          if (codeA * 256 + codeB !== key) {
            batch.flush(); // the next setup may fill tables in scratch
            key = codeA * 256 + codeB;
            setup = setups.get(key);
            if (!setup) setups.set(key, (setup = this.columnSetup(op, params, job.dtypes, i)));
          }
          const { view, step, call } = setup!;
          const numel = job.numels[i]!;
          const at = this.windowOf(ranges, from, i);
          if (numel > 0 && numel <= step) {
            // One chunk: many at once (column-batch.ts), or the op writes the record itself (no accumulator objects per tensor).
            if (call) {
              batch.add(call, out, i, at[0]!, sides > 1 ? at[1]! : 0, numel);
              continue;
            }
            this.options.signal?.throwIfAborted();
            if (op.record) {
              view.set(0, numel, at);
              if (op.record(view, params, out, i * width)) continue;
            }
          }
          this.options.signal?.throwIfAborted();
          batch.flush();
          const acc = this.fold(op, view, params, op.empty(params, []), 0, numel, step, at);
          packResult(job.op, op.result(acc, params) as Parameters<typeof packResult>[1], out, i);
        }
        batch.flush(); // before the next read overwrites the raw buffers
      } catch (e) {
        batch.discard(); // a failed job leaves nothing waiting for the next
        throw e;
      }
      this.options.signal?.throwIfAborted();
      // Progress once per run of neighbours: the items' bytes.
      if (this.options.onBytes) {
        let bytes = 0;
        for (let m = from; m < end; m++) for (let s = 0; s < sides; s++) bytes += ranges.end[s]![m]! - ranges.start[s]![m]!;
        this.options.onBytes(bytes);
      }
    }
    return out;
  }

  /** What a column job's items of one pair of dtypes (those of item i) run with. */
  private columnSetup(op: AnyOp, params: JobItem['params'], dtypes: Uint8Array[], i: number): ColumnSetup {
    const tensors = dtypes.map((d) => ({ dtype: DTYPES[d[i]!]!, byteOrder: 'little' as const }));
    const ps = this.pipelines(tensors);
    const view = new ChunkView(this.kernels, ps, ps[0]!.kind);
    const step = this.step(op, { params, tensors: [] }, ps, kernelLimit(ps, this.options.chunkElements));
    return { view, step, call: op.batch?.(this.kernels, ps, params) };
  }

  /** Statistics of elements already in memory (library use). */
  statsOfBytes(bytes: Uint8Array, dtype: DType): StatsPartial {
    const p = pipelineFor({ dtype, byteOrder: 'little' });
    const k = this.kernels;
    k.prepareFor(dtype);
    const total = Math.floor(bytes.length / p.blockBytes) * p.blockElements;
    const step = chunkElements(k, [p], this.options.chunkElements);
    const view = new ChunkView(k, [p], p.kind);
    let acc = statsOp.empty({}, []);
    for (let done = 0; done < total; done += step) {
      const n = Math.min(step, total - done);
      k.bytes.set(bytes.subarray(bytesOf(p, done), bytesOf(p, done + n)), k.rawA);
      view.set(done, n, [k.rawA]);
      acc = statsOp.chunk(acc, view, {});
    }
    return acc;
  }
}

/** Chunk reads kept under way per side: the option (default DEFAULT_READS_IN_FLIGHT), whole, within what `slots` raw slots allow (one is the kernels'). */
export function readsInFlight(option: number | undefined, slots: number): number {
  return Math.max(1, Math.min(slots - 1, Math.floor(option ?? DEFAULT_READS_IN_FLIGHT)));
}

/** True when two items' tensors get the same pipelines (what pipelineFor reads is equal, side by side). */
function samePipelines(x: TensorDescriptor[], y: TensorDescriptor[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (a.dtype !== b.dtype || a.storedAs !== b.storedAs || a.byteOrder !== b.byteOrder || a.quantization || b.quantization) return false;
  }
  return true;
}

/**
 * The engine's boundary: a failure that is not already a DiffaiError (an allocation V8 or
 * WASM refuses for a hostile size, a stack overflow) leaves a job naming the files it read,
 * as one line, never `internal error` without them.
 */
export function jobFailure(e: unknown, job: Job | ColumnJob): unknown {
  if (e instanceof DiffaiError || (e as Error)?.name === 'AbortError') return e;
  const paths = 'items' in job ? job.items.flatMap((item) => item.tensors.map((t) => t.source.path)) : job.paths;
  const names = 'items' in job && job.items.length === 1 ? ` (tensor ${job.items[0]!.tensors[0]?.name})` : '';
  return new DiffaiError([...new Set(paths)].join(', '), `cannot read the tensor data${names}: ${(e as Error)?.message ?? String(e)}`);
}
