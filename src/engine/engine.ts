/**
 * The per-thread engine: streams element ranges of tensors chunk by chunk into its own
 * WASM memory and runs an op's kernels on them (ops.ts). It is the only code that touches
 * WASM memory; one lives in the main thread and one in each worker. Orchestration
 * (splitting, complex parts, threads) is the executor's job.
 */
import { DTYPES, type DType } from '../dtypes.js';
import { DiffaiError } from '../errors.js';
import { storedDtype, type TensorDescriptor } from '../formats/types.js';
import { compileKernels, Kernels } from './kernels.js';
import type { Chunk, EngineOp } from './op.js';
import { type ColumnJob, itemBytes, packResult, recordWidth } from './columns.js';
import { type Job, type JobItem, type OpName, type OpResult, opOf } from './ops.js';
import { statsOp } from './ops/stats.js';
import type { StatsPartial } from './partials.js';
import { type Kind, type Pipeline, asF64, blockAlign, bytesOf, chunkElements, convert, kernelLimit, pipelineFor, readElements } from './pipeline.js';
import { FileCache, isDense, openElementReader, readAt, storageBytes } from './sources.js';

export interface EngineOptions {
  /** Upper bound on elements per chunk (tests use small values to exercise merging). */
  chunkElements?: number;
  signal?: AbortSignal;
  /** Called with the number of stored bytes processed, for progress display. */
  onBytes?: (bytes: number) => void;
}

type AnyOp = EngineOp<unknown, unknown, unknown>;

/** The chunk handed to ops: the sides' stored bytes in WASM memory, prepared on demand. */
class ChunkView implements Chunk {
  n = 0;
  first = 0;
  private raws: number[] = [];
  private prepared: Array<number | undefined> = [];

