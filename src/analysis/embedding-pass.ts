/**
 * The engine work behind --embedding-analysis, per pair of models: for every embedding
 * matrix both sides hold with the same shape,
 *  - per-row cosine, norms and relative change in one streaming pass (the engine's rowCompare);
 *  - k-nearest-neighbour overlap: a seeded sample of query rows (KNN_QUERIES) is gathered,
 *    and each query's cosine neighbours among all rows are found with the engine's matvec
 *    (Y = W·X, 16 queries per pass over A and over B);
 *  - orthogonal Procrustes (Schönemann 1966; as Hamilton et al. 2016 align embeddings): the
 *    rows used (all, or a seeded sample of max(2·dim, PROCRUSTES_MAX_ELEMENTS/dim) rows)
 *    are gathered, AᵀB accumulated row by row, R = U·Vᵀ for the SVD AᵀB = UΣVᵀ (d ≤ PROCRUSTES_MAX_DIM),
 *    and the residual and per-row cosines measured after the rotation.
 * Memory: the per-row columns (a few f64 per row), one 16-column block per matvec pass, and
 * the gathered sample; never a whole matrix beyond those bounds.
 */
import { nameFilter, type DiffOptions } from '../diff/differ.js';
import type { Executor } from '../engine/executor.js';
import type { RowComparison } from '../engine/ops/row-compare.js';
import type { TensorDescriptor } from '../formats/types.js';
import type { EmbeddingData, EmbeddingMatrixDrift, EmbeddingResult, NeighbourOverlap, ProcrustesDrift, RowDrift } from './embedding-data.js';
import { embeddingLayout, type EmbeddingMatrix } from './embeddings.js';
import { procrustes } from './orthogonal.js';
import { SAMPLE_SEED, sampleIndices } from './sampling.js';
import { tokenStrings } from './tokenizer.js';
import type { PairData } from './types.js';

/** Rows listed as most drifted. */
export const MOST_DRIFTED = 10;
/** Neighbours per row, and query rows at most (a seeded sample beyond). */
export const KNN_K = 10;
export const KNN_QUERIES = 256;
/** Procrustes: the d×d decomposition runs for d up to this (GPT-2, BERT-base; ~5 s of CPU at 768 here). */
export const PROCRUSTES_MAX_DIM = 768;
/**
 * Procrustes: rows gathered per side — all of them, or a seeded sample of max(2·dim, 2^20/dim)
 * rows (at most 2^20 f64 = 8 MiB per side for dim ≤ 724, 2·dim rows above): the fit and the
 * residual cost rows·dim² each in JavaScript.
 */
export const PROCRUSTES_MAX_ELEMENTS = 2 ** 20;
/** Rows listed as most drifted after the rotation. */
const MOST_DRIFTED_ALIGNED = 5;
/** Queries per matvec pass (the engine's block limit). */
const BLOCK = 16;

export async function embeddingPass(pairs: PairData[], executor: Executor, options: DiffOptions): Promise<Map<number, EmbeddingResult>> {
  const out = new Map<number, EmbeddingResult>();
  for (let k = 0; k < pairs.length; k++) out.set(k, await analyzePair(pairs[k]!, executor, nameFilter(options)));
  return out;
}

async function analyzePair(p: PairData, executor: Executor, keep: (name: string) => boolean): Promise<EmbeddingResult> {
  const layout = embeddingLayout(p.a, p.b);
  layout.matrices = layout.matrices.filter((m) => keep(m.name));
  if (layout.matrices.length === 0) {
    return { applicable: false, reason: 'no embedding matrices (2-D parameters named wte, wpe, embed_tokens, word_embeddings, tok_emb, …)' };
  }
  const matrices: EmbeddingMatrixDrift[] = [];
  for (const m of layout.matrices) matrices.push(await analyzeMatrix(m, executor));
  // Token strings for the rows listed, from the tokenizer beside B, else beside A.
  const ids = new Set<number>();
  for (const drift of matrices)
    if (drift.kind === 'token' || drift.kind === 'lm_head')
      for (const r of [...(drift.most_drifted ?? []), ...(drift.procrustes?.most_drifted_aligned ?? [])]) ids.add(r.row);
  let lookup = tokenStrings(p.b.path, ids);
  if (lookup.path === undefined) lookup = tokenStrings(p.a.path, ids);
  for (const drift of matrices) {
    if (drift.kind !== 'token' && drift.kind !== 'lm_head') continue;
    for (const r of [...(drift.most_drifted ?? []), ...(drift.procrustes?.most_drifted_aligned ?? [])]) {
      const token = lookup.tokens.get(r.row);
      if (token !== undefined) r.token = token;
    }
  }
  const data: EmbeddingData = {
    applicable: true,
    matrices,
    tie: layout.tie ?? null,
    head_vs_embedding_b: await headAgainstEmbedding(p, layout.tie, executor),
    tokenizer: lookup.path === undefined ? null : { path: lookup.path, ...(lookup.warning ? { warning: lookup.warning } : {}) },
  };
  return data;
}

