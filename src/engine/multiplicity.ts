/**
 * A view's elements as a multiset over its storage. Broadcast views (stride-0 dimensions,
 * `torch.zeros(1).expand(10**10)`) and overlapping views (`as_strided` windows) name far
 * more elements than they store; their statistics are exact from the stored elements and
 * how often the view names each one, without walking every logical index:
 *
 * - stride-0 dimensions multiply every element by the product of their sizes (`scaled`);
 * - what is left is read as usual when it names each stored element at most once (a dense
 *   block, a permutation of one, a strided slice);
 * - otherwise the count of every storage element is computed by one sliding-window sum per
 *   dimension, O(rank × span) work bounded by the storage the view spans (`weighted`);
 * - views too irregular for that are refused with a message, never walked for hours.
 */
import { DiffaiError } from '../errors.js';
import { dtypeInfo } from '../dtypes.js';
import { isContiguousLayout, storedDtype, type TensorDescriptor } from '../formats/types.js';
import { viewDims } from './sources.js';

/** Largest storage span (elements) whose per-element counts are computed. */
export const MAX_WEIGHTED_SPAN = 1 << 22;
/** Logical elements a gather may walk in any case (a few seconds at most). */
export const MIN_GATHER_BUDGET = 1 << 25;
/** …and more when the files are that large: this many logical elements per stored element read. */
export const GATHER_PER_STORED = 4;

export type ViewMultiset =
  /** Each element of `base` (no broadcast dimensions left) counted `weight` times. */
  | { kind: 'scaled'; base: TensorDescriptor; weight: number }
  /** Storage elements [offset, offset + weights.length), element i counted weights[i] times. */
  | { kind: 'weighted'; offset: number; weights: Float64Array };

interface Dim {
  size: number;
  stride: number;
}

/** The view's non-trivial dimensions (size > 1). */
function dimsOf(desc: TensorDescriptor): Dim[] {
  const strides = desc.view!.strides;
  return viewDims(desc)
    .map((size, k) => ({ size, stride: strides[k]! }))
    .filter((d) => d.size > 1);
}

/** True when no two logical indices of these dimensions share a storage element (sufficient test). */
function injective(dims: Dim[]): boolean {
  const sorted = [...dims].sort((x, y) => Math.abs(x.stride) - Math.abs(y.stride));
  let reach = 0; // largest offset the smaller dimensions reach
  for (const d of sorted) {
    if (Math.abs(d.stride) <= reach) return false;
    reach += (d.size - 1) * Math.abs(d.stride);
  }
  return true;
}

/**
 * The multiset of a view that repeats storage elements; undefined for views that do not
 * (read them as usual). Throws a DiffaiError for repeating views too irregular to count.
 */
export function viewMultiset(desc: TensorDescriptor): ViewMultiset | undefined {
  const view = desc.view;
  if (!view || desc.numel === 0 || isContiguousLayout(viewDims(desc), view.strides)) return undefined;
  if (dtypeInfo(storedDtype(desc)).blockElements > 1) return undefined; // block-quantized: views keep blocks whole
  const dims = dimsOf(desc);
  if (dims.some((d) => d.stride < 0)) return undefined; // no format writes these; a gather handles them
  const kept = dims.filter((d) => d.stride !== 0);
  const weight = dims.filter((d) => d.stride === 0).reduce((m, d) => m * d.size, 1);
  if (injective(kept)) {
    if (weight === 1) return undefined;
    const shape = kept.map((d) => d.size);
    return {
      kind: 'scaled',
      weight,
      base: { ...desc, shape, numel: shape.reduce((a, b) => a * b, 1), view: { offset: view.offset, strides: kept.map((d) => d.stride) } },
    };
  }
  const span = kept.reduce((s, d) => s + (d.size - 1) * d.stride, 0) + 1;
  if (span > MAX_WEIGHTED_SPAN) {
    // Too wide to count per element: a walk is still fine when it stays near the data's size.
    if (desc.numel <= gatherBudget(desc)) return undefined;
    throw new DiffaiError(
      desc.source.path,
      `tensor ${desc.name}: overlapping view (shape [${desc.shape.join(', ')}], strides [${view.strides.join(', ')}]) names ${desc.numel} elements over ${span} stored ones; more than the ${MAX_WEIGHTED_SPAN} whose repetitions diffai counts exactly`,
    );
  }
  return { kind: 'weighted', offset: view.offset, weights: multiplicities(kept, span, weight) };
}

/** How often the view names each of `span` storage elements: a sliding-window sum per dimension. */
function multiplicities(dims: Dim[], span: number, weight: number): Float64Array {
  let w = new Float64Array(span);
  w[0] = weight;
  for (const { size, stride } of dims) {
    const next = new Float64Array(span);
    // next[i] = Σ_{j<size} w[i − j·stride]: a running sum along each residue class mod stride.
    for (let r = 0; r < stride && r < span; r++) {
      let sum = 0;
      for (let i = r, j = 0; i < span; i += stride, j++) {
        sum += w[i]!;
        if (j >= size) sum -= w[i - size * stride]!;
        next[i] = sum;
      }
    }
    w = next;
  }
  return w;
}

/** Logical elements a walk over `desc` may take: `stored` defaults to the tensor's own storage. */
function gatherBudget(desc: TensorDescriptor, stored = desc.source.length / (dtypeInfo(storedDtype(desc)).bits / 8)): number {
  return Math.max(MIN_GATHER_BUDGET, GATHER_PER_STORED * stored);
}

/**
 * Refuses a non-dense view whose element-by-element walk would cost far more than reading
 * the files: `stored` is the count of stored elements the operation reads anyway.
 */
export function checkGatherWork(desc: TensorDescriptor, stored: number, what: string): void {
  if (!desc.view || isContiguousLayout(viewDims(desc), desc.view.strides)) return;
  if (desc.numel <= gatherBudget(desc, stored)) return;
  throw new DiffaiError(
    desc.source.path,
    `tensor ${desc.name}: ${what} would walk its ${desc.numel} elements one by one, but the view (shape [${desc.shape.join(', ')}], strides [${desc.view.strides.join(', ')}]) repeats its ${stored} stored elements; refused`,
  );
}