  constructor(
    readonly k: Kernels,
    private pipelines: Pipeline[],
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

/** Where one side of an item lies in its file, when it can be read as part of a span. */
interface Placement {
  path: string;
  start: number;
  end: number;
}

export class Engine {
  private madeKernels: Kernels | undefined;
  private files = new FileCache();

  constructor(private options: EngineOptions = {}) {}

  close(): void {
    this.files.close();
  }

  /** Made on first use, from the module compileKernels() compiled when it is ready by then. */
  private get kernels(): Kernels {
    this.madeKernels ??= new Kernels({ tables: 'lazy' });
    return this.madeKernels;
  }

  /** Runs a job: one result per item, in item order. */
  async run<K extends OpName>(job: Job<K>): Promise<Array<OpResult<K>>> {
    if (!this.madeKernels) await compileKernels();
    const op = opOf(job.op) as AnyOp;
    const items = job.items as JobItem[];
    const results: unknown[] = [];
    for (let i = 0; i < items.length; ) {
      const span = this.span(op, items, i);
      if (span.length > 1) {
        for (const r of await this.runSpan(op, items.slice(i, i + span.length), span)) results.push(r);
        i += span.length;
      } else {
        results.push(await this.stream(op, items[i]!));
        i++;
      }
    }
    return results as Array<OpResult<K>>;
  }

  /** Runs an op job or a column job (what the pool hands a worker). */
  execute(job: Job | ColumnJob): Promise<unknown[] | Float64Array> {
    return 'items' in job ? this.run(job) : this.runColumns(job);
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
   * by chunk, double-buffered — chunk i+1 of every side is being read while the op's kernels
   * run on chunk i.
   */
  private async stream(op: AnyOp, item: JobItem): Promise<unknown> {
    const k = this.kernels;
    const { first, end, tensors, params } = item;
    const ps = this.pipelines(tensors);
    // Kernels run on sub-chunks of `sub` elements (~1 MiB, less for dequantized data to stay
    // in cache); reads are as large as the raw buffers allow, a whole number of sub-chunks.
    const sub = this.step(op, item, ps, kernelLimit(ps, this.options.chunkElements));
    const reach = readElements(k, ps, this.options.chunkElements);
    const step = Math.max(1, Math.floor(reach / sub)) * sub;
    const view = new ChunkView(k, ps, ps[0]!.kind);
    // Raw buffers by chunk parity, one per side.
    const buffers = [
      [k.rawA, k.rawB],
      [k.rawA2, k.rawB2],
    ].map((b) => b.slice(0, tensors.length));
    const bytesOfAll = (n: number) => ps.reduce((s, p) => s + bytesOf(p, n), 0);
    let acc = op.empty(params, tensors);
    const readers: Array<ReturnType<typeof openElementReader>> = [];
    let pending: Promise<unknown> | undefined;
    try {
      for (const t of tensors) readers.push(openElementReader(t, this.files, first));
      const readAll = (at: number, i: number): Promise<unknown> => {
        const n = Math.min(step, end - at);
        const raws = buffers[i % 2]!;
        const read =
          readers.length === 1
            ? readers[0]!.read(k.view(raws[0]!, bytesOf(ps[0]!, n)))
            : Promise.all(readers.map((r, side) => r.read(k.view(raws[side]!, bytesOf(ps[side]!, n)))));
        // A read in flight is awaited later (or in `finally`); until then its failure is not unhandled.
        read.catch(() => undefined);
        return read;
      };
      pending = first < end ? readAll(first, 0) : undefined;
      for (let done = first, i = 0; done < end; done += step, i++) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, end - done);
        await pending;
        pending = undefined;
        if (done + step < end) pending = readAll(done + step, i + 1);
        const raws = buffers[i % 2]!;
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
      await pending?.catch(() => undefined); // never leave a read writing into WASM memory
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

  /**
   * The items from `i` on that lie, side by side, in ascending non-overlapping byte ranges
   * of the same files within one raw buffer, so one positional read per side fetches them
   * all: their placements (one item, possibly unplaced, when no span starts at `i`).
   */
  private span(op: AnyOp, items: JobItem[], i: number): Placement[][] {
    const first = items[i]!.tensors.map((t) => this.placement(t, items[i]!.first, items[i]!.end));
    if (first.some((p) => !p)) return [[]];
    const span = [first as Placement[]];
    let last = span[0]!;
    for (let j = i + 1; j < items.length; j++) {
      const item = items[j]!;
      if (item.tensors.length !== op.sides) break;
      const places = item.tensors.map((t) => this.placement(t, item.first, item.end));
      const fits = places.every(
        (p, side) => p && p.path === last[side]!.path && p.start >= last[side]!.end && p.end - first[side]!.start <= this.kernels.rawBytes,
      );
      if (!fits) break;
      last = places as Placement[];
      span.push(last);
    }
    return span;
  }

  /** Items read with one positional read per side; the op runs on each item's sub-range. */
  private async runSpan(op: AnyOp, items: JobItem[], places: Placement[][]): Promise<unknown[]> {
    const k = this.kernels;
    const sides = items[0]!.tensors.length;
    const bases = [k.rawA, k.rawB];
    await Promise.all(
      Array.from({ length: sides }, (_, side) => {
        const start = places[0]![side]!.start;
        const length = places[places.length - 1]![side]!.end - start;
        return readAt(this.files.get(places[0]![side]!.path), k.view(bases[side]!, length), start);
      }),
    );
    // Neighbours usually share dtypes: their pipelines and chunk view are made once.
    let ps: Pipeline[] = [];
    let view: ChunkView | undefined;
    let previous: TensorDescriptor[] | undefined;
    return items.map((item, index) => {
      this.options.signal?.throwIfAborted();
      const { first, end, tensors, params } = item;
      if (!previous || !samePipelines(previous, tensors)) {
        ps = this.pipelines(tensors);
        view = new ChunkView(k, ps, ps[0]!.kind);
        previous = tensors;
      }
      const step = this.step(op, item, ps, kernelLimit(ps, this.options.chunkElements));
      let acc = op.empty(params, tensors);
      for (let done = first; done < end; done += step) {
        const n = Math.min(step, end - done);
        const raws = ps.map((p, side) => bases[side]! + places[index]![side]!.start - places[0]![side]!.start + bytesOf(p, done - first));
        view!.set(done, n, raws);
        acc = op.chunk(acc, view!, params);
        this.options.onBytes?.(ps.reduce((s, p) => s + bytesOf(p, n), 0));
      }
      return op.result(acc, params);
    });
  }

  /**
   * Runs a column job (columns.ts): runs of items that lie side by side in ascending byte
   * ranges are read with one positional read per side, then each item is folded chunk by
   * chunk exactly as runSpan folds it, and its result packed into the job's record array.
   * Between reads only typed arrays are held, so per-item objects die young.
   */
  async runColumns(job: ColumnJob): Promise<Float64Array> {
    if (!this.madeKernels) await compileKernels();
    const op = opOf(job.op) as AnyOp;
    const k = this.kernels;
    const sides = job.paths.length;
    const count = job.numels.length;
    const out = new Float64Array(count * recordWidth(job.op));
    const files = job.paths.map((p) => this.files.get(p));
    const params: { epsilon: number } | Record<string, never> = job.op === 'compare' ? { epsilon: job.epsilon } : {};
    const bases = [k.rawA, k.rawB];
    const bytesAt = (side: number, i: number) => itemBytes(job, side, i);
    // Pipelines, chunk view and step by the items' dtypes (neighbours usually share them).
    let key = -1;
    let ps: Pipeline[] = [];
    let view: ChunkView | undefined;
    let step = 0;
    const starts = new Float64Array(sides);
    const ends = new Float64Array(sides);
    const raws: number[] = new Array(sides).fill(0);
    for (let i = 0; i < count; ) {
      // The run of items from i on whose ranges ascend without overlap within one raw buffer, per side.
      for (let s = 0; s < sides; s++) {
        starts[s] = job.offsets[s]![i]!;
        ends[s] = starts[s]! + bytesAt(s, i);
        if (ends[s]! - starts[s]! > k.rawBytes) throw new Error(`column job: item ${i} is larger than a raw buffer`);
        if (ends[s]! > files[s]!.size) throw new DiffaiError(job.paths[s], 'tensor data runs past the end of the file');
      }
      let j = i + 1;
      for (; j < count; j++) {
        let fits = true;
        for (let s = 0; s < sides && fits; s++) {
          const at = job.offsets[s]![j]!;
          const end = at + bytesAt(s, j);
          fits = at >= ends[s]! && end - starts[s]! <= k.rawBytes && end <= files[s]!.size;
        }
        if (!fits) break;
        for (let s = 0; s < sides; s++) ends[s] = job.offsets[s]![j]! + bytesAt(s, j);
      }
      await Promise.all(Array.from({ length: sides }, (_, s) => readAt(files[s]!, k.view(bases[s]!, ends[s]! - starts[s]!), starts[s]!)));
      for (let m = i; m < j; m++) {
        this.options.signal?.throwIfAborted();
        const codeA = job.dtypes[0]![m]!;
        const codeB = sides > 1 ? job.dtypes[1]![m]! : 0;
        if (codeA * 256 + codeB !== key) {
          key = codeA * 256 + codeB;
          const tensors = job.dtypes.map((d) => ({ dtype: DTYPES[d[m]!]!, byteOrder: 'little' as const }));
          ps = this.pipelines(tensors);
          view = new ChunkView(k, ps, ps[0]!.kind);
          step = this.step(op, { params, tensors: [] }, ps, kernelLimit(ps, this.options.chunkElements));
        }
        const numel = job.numels[m]!;
        if (op.record && numel > 0 && numel <= step) {
          // One chunk: the op writes the record itself (no accumulator objects per tensor).
          for (let s = 0; s < sides; s++) raws[s] = bases[s]! + job.offsets[s]![m]! - starts[s]!;
          view!.set(0, numel, raws);
          if (op.record(view!, params, out, m * recordWidth(job.op))) continue;
        }
        let acc = op.empty(params, []);
        for (let done = 0; done < numel; done += step) {
          const n = Math.min(step, numel - done);
          for (let s = 0; s < sides; s++) raws[s] = bases[s]! + job.offsets[s]![m]! - starts[s]! + bytesOf(ps[s]!, done);
          view!.set(done, n, raws);
          acc = op.chunk(acc, view!, params);
        }
        packResult(job.op, op.result(acc, params) as Parameters<typeof packResult>[1], out, m);
      }
      // Progress once per run of neighbours: the items' bytes.
      if (this.options.onBytes) {
        let bytes = 0;
        for (let m = i; m < j; m++) for (let s = 0; s < sides; s++) bytes += bytesAt(s, m);
        this.options.onBytes(bytes);
      }
      i = j;
    }
    return out;
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
