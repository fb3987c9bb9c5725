/**
 * The per-thread engine: streams element ranges of tensors chunk by chunk into its own
 * WASM memory and runs the kernels. It is the only code that touches WASM memory; one
 * lives in the main thread and one in each worker. Orchestration (splitting, complex
 * parts, threads) is the executor's job.
 */
import type { DType } from '../dtypes.js';
import type { TensorDescriptor } from '../formats/types.js';
import { Kernels } from './kernels.js';
import {
  type ComparePartial, type StatsPartial, compareFromRecord, emptyCompare, emptyStats, mergeCompare, mergeStats, statsFromRecord,
} from './partials.js';
import { type Pipeline, asF64, chunkElements, pipelineFor, prepare } from './pipeline.js';
import { FileCache, openElementReader } from './sources.js';

export interface EngineOptions {
  /** Upper bound on elements per chunk (tests use small values to exercise merging). */
  chunkElements?: number;
  signal?: AbortSignal;
  /** Called with the number of stored bytes processed, for progress display. */
  onBytes?: (bytes: number) => void;
}

export interface CompareRangeResult {
  a: StatsPartial;
  b: StatsPartial;
  comparison: ComparePartial;
}

export class Engine {
  private kernels = new Kernels();
  private files = new FileCache();

  constructor(private options: EngineOptions = {}) {}

  close(): void {
    this.files.close();
  }