/** B's own LM head against B's token embedding, when B keeps them apart. */
async function headAgainstEmbedding(p: PairData, tie: EmbeddingData['tie'] | undefined, executor: Executor): Promise<EmbeddingData['head_vs_embedding_b']> {
  if (!tie || tie.tied_b) return null;
  const head = p.b.tensors.find((t) => t.name === tie.head);
  const emb = p.b.tensors.find((t) => t.name === tie.embedding);
  if (!head || !emb || head.shape.join() !== emb.shape.join()) return null;
  const rows = await executor.rowCompare(emb, head);
  const cos = rowCosines(rows);
  return { min_row_cosine: cos.min, mean_row_cosine: cos.mean, rows_differing: cos.changed };
}

function shapeOf(d: TensorDescriptor | undefined): number[] | null {
  return d ? [...d.shape] : null;
}

async function analyzeMatrix(m: EmbeddingMatrix, executor: Executor): Promise<EmbeddingMatrixDrift> {
  const base = { name: m.name, kind: m.kind, shape_a: shapeOf(m.a), shape_b: shapeOf(m.b) };
  if (!m.a || !m.b) return { ...base, compared: false, reason: m.a ? 'only in A' : 'only in B' };
  if (m.a.shape.join() !== m.b.shape.join()) return { ...base, compared: false, reason: 'shapes differ (resized vocabulary?)' };
  const [n, d] = [m.a.shape[0]!, m.a.shape[1]!];
  const rows = await executor.rowCompare(m.a, m.b);
  const cos = rowCosines(rows);
  let sumA = 0,
    sumB = 0,
    sumAbs = 0,
    maxAbs = 0,
    maxRel: number | null = null,
    nonFinite = 0;
  for (let i = 0; i < n; i++) {
    sumA += rows.normA[i]!;
    sumB += rows.normB[i]!;
    const dn = Math.abs(rows.normB[i]! - rows.normA[i]!);
    sumAbs += dn;
    maxAbs = Math.max(maxAbs, dn);
    const rel = rows.relChange[i]!;
    if (!Number.isNaN(rel)) maxRel = Math.max(maxRel ?? 0, rel);
    if (rows.pairs[i]! < d) nonFinite++;
  }
  const drift: EmbeddingMatrixDrift = {
    ...base,
    compared: true,
    rows: n,
    dim: d,
    rows_changed: cos.changed,
    min_row_cosine: cos.min,
    mean_row_cosine: cos.mean,
    undefined_cosine_rows: cos.undefinedRows,
    non_finite_rows: nonFinite,
    mean_norm_a: sumA / n,
    mean_norm_b: sumB / n,
    mean_abs_norm_change: sumAbs / n,
    max_abs_norm_change: maxAbs,
    max_row_rel_change: maxRel,
    most_drifted: mostDrifted(rows, cos.values, MOST_DRIFTED),
  };
  const valid = (i: number, side: 'a' | 'b') => rows.pairs[i] === d && (side === 'a' ? rows.normA[i]! : rows.normB[i]!) > 0;
  if (n <= KNN_K) drift.knn_skipped = `${n} rows: k-nearest neighbours need more than k=${KNN_K}`;
  else drift.knn = await neighbourOverlap(m.a, m.b, n, d, rows, valid, executor);
  if (d > PROCRUSTES_MAX_DIM) drift.procrustes_skipped = `dimension ${d} > ${PROCRUSTES_MAX_DIM}: the d×d decomposition is not computed`;
  else drift.procrustes = await procrustesDrift(m.a, m.b, n, d, rows, executor);
  return drift;
}

interface Cosines {
  /** Per row: 1 for identical rows, the engine's cosine otherwise (NaN when a norm is 0). */
  values: Float64Array;
  min: number | null;
  mean: number | null;
  changed: number;
  undefinedRows: number;
}

