/**
 * The one budget on inflating, applied to every description before any tensor is read.
 * Deflate reaches about 1000:1, so a 100 MB file of compressed zeros asks for 100 GB of
 * inflating: minutes of work for any reader (zip .pt, .npz, MATLAB miCOMPRESSED, HDF5
 * deflate chunks). Real compressed weights inflate to about 1–2× their stored bytes, so the
 * bytes a file's tensors make the engine inflate may be at most io/inflate.ts's allowance
 * (512 MiB at any ratio, so a small file of zeros still works, plus 4 times the file's size);
 * past that the file is refused, naming the numbers, before anything is inflated.
 *
 * The work counted is what the engine will do: each tensor read from a deflate stream
 * inflates the stream from its start, so tensors sharing one stream would each pay for the
 * bytes before their own. Such a stream is inflated once into a spool file instead
 * (io/shared-streams.ts) and counts once.
 */
import { DiffaiError } from '../errors.js';
import { RandomAccessFile } from '../io/file.js';
import { inflateBudgetProblem } from '../io/inflate.js';
import { inflateToSpool } from '../io/shared-streams.js';
import { tensorTable } from './table.js';
import type { ByteSource, ModelDescription, TensorDescriptor } from './types.js';

type DeflateSource = Extract<ByteSource, { kind: 'deflate' }>;

/** Tensors reading one deflate stream, and the bytes each read inflates (from the stream's start). */
interface Stream {
  source: DeflateSource;
  uses: Array<{ tensor: TensorDescriptor; imag: boolean; bytes: number }>;
}

/**
 * Checks the description against the budget and moves tensors that share a compressed
 * stream onto one inflated copy. Returns the description to use (the same object when
 * nothing moved).
 */
export async function settleCompressedWork(d: ModelDescription): Promise<ModelDescription> {
  if (tensorTable(d)) return d; // column tables (safetensors) hold file ranges only
  const streams = new Map<string, Stream>();
  const seen = new Set<string>();
  const chunkedWork = new Map<string, number>();
  const add = (tensor: TensorDescriptor, source: ByteSource, imag: boolean) => {
    if (source.kind === 'chunked') {
      const deflateBit = source.filters.indexOf('deflate');
      if (deflateBit < 0) return;
      const key = `${source.path}\0${source.offset}`;
      if (seen.has(key)) return;
      seen.add(key);
      const chunkBytes = source.chunk.reduce((a, b) => a * b, source.elementSize);
      const inflated = source.chunks.reduce((n, c) => n + (c.mask & (1 << deflateBit) ? 0 : chunkBytes), 0);
      chunkedWork.set(source.path, (chunkedWork.get(source.path) ?? 0) + inflated);
      return;
    }
    if (source.kind !== 'deflate') return;
    const v = tensor.view;
    const read = `${source.path}\0${source.offset}\0${source.skip}\0${source.length}\0${v ? `${v.offset}:${v.strides.join(',')}` : '-'}\0${tensor.shape.join(',')}`;
    if (seen.has(read)) return; // a tie: read once
    seen.add(read);
    const key = `${source.path}\0${source.offset}\0${source.format}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { source, uses: [] }));
    s.uses.push({ tensor, imag, bytes: source.skip + source.length });
  };
  for (const t of d.tensors) {
    add(t, t.source, false);
    if (t.imagSource) add(t, t.imagSource, true);
  }
  if (streams.size === 0 && chunkedWork.size === 0) return d;

  const work = new Map(chunkedWork);
  const shared: Stream[] = [];
  for (const s of streams.values()) {
    // Shared when separate reads would inflate more than twice the stream (and 32 MiB).
    const total = s.uses.reduce((n, u) => n + u.bytes, 0);
    const once = s.uses.reduce((n, u) => Math.max(n, u.bytes), 0);
    const share = s.uses.length > 1 && total > 2 * once && total > 32 << 20;
    if (share) shared.push(s);
    work.set(s.source.path, (work.get(s.source.path) ?? 0) + (share ? once : total));
  }
  for (const [path, bytes] of work) {
    const file = RandomAccessFile.open(path);
    const size = file.size;
    file.close();
    const problem = inflateBudgetProblem(bytes, size);
    if (problem) throw new DiffaiError(path, `compressed tensor data inflates to ${bytes} bytes: ${problem}`);
  }
  if (shared.length === 0) return d;

  const moved = new Map<TensorDescriptor, TensorDescriptor>();
  for (const s of shared) {
    const bytes = s.uses.reduce((n, u) => Math.max(n, u.bytes), 0);
    const copy = await inflateToSpool(s.source, bytes);
    for (const u of s.uses) {
      const t = moved.get(u.tensor) ?? u.tensor;
      const src = (u.imag ? t.imagSource : t.source) as DeflateSource;
      const inPlace: ByteSource = { kind: 'file', path: copy, offset: src.skip, length: src.length };
      moved.set(u.tensor, u.imag ? { ...t, imagSource: inPlace } : { ...t, source: inPlace });
    }
  }
  return { ...d, tensors: d.tensors.map((t) => moved.get(t) ?? t) };
}