  /** Statistics of logical elements [first, end) of a real-valued tensor. */
  async statsRange(desc: TensorDescriptor, first = 0, end = desc.numel): Promise<StatsPartial> {
    const k = this.kernels;
    const p = pipelineFor(desc);
    const step = chunkElements(k, [p], this.options.chunkElements);
    const reader = openElementReader(desc, this.files, first);
    const buffers = [k.rawA, k.rawA2] as const;
    let acc = emptyStats();
    // Double buffering: chunk i+1 is being read while the kernels run on chunk i.
    let pending: Promise<void> | undefined;
    try {
      pending = first < end ? reader.read(k.view(buffers[0], Math.min(step, end - first) * p.elementSize)) : undefined;
      for (let done = first, i = 0; done < end; done += step, i++) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, end - done);
        await pending;
        pending = undefined;
        const next = done + step;
        if (next < end) pending = reader.read(k.view(buffers[(i + 1) % 2]!, Math.min(step, end - next) * p.elementSize));
        acc = mergeStats(acc, this.runStats(p, buffers[i % 2]!, k.scratchA, n));
        this.options.onBytes?.(n * p.elementSize);
      }
    } finally {
      await pending?.catch(() => undefined); // never leave a read writing into WASM memory
      reader.close();
    }
    return acc;
  }

  /** Statistics of both tensors and their element-wise comparison over [first, end), in one pass. */
  async compareRange(a: TensorDescriptor, b: TensorDescriptor, epsilon: number, first = 0, end = a.numel): Promise<CompareRangeResult> {
    const k = this.kernels;
    let pa = pipelineFor(a);
    let pb = pipelineFor(b);
    if (pa.kind !== pb.kind) {
      pa = asF64(pa);
      pb = asF64(pb);
    }
    const f64 = pa.kind === 'f64';
    const step = chunkElements(k, [pa, pb], this.options.chunkElements);
    const readerA = openElementReader(a, this.files, first);
    const readerB = openElementReader(b, this.files, first);
    let sa = emptyStats();
    let sb = emptyStats();
    let cmp = emptyCompare();
    const buffersA = [k.rawA, k.rawA2] as const;
    const buffersB = [k.rawB, k.rawB2] as const;
    const readBoth = (at: number, i: number) => {
      const n = Math.min(step, end - at);
      return Promise.all([
        readerA.read(k.view(buffersA[i % 2]!, n * pa.elementSize)),
        readerB.read(k.view(buffersB[i % 2]!, n * pb.elementSize)),
      ]);
    };
    // Double buffering: chunk i+1 of both sides is being read while the kernels run on chunk i.
    let pending: Promise<unknown> | undefined;
    try {
      pending = first < end ? readBoth(first, 0) : undefined;
      for (let done = first, i = 0; done < end; done += step, i++) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, end - done);
        await pending;
        pending = undefined;
        if (done + step < end) pending = readBoth(done + step, i + 1);
        const ptrA = prepare(k, pa, buffersA[i % 2]!, k.scratchA, n);
        const ptrB = prepare(k, pb, buffersB[i % 2]!, k.scratchB, n);
        if (f64) k.k.stats_f64(ptrA, n); else k.k.stats_f32(ptrA, n);
        sa = mergeStats(sa, statsFromRecord(k.statsOut));
        if (f64) k.k.stats_f64(ptrB, n); else k.k.stats_f32(ptrB, n);
        sb = mergeStats(sb, statsFromRecord(k.statsOut));
        if (f64) k.k.compare_f64(ptrA, ptrB, n, epsilon); else k.k.compare_f32(ptrA, ptrB, n, epsilon);
        cmp = mergeCompare(cmp, compareFromRecord(k.compareOut));
        this.options.onBytes?.(n * (pa.elementSize + pb.elementSize));
      }
    } finally {
      await pending?.catch(() => undefined); // never leave a read writing into WASM memory
      readerA.close();
      readerB.close();
    }
    return { a: sa, b: sb, comparison: cmp };
  }

  /**
   * Indexes of the all-zero rows (consecutive runs of `rowLength` logical elements) of a
   * real-valued tensor, in one streaming pass: each row's zero count comes from the stats
   * kernel run on its slice of the chunk already in WASM memory.
   */
  async zeroRows(desc: TensorDescriptor, rowLength: number): Promise<number[]> {
    const k = this.kernels;
    const p = pipelineFor(desc);
    const step = chunkElements(k, [p], this.options.chunkElements);
    // Chunks hold whole rows when rows fit; longer rows are followed across chunks.
    const chunk = rowLength <= step ? Math.floor(step / rowLength) * rowLength : step;
    const width = p.kind === 'f64' ? 8 : 4;
    const reader = openElementReader(desc, this.files, 0);
    const rows: number[] = [];
    let row = 0;
    let inRow = 0;
    let zerosInRow = 0;
    try {
      for (let done = 0; done < desc.numel; done += chunk) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(chunk, desc.numel - done);
        await reader.read(k.view(k.rawA, n * p.elementSize));
        const ptr = prepare(k, p, k.rawA, k.scratchA, n);
        for (let at = 0; at < n; ) {
          const length = Math.min(rowLength - inRow, n - at);
          if (p.kind === 'f64') k.k.stats_f64(ptr + at * width, length); else k.k.stats_f32(ptr + at * width, length);
          zerosInRow += k.statsOut[8]!;
          inRow += length;
          at += length;
          if (inRow === rowLength) {
            if (zerosInRow === rowLength) rows.push(row);
            row++;
            inRow = 0;
            zerosInRow = 0;
          }
        }
      }
    } finally {
      reader.close();
    }
    return rows;
  }

  /**
   * For each grid (origin, step), the largest distance of the tensor's finite values from
   * it, in steps: 0 when every value sits on the grid. One streaming pass for all grids.
   */
  async gridResiduals(desc: TensorDescriptor, grids: Array<{ origin: number; step: number }>): Promise<number[]> {
    const k = this.kernels;
    const p = pipelineFor(desc);
    const step = chunkElements(k, [p], this.options.chunkElements);
    const reader = openElementReader(desc, this.files, 0);
    const worst = grids.map(() => 0);
    try {
      for (let done = 0; done < desc.numel; done += step) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, desc.numel - done);
        await reader.read(k.view(k.rawA, n * p.elementSize));
        const ptr = prepare(k, p, k.rawA, k.scratchA, n);
        grids.forEach((g, i) => {
          const r = p.kind === 'f64' ? k.k.grid_residual_f64(ptr, n, g.origin, 1 / g.step) : k.k.grid_residual_f32(ptr, n, g.origin, 1 / g.step);
          worst[i] = Math.max(worst[i]!, r);
        });
      }
    } finally {
      reader.close();
    }
    return worst;
  }

  /** Statistics of elements already in memory (library use). */
  statsOfBytes(bytes: Uint8Array, dtype: DType): StatsPartial {
    const p = pipelineFor({ dtype, byteOrder: 'little' });
    const k = this.kernels;
    const total = Math.floor(bytes.length / p.elementSize);
    const step = chunkElements(k, [p], this.options.chunkElements);
    let acc = emptyStats();
    for (let done = 0; done < total; done += step) {
      const n = Math.min(step, total - done);
      k.bytes.set(bytes.subarray(done * p.elementSize, (done + n) * p.elementSize), k.rawA);
      acc = mergeStats(acc, this.runStats(p, k.rawA, k.scratchA, n));
    }
    return acc;
  }

  private runStats(p: Pipeline, raw: number, scratch: number, n: number): StatsPartial {
    const k = this.kernels;
    if (p.fusedStats) {
      if (p.swap) k.k.byteswap(raw, n, p.elementSize);
      k.k[p.fusedStats](raw, n, scratch);
    } else {
      const ptr = prepare(k, p, raw, scratch, n);
      if (p.kind === 'f64') k.k.stats_f64(ptr, n); else k.k.stats_f32(ptr, n);
    }
    return statsFromRecord(k.statsOut);
  }
}
