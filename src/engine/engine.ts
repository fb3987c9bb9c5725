/**
 * The engine: streams tensors chunk by chunk into WASM memory and runs the kernels. It is
 * the only code that touches WASM memory. Formats describe; the engine reads bytes.
 */
import { isComplex, type DType } from '../dtypes.js';
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

export class Engine {
  private kernels = new Kernels();
  private files = new FileCache();

  constructor(private options: EngineOptions = {}) {}

  close(): void {
    this.files.close();
  }

  /** Statistics of one tensor. */
  async stats(desc: TensorDescriptor): Promise<TensorPartials> {
    if (isComplex(desc.dtype)) {
      const [re, im] = complexParts(desc);
      const real = await this.realStats(re);
      const imag = await this.realStats(im);
      return { stats: mergeStats(real, imag), real, imag };
    }
    return { stats: await this.realStats(desc) };
  }

  /** Statistics of both tensors and their element-wise comparison, in one pass. */
  async compare(a: TensorDescriptor, b: TensorDescriptor, epsilon: number): Promise<ComparedTensors> {
    if (a.numel !== b.numel) throw new Error(`compare: ${a.name} has ${a.numel} elements, ${b.name} ${b.numel}`);
    if (isComplex(a.dtype) || isComplex(b.dtype)) {
      const partsA = isComplex(a.dtype) ? complexParts(a) : [a, undefined] as const;
      const partsB = isComplex(b.dtype) ? complexParts(b) : [b, undefined] as const;
      const real = await this.realCompare(partsA[0], partsB[0], epsilon);
      const imA = partsA[1];
      const imB = partsB[1];
      if (!imA || !imB) {
        // Complex against real: only real parts are compared; say so through dtype change upstream.
        return { a: { stats: real.a }, b: { stats: real.b }, comparison: real.comparison };
      }
      const imag = await this.realCompare(imA, imB, epsilon);
      return {
        a: { stats: mergeStats(real.a, imag.a), real: real.a, imag: imag.a },
        b: { stats: mergeStats(real.b, imag.b), real: real.b, imag: imag.b },
        comparison: mergeCompare(real.comparison, imag.comparison),
      };
    }
    const r = await this.realCompare(a, b, epsilon);
    return { a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison };
  }

  /** Statistics of elements already in memory (library use). */
  statsOfBytes(bytes: Uint8Array, dtype: DType): StatsPartial {
    const desc: TensorDescriptor = {
      name: 'array', dtype, shape: [], numel: 0, byteOrder: 'little',
      source: { kind: 'file', path: '<memory>', offset: 0, length: bytes.length },
    };
    const p = pipelineFor(desc);
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
    const ptr = prepare(k, p, raw, scratch, n);
    if (p.kind === 'f64') k.k.stats_f64(ptr, n); else k.k.stats_f32(ptr, n);
    return statsFromRecord(k.statsOut);
  }

  private async realStats(desc: TensorDescriptor): Promise<StatsPartial> {
    const k = this.kernels;
    const p = pipelineFor(desc);
    const step = chunkElements(k, [p], this.options.chunkElements);
    const reader = openElementReader(desc, this.files);
    let acc = emptyStats();
    try {
      for (let done = 0; done < desc.numel; done += step) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, desc.numel - done);
        await reader.read(k.view(k.rawA, n * p.elementSize));
        acc = mergeStats(acc, this.runStats(p, k.rawA, k.scratchA, n));
        this.options.onBytes?.(n * p.elementSize);
      }
    } finally {
      reader.close();
    }
    return acc;
  }

  private async realCompare(a: TensorDescriptor, b: TensorDescriptor, epsilon: number) {
    const k = this.kernels;
    let pa = pipelineFor(a);
    let pb = pipelineFor(b);
    if (pa.kind !== pb.kind) {
      pa = asF64(pa);
      pb = asF64(pb);
    }
    const step = chunkElements(k, [pa, pb], this.options.chunkElements);
    const readerA = openElementReader(a, this.files);
    const readerB = openElementReader(b, this.files);
    let sa = emptyStats();
    let sb = emptyStats();
    let cmp = emptyCompare();
    try {
      for (let done = 0; done < a.numel; done += step) {
        this.options.signal?.throwIfAborted();
        const n = Math.min(step, a.numel - done);
        await readerA.read(k.view(k.rawA, n * pa.elementSize));
        await readerB.read(k.view(k.rawB, n * pb.elementSize));
        const ptrA = prepare(k, pa, k.rawA, k.scratchA, n);
        const ptrB = prepare(k, pb, k.rawB, k.scratchB, n);
        const f64 = pa.kind === 'f64';
        if (f64) k.k.stats_f64(ptrA, n); else k.k.stats_f32(ptrA, n);
        sa = mergeStats(sa, statsFromRecord(k.statsOut));
        if (f64) k.k.stats_f64(ptrB, n); else k.k.stats_f32(ptrB, n);
        sb = mergeStats(sb, statsFromRecord(k.statsOut));
        if (f64) k.k.compare_f64(ptrA, ptrB, n, epsilon); else k.k.compare_f32(ptrA, ptrB, n, epsilon);
        cmp = mergeCompare(cmp, compareFromRecord(k.compareOut));
        this.options.onBytes?.(n * (pa.elementSize + pb.elementSize));
      }
    } finally {
      readerA.close();
      readerB.close();
    }
    return { a: sa, b: sb, comparison: cmp };
  }
}

/** A complex tensor as two real views (real and imaginary parts) of its interleaved storage. */
function complexParts(desc: TensorDescriptor): [TensorDescriptor, TensorDescriptor] {
  const part: DType = desc.dtype === 'c64' ? 'f32' : 'f64';
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

export function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k]!;
  }
  return strides;
}