function rowCosines(rows: RowComparison): Cosines {
  const n = rows.cosine.length;
  const values = new Float64Array(n);
  let min = Infinity,
    sum = 0,
    count = 0,
    changed = 0,
    undefinedRows = 0;
  for (let i = 0; i < n; i++) {
    // An identical row has cosine exactly 1 (Σab/(‖a‖‖b‖) may round to 1 − 2^-53).
    const same = rows.diffNorm[i] === 0 && rows.mismatched[i] === 0;
    if (!same) changed++;
    const c = same && rows.normA[i]! > 0 ? 1 : rows.cosine[i]!;
    values[i] = c;
    if (Number.isNaN(c)) {
      undefinedRows++;
      continue;
    }
    min = Math.min(min, c);
    sum += c;
    count++;
  }
  return { values, min: count > 0 ? min : null, mean: count > 0 ? sum / count : null, changed, undefinedRows };
}

function rowDrift(rows: RowComparison, i: number, cosine: number): RowDrift {
  const rel = rows.relChange[i]!;
  return {
    row: i,
    cosine: Number.isNaN(cosine) ? null : cosine,
    rel_change: Number.isNaN(rel) ? null : rel,
    norm_a: rows.normA[i]!,
    norm_b: rows.normB[i]!,
  };
}

/** The `count` rows with the lowest cosine (a changed row without a cosine first), ties by row. */
function mostDrifted(rows: RowComparison, cos: Float64Array, count: number): RowDrift[] {
  const key = (i: number) => (Number.isNaN(cos[i]!) ? (rows.diffNorm[i] === 0 && rows.mismatched[i] === 0 ? Infinity : -Infinity) : cos[i]!);
  const changed: number[] = [];
  for (let i = 0; i < cos.length; i++) if (rows.diffNorm[i]! > 0 || rows.mismatched[i]! > 0 || Number.isNaN(rows.diffNorm[i]!)) changed.push(i);
  changed.sort((x, y) => key(x) - key(y) || x - y);
  return changed.slice(0, count).map((i) => rowDrift(rows, i, cos[i]!));
}

/** Indexes of the k largest scores (NaN never), ties by lower index, excluding `self`. */
function topK(scores: Float64Array, k: number, self: number, allowed: (i: number) => boolean): number[] {
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (i === self || Number.isNaN(s) || !allowed(i)) continue;
    if (best.length === k && s <= scores[best[k - 1]!]!) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && scores[best[at - 1]!]! < s) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

async function neighbourOverlap(
  a: TensorDescriptor,
  b: TensorDescriptor,
  n: number,
  d: number,
  rows: RowComparison,
  valid: (i: number, side: 'a' | 'b') => boolean,
  executor: Executor,
): Promise<NeighbourOverlap | null> {
  const candidates = Array.from({ length: n }, (_, i) => i).filter((i) => valid(i, 'a') && valid(i, 'b'));
  const pool = candidates.length <= KNN_QUERIES ? candidates : sampleIndices(candidates.length, KNN_QUERIES, SAMPLE_SEED).map((j) => candidates[j]!);
  if (pool.length === 0) return null;
  const overlaps: number[] = [];
  const qa = await executor.run('rowGather', [a], { rows: pool, rowLength: d });
  const qb = await executor.run('rowGather', [b], { rows: pool, rowLength: d });
  for (let start = 0; start < pool.length; start += BLOCK) {
    const block = pool.slice(start, start + BLOCK);
    const kk = block.length;
    const neighbours = async (w: TensorDescriptor, q: Float64Array, norms: Float64Array, side: 'a' | 'b') => {
      const x = new Float64Array(d * kk);
      for (let c = 0; c < kk; c++) for (let j = 0; j < d; j++) x[j * kk + c] = q[(start + c) * d + j]!;
      const y = await executor.matvec(w, x, kk);
      const scores = new Float64Array(n);
      return block.map((row, c) => {
        for (let i = 0; i < n; i++) scores[i] = norms[i]! > 0 ? y[i * kk + c]! / norms[i]! : NaN;
        return topK(scores, KNN_K, row, (i) => valid(i, side));
      });
    };
    const na = await neighbours(a, qa, rows.normA, 'a');
    const nb = await neighbours(b, qb, rows.normB, 'b');
    for (let c = 0; c < kk; c++) {
      const inB = new Set(nb[c]);
      overlaps.push(na[c]!.filter((i) => inB.has(i)).length / KNN_K);
    }
  }
  let candA = 0,
    candB = 0;
  for (let i = 0; i < n; i++) {
    if (valid(i, 'a')) candA++;
    if (valid(i, 'b')) candB++;
  }
  return {
    k: KNN_K,
    queries: pool.length,
    sampled: pool.length < candidates.length,
    seed: SAMPLE_SEED,
    candidates_a: candA,
    candidates_b: candB,
    mean: overlaps.reduce((s, v) => s + v, 0) / overlaps.length,
    min: Math.min(...overlaps),
  };
}

