/**
 * How a chunk of stored elements becomes something the two fast kernels take: byte swap
 * (big-endian), widen into scratch (f16, bf16, f8, small ints, bool → f32; 32/64-bit
 * ints → f64), widen f32 → f64 when the other side of a comparison is f64, and
 * dequantize. Each step runs in WASM on memory already there.
 */
import { dtypeInfo, type FusedStatsKernel, type KernelFamily, type WidenKernel } from '../dtypes.js';
import { storedDtype, type TensorDescriptor } from '../formats/types.js';
import type { KernelExports, Kernels } from './kernels.js';

export type Kind = KernelFamily;

type ConvertName = { [K in keyof KernelExports]: KernelExports[K] extends (s: number, d: number, n: number) => void ? K : never }[keyof KernelExports];
// Every widening the registry names must be a conversion export of the kernels.
type Assert<T extends true> = T;
export type WidenKernelsExist = Assert<WidenKernel extends ConvertName ? true : false>;

export interface Pipeline {
  /**
   * Storage geometry: `blockElements` elements in `blockBytes` bytes (1 and the element size
   * for ordinary dtypes). Chunks and ranges of block-quantized data start and end on whole
   * blocks, and the widening kernel dequantizes whole blocks.
   */
  blockElements: number;
  blockBytes: number;
  /** The kind the kernels see. */
  kind: Kind;
  swap: boolean;
  /** The conversion into scratch that runs first, and the kind it yields. */
  widen?: { kernel: WidenKernel; to: Kind };
  quantization?: { scale: number; zeroPoint: number };
  /** A stats kernel that reads the stored elements directly (bf16/f16 widened in registers). */
  fusedStats?: FusedStatsKernel;
}

/** The natural pipeline of a (real-valued) descriptor. */
export function pipelineFor(desc: Pick<TensorDescriptor, 'dtype' | 'storedAs' | 'byteOrder' | 'quantization'>): Pipeline {
  const stored = storedDtype(desc);
  const info = dtypeInfo(stored);
  const { blockElements, blockBytes } = info;
  const swap = desc.byteOrder === 'big' && blockElements === 1 && blockBytes > 1;
  const widen = info.widen;
  // Values wider than what is stored (MATLAB doubles kept as u8) are computed as the wider kind.
  const kind: Kind = desc.quantization || stored === 'f64' || desc.dtype === 'f64' ? 'f64' : (widen?.to ?? 'f32');
  const fusedStats = kind === 'f32' && !desc.quantization ? info.fusedStats : undefined;
  return {
    blockElements,
    blockBytes,
    kind,
    swap,
    widen,
    fusedStats,
    quantization: desc.quantization ? { scale: desc.quantization.scale, zeroPoint: desc.quantization.zeroPoint } : undefined,
  };
}

/** The same pipeline forced to f64 (for comparisons against an f64 side). */
export function asF64(p: Pipeline): Pipeline {
  return { ...p, kind: 'f64' };
}

/** Stored bytes of n elements (n a whole number of blocks). */
export function bytesOf(p: Pipeline, n: number): number {
  return p.blockElements === 1 ? n * p.blockBytes : (n / p.blockElements) * p.blockBytes;
}

/** Elements every chunk and range start must be a multiple of: whole blocks of every side. */
export function blockAlign(pipelines: Array<Pick<Pipeline, 'blockElements'>>): number {
  return pipelines.reduce((a, p) => lcm(a, p.blockElements), 1);
}

export function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/**
 * Most elements the kernels take at once from block-quantized data (reads stay large): a
 * dequantized f32 run this size (512 KiB) is still in cache when the stats/compare kernels
 * read it; measured 2–3× faster than 512 Ki elements (2 MiB) for Q8_0 and Q4_K.
 */
export const DEQUANT_CHUNK_ELEMENTS = 1 << 17;

