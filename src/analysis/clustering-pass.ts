/**
 * The engine work behind --clustering-change, per pair of models: the rows of one layer
 * (embedding rows, or neuron/filter weight vectors: slices along the first dimension) are
 * clustered by seeded k-means in A and in B, and the two assignments of the same rows
 * compared (adjusted Rand index, NMI). A seeded sample of at most CLUSTER_MAX_ROWS rows and
 * CLUSTER_MAX_ELEMENTS values per side is gathered from the stream; nothing else is held.
 */
import { isFloat } from '../dtypes.js';
import { nameFilter, type DiffOptions } from '../diff/differ.js';
import type { Executor } from '../engine/executor.js';
import { DiffaiError } from '../errors.js';
import type { TensorDescriptor } from '../formats/types.js';
import { modelViewOf } from '../model/view.js';
import { DEFAULT_CLUSTERS, adjustedRandIndex, kMeans, normalizedMutualInformation, type KMeansResult } from './clusters.js';
import type { ClusteringResult, ClusteringSide } from './embedding-data.js';
import { embeddingLayout } from './embeddings.js';
import { SAMPLE_SEED, sampleIndices } from './sampling.js';
import type { PairData } from './types.js';

/** Rows clustered at most, and values per side at most (2^21 f64 = 16 MiB). */
export const CLUSTER_MAX_ROWS = 4096;
export const CLUSTER_MAX_ELEMENTS = 2 ** 21;

export async function clusteringPass(pairs: PairData[], executor: Executor, options: DiffOptions): Promise<Map<number, ClusteringResult>> {
  const out = new Map<number, ClusteringResult>();
  for (let k = 0; k < pairs.length; k++) out.set(k, await clusterPair(pairs[k]!, executor, options));
  return out;
}

interface Chosen {
  name: string;
  a: TensorDescriptor;
  b: TensorDescriptor;
  by: string;
}

function weightMatrix(d: TensorDescriptor | undefined): d is TensorDescriptor {
  return d !== undefined && d.shape.length >= 2 && isFloat(d.dtype) && d.numel > 0;
}

function sameShape(a: TensorDescriptor, b: TensorDescriptor): boolean {
  return a.shape.join() === b.shape.join();
}

/** The layer to cluster, or why there is none. */
function chooseLayer(p: PairData, options: DiffOptions, k: number): Chosen | string {
  const o = options.clustering ?? {};
  const va = modelViewOf(p.a);
  const vb = modelViewOf(p.b);
  const param = (v: typeof va, name: string) => {
    const e = v.entries.get(name);
    return e?.role === 'parameter' ? e.descriptor : undefined;
  };
  if (o.layer !== undefined) {
    const name = [o.layer, `${o.layer}.weight`].find((n) => va.entries.has(n) || vb.entries.has(n));
    if (name === undefined)
      throw new DiffaiError(
        undefined,
        `--cluster-layer: no tensor named ${JSON.stringify(o.layer)} (or ${JSON.stringify(`${o.layer}.weight`)}) in either model`,
      );
    const [a, b] = [param(va, name), param(vb, name)];
    if (!a || !b) return `${name} is not a parameter of both models`;
    if (!weightMatrix(a) || !weightMatrix(b)) return `${name} is not a floating-point weight of 2+ dimensions`;
    if (!sameShape(a, b)) return `${name} has shape [${a.shape.join(', ')}] in A and [${b.shape.join(', ')}] in B`;
    return { name, a, b, by: 'option' };
  }
  const keep = nameFilter(options);
  const token = embeddingLayout(p.a, p.b).matrices.find(
    (m) => keep(m.name) && m.kind === 'token' && m.a && m.b && sameShape(m.a, m.b) && m.a.shape[0]! >= 2 * k,
  );
  if (token) return { name: token.name, a: token.a!, b: token.b!, by: 'embedding' };
  let best: Chosen | undefined;
  for (const [name] of va.entries) {
    const [a, b] = [param(va, name), param(vb, name)];
    if (!keep(name) || !weightMatrix(a) || !weightMatrix(b) || !sameShape(a, b) || a.shape[0]! < 2 * k) continue;
    if (va.entries.get(name)?.tiedTo !== undefined) continue;
    if (!best || a.numel > best.a.numel) best = { name, a, b, by: 'largest_weight' };
  }
  return best ?? `no floating-point weight of 2+ dimensions with at least ${2 * k} rows (2·k) in both models`;
}

async function clusterPair(p: PairData, executor: Executor, options: DiffOptions): Promise<ClusteringResult> {
  const k = options.clustering?.clusters ?? DEFAULT_CLUSTERS;
  const chosen = chooseLayer(p, options, k);
  if (typeof chosen === 'string') return { applicable: false, reason: chosen };
  const rows = chosen.a.shape[0]!;
  const rowLength = chosen.a.numel / rows;
  const size = Math.min(rows, CLUSTER_MAX_ROWS, Math.floor(CLUSTER_MAX_ELEMENTS / rowLength));
  if (size < 2 * k)
    return { applicable: false, reason: `${chosen.name}: rows of ${rowLength} values leave ${size} rows in the sample bound, fewer than 2·k = ${2 * k}` };
  const picked = sampleIndices(rows, size, SAMPLE_SEED);
  const xa = await executor.run('rowGather', [chosen.a], { rows: picked, rowLength });
  const xb = await executor.run('rowGather', [chosen.b], { rows: picked, rowLength });
  // Rows with NaN/Inf on either side have no place in a distance: left out of both.
  const keep: number[] = [];
  for (let r = 0; r < picked.length; r++) {
    let ok = true;
    for (let j = 0; j < rowLength && ok; j++) ok = Number.isFinite(xa[r * rowLength + j]!) && Number.isFinite(xb[r * rowLength + j]!);
    if (ok) keep.push(r);
  }
  if (keep.length < 2 * k) return { applicable: false, reason: `${chosen.name}: ${keep.length} finite rows sampled, fewer than 2·k = ${2 * k}` };
  const pack = (x: Float64Array) => {
    if (keep.length === picked.length) return x;
    const out = new Float64Array(keep.length * rowLength);
    for (const [i, r] of keep.entries()) out.set(x.subarray(r * rowLength, (r + 1) * rowLength), i * rowLength);
    return out;
  };
  const ka = kMeans(pack(xa), keep.length, rowLength, k, SAMPLE_SEED);
  const kb = kMeans(pack(xb), keep.length, rowLength, k, SAMPLE_SEED);
  return {
    applicable: true,
    layer: chosen.name,
    chosen_by: chosen.by,
    rows,
    row_length: rowLength,
    sample: { size: keep.length, sampled: size < rows, seed: SAMPLE_SEED, dropped_non_finite: picked.length - keep.length },
    k,
    adjusted_rand_index: adjustedRandIndex(ka.labels, kb.labels),
    normalized_mutual_info: normalizedMutualInformation(ka.labels, kb.labels),
    model_a: side(ka, k),
    model_b: side(kb, k),
  };
}

function side(r: KMeansResult, k: number): ClusteringSide {
  const sizes = new Array<number>(k).fill(0);
  for (const l of r.labels) sizes[l]!++;
  return { inertia: r.inertia, iterations: r.iterations, converged: r.converged, sizes: sizes.sort((x, y) => y - x) };
}