async function procrustesDrift(
  a: TensorDescriptor,
  b: TensorDescriptor,
  n: number,
  d: number,
  rows: RowComparison,
  executor: Executor,
): Promise<ProcrustesDrift | null> {
  const finite = Array.from({ length: n }, (_, i) => i).filter((i) => rows.pairs[i] === d);
  const limit = Math.max(2 * d, Math.floor(PROCRUSTES_MAX_ELEMENTS / d));
  const used = finite.length <= limit ? finite : sampleIndices(finite.length, limit, SAMPLE_SEED).map((j) => finite[j]!);
  if (used.length === 0) return null;
  const xa = await executor.run('rowGather', [a], { rows: used, rowLength: d });
  const xb = await executor.run('rowGather', [b], { rows: used, rowLength: d });
  // AᵀB accumulated row by row: M[j][k] += a_j·b_k.
  const m = new Float64Array(d * d);
  let sqB = 0,
    sqDiff = 0;
  for (let r = 0; r < used.length; r++) {
    const o = r * d;
    for (let j = 0; j < d; j++) {
      const aj = xa[o + j]!;
      const bj = xb[o + j]!;
      sqB += bj * bj;
      sqDiff += (aj - bj) ** 2;
      if (aj === 0) continue;
      const mo = j * d;
      for (let k = 0; k < d; k++) m[mo + k] += aj * xb[o + k]!;
    }
  }
  const normB = Math.sqrt(sqB);
  if (sqDiff === 0) {
    // Nothing moved: R = I fits exactly, and no row drifted after it.
    const same = { residual_before: 0, residual_after: 0, rotation_share: null, mean_aligned_cosine: 1, min_aligned_cosine: 1, most_drifted_aligned: [] };
    return { rows_used: used.length, sampled: used.length < finite.length, seed: SAMPLE_SEED, ...same };
  }
  const { r: rot } = procrustes(m, d);
  // After the rotation: a·R per row, its distance from b and its cosine with b.
  const aligned = new Float64Array(d);
  const cosines = new Float64Array(used.length);
  let sqAfter = 0,
    cosSum = 0,
    cosMin = Infinity;
  for (let r = 0; r < used.length; r++) {
    const o = r * d;
    aligned.fill(0);
    for (let j = 0; j < d; j++) {
      const aj = xa[o + j]!;
      if (aj === 0) continue;
      const ro = j * d;
      for (let k = 0; k < d; k++) aligned[k] += aj * rot[ro + k]!;
    }
    let dot = 0,
      na = 0,
      nb = 0;
    for (let k = 0; k < d; k++) {
      const bk = xb[o + k]!;
      sqAfter += (aligned[k]! - bk) ** 2;
      dot += aligned[k]! * bk;
      na += aligned[k]! ** 2;
      nb += bk * bk;
    }
    const c = na > 0 && nb > 0 ? Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))) : NaN;
    cosines[r] = c;
    if (!Number.isNaN(c)) {
      cosSum += c;
      cosMin = Math.min(cosMin, c);
    }
  }
  const order = Array.from(used.keys())
    .filter((r) => !Number.isNaN(cosines[r]!))
    .sort((x, y) => cosines[x]! - cosines[y]! || x - y);
  const counted = order.length;
  return {
    rows_used: used.length,
    sampled: used.length < finite.length,
    seed: SAMPLE_SEED,
    residual_before: normB > 0 ? Math.sqrt(sqDiff) / normB : 0,
    residual_after: normB > 0 ? Math.sqrt(sqAfter) / normB : 0,
    rotation_share: sqDiff > 0 ? 1 - sqAfter / sqDiff : null,
    mean_aligned_cosine: counted > 0 ? cosSum / counted : null,
    min_aligned_cosine: counted > 0 ? cosMin : null,
    most_drifted_aligned: order.slice(0, MOST_DRIFTED_ALIGNED).map((r) => rowDrift(rows, used[r]!, cosines[r]!)),
  };
}