/** The kernels' share of a read chunk: DEQUANT_CHUNK_ELEMENTS when a side is block-quantized. */
export function kernelLimit(pipelines: Pipeline[], limit?: number): number | undefined {
  if (!pipelines.some((p) => p.blockElements > 1)) return limit;
  return Math.min(limit ?? DEQUANT_CHUNK_ELEMENTS, DEQUANT_CHUNK_ELEMENTS);
}

/**
 * Stored bytes the kernels take per call (~1 MiB, DESIGN §4). Reads are larger (the raw
 * buffers, RAW_BYTES): each read is a round trip to libuv's thread pool, which costs more
 * than the kernel call. Chunk results (pivots, merges) depend on this size, not on the read.
 */
export const KERNEL_CHUNK_BYTES = 1 << 20;

/**
 * Elements per read, which the kernels take in sub-chunks (chunkElements, and at most
 * DEQUANT_CHUNK_ELEMENTS of block-quantized data): only the raw buffers bound it.
 */
export function readElements(k: Kernels, pipelines: Pipeline[], limit?: number): number {
  let n = Number.POSITIVE_INFINITY;
  for (const p of pipelines) n = Math.min(n, Math.floor(k.rawBytes / p.blockBytes) * p.blockElements);
  if (limit !== undefined) n = Math.max(1, Math.min(n, limit));
  const align = blockAlign(pipelines);
  return Math.max(align, n - (n % align));
}

/**
 * Elements per inline read (engine.ts ReadMode 'inline'): whole kernel chunks of `sub`
 * elements, as many as keep each side's read within KERNEL_CHUNK_BYTES (at least one), and
 * within `reach` (what the raw slots hold). 1 MiB reads, as the C loop's: each is copied into
 * this core's cache and read from there by the kernels at once.
 */
export function inlineReadElements(pipelines: Pipeline[], sub: number, reach: number): number {
  let bytes = 0;
  for (const p of pipelines) bytes = Math.max(bytes, bytesOf(p, sub));
  const chunks = Math.max(1, Math.floor(KERNEL_CHUNK_BYTES / Math.max(1, bytes)));
  return Math.max(sub, Math.min(chunks * sub, reach));
}

/** Elements per kernel chunk: ≤ KERNEL_CHUNK_BYTES stored, and its f64 widening must fit; whole blocks. */
export function chunkElements(k: Kernels, pipelines: Pipeline[], limit?: number): number {
  let n = Math.floor(k.scratchBytes / 8);
  const bytes = Math.min(k.rawBytes, KERNEL_CHUNK_BYTES);
  for (const p of pipelines) n = Math.min(n, Math.floor(bytes / p.blockBytes) * p.blockElements);
  if (limit !== undefined) n = Math.max(1, Math.min(n, limit));
  const align = blockAlign(pipelines);
  return Math.max(align, n - (n % align));
}

/**
 * Runs the pipeline on n elements already in raw memory at `raw`; returns the pointer of
 * the kernel-ready data (raw itself when nothing needed widening).
 */
export function prepare(k: Kernels, p: Pipeline, raw: number, scratch: number, n: number): number {
  if (p.swap) k.k.byteswap(raw, n, p.blockBytes);
  return convert(k, p, raw, scratch, n);
}

/** True when convert() ends with f32 → f64: the pipeline computes as f64 on values stored (or widened) as f32. */
export function needsF64Step(p: Pipeline): boolean {
  const kind: Kind = p.widen ? p.widen.to : p.blockBytes === 8 ? 'f64' : 'f32';
  return p.kind === 'f64' && kind === 'f32';
}

/** prepare() on elements already in native byte order. */
export function convert(k: Kernels, p: Pipeline, raw: number, scratch: number, n: number): number {
  const x = k.k;
  let ptr = raw;
  if (p.widen) {
    x[p.widen.kernel](raw, scratch, n);
    ptr = scratch;
  }
  if (needsF64Step(p)) {
    x.f32_to_f64(ptr, scratch, n);
    ptr = scratch;
  }
  if (p.quantization) x.affine_f64(ptr, n, p.quantization.scale, p.quantization.zeroPoint);
  return ptr;
}
