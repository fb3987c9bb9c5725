/**
 * The `attentionHeads` pass: per attention layer and head of A and B, the query–key circuit
 * W_QKʰ = W_Qʰᵀ W_Kʰ and the output–value circuit W_OVʰ = W_Oʰ W_Vʰ (Elhage et al. 2021),
 * measured through their d_head-row factors (src/analysis/linalg.ts): singular values (so
 * Frobenius and spectral norms), the norm of their change A → B, and the similarity of the
 * top singular subspaces of W_QKʰ (Hu et al. 2021's φ). Serves --attention-analysis,
 * --head-importance and --attention-pattern-diff.
 *
 * Working set: one layer at a time, and within it two projections of each side (Q and K,
 * then V and O; a fused tensor once) in float64, plus per-head factors of d_head × d_model. A
 * layer whose phase would hold more than LAYER_BUDGET_BYTES (both sides) is skipped with the
 * reason.
 */
import { nameFilter, type DiffOptions } from '../diff/differ.js';
import type { Executor } from '../engine/executor.js';
import type { ModelDescription } from '../formats/types.js';
import { attentionLayout, type ProjectionSpec, type ResolvedLayer } from './attention-layout.js';
import {
  equalValues,
  frobenius,
  mat,
  numericalRank,
  productSvdOfQR,
  qrOfRows,
  rowBlock,
  stackRows,
  subspaceSimilarity,
  subtract,
  svdByGram,
  transpose,
  mulABt,
  type Mat,
  type QR,
} from './linalg.js';
import type { PairData, PassOutputs } from './types.js';
import type { AttentionHeads, CircuitNorms, HeadMeasure, KeyBiasMeasure, LayerMeasure } from './attention-types.js';

export type { AttentionHeads, CircuitNorms, HeadMeasure, KeyBiasMeasure, LayerMeasure };

/** Float64 bytes one layer's two projections of both sides may take. */
export const LAYER_BUDGET_BYTES = 1024 * 1024 * 1024;

/** Singular directions of W_QKʰ compared by the pattern diff: min(8, ⌈d_head / 2⌉). */
export function patternRank(dHead: number): number {
  return Math.min(8, Math.ceil(dHead / 2));
}

export async function measureAttention(p: PairData, executor: Executor, options: DiffOptions): Promise<AttentionHeads> {
  const heads = { numHeads: options.numHeads, numKvHeads: options.numKvHeads };
  const la = attentionLayout(p.a, heads);
  const lb = attentionLayout(p.b, heads);
  if (la.kind === 'none' && lb.kind === 'none')
    return { applicable: false, reason: 'no attention layers (q/k/v/o projections, c_attn, query/key/value or in_proj_weight)' };
  for (const [l, m] of [
    [la, p.a],
    [lb, p.b],
  ] as const) {
    if (l.kind === 'none') return { applicable: false, reason: `no attention layers in ${m.path}` };
    if (l.kind === 'unresolved') return { applicable: false, reason: l.reason };
  }
  if (la.kind !== 'resolved' || lb.kind !== 'resolved') throw new Error('unreachable');
  const keep = nameFilter(options);
  const byName = new Map(lb.layers.map((l) => [l.name, l]));
  const skipped: Array<{ layer: string; reason: string }> = [];
  const layers: LayerMeasure[] = [];
  let workingSetBytes = 0;
  for (const a of la.layers) {
    const b = byName.get(a.name);
    byName.delete(a.name);
    if (!b) {
      skipped.push({ layer: a.name, reason: `only in ${p.a.path}` });
      continue;
    }
    const why = mismatch(a, b);
    if (why) {
      skipped.push({ layer: a.name, reason: why });
      continue;
    }
    if (![a.q, a.k, a.v, a.o].every((s) => keep(s.tensor))) {
      skipped.push({ layer: a.name, reason: 'filtered out (--path/--ignore-keys-regex)' });
      continue;
    }
    const bytes = 2 * Math.max(phaseBytes(p.a, [a.q, a.k]), phaseBytes(p.a, [a.v, a.o]));
    if (bytes > LAYER_BUDGET_BYTES) {
      skipped.push({ layer: a.name, reason: `its projections take ${bytes} bytes in float64, over the ${LAYER_BUDGET_BYTES}-byte working set` });
      continue;
    }
    const measured = await measureLayer(executor, p.a, p.b, a);
    workingSetBytes = Math.max(workingSetBytes, measured.bytes);
    layers.push(measured.layer);
  }
  for (const b of byName.keys()) skipped.push({ layer: b, reason: `only in ${p.b.path}` });
  if (layers.length === 0)
    return {
      applicable: false,
      reason: `no attention layer in both files with the same shapes${skipped[0] ? ` (${skipped[0].layer}: ${skipped[0].reason})` : ''}`,
    };
  const source = la.counts.source === lb.counts.source ? la.counts.source : `${la.counts.source} / ${lb.counts.source}`;
  return { applicable: true, layouts: la.layouts, headCountSource: source, layers, skipped, workingSetBytes };
}

/** Float64 bytes of the distinct stored tensors one phase reads from one side (a fused Q/K/V tensor counts once). */
function phaseBytes(model: ModelDescription, specs: ProjectionSpec[]): number {
  const names = new Set(specs.map((s) => s.tensor));
  return model.tensors.reduce((sum, t) => (names.has(t.name) ? sum + 8 * t.numel : sum), 0);
}

function mismatch(a: ResolvedLayer, b: ResolvedLayer): string | undefined {
  if (a.layout !== b.layout) return `layout ${a.layout} -> ${b.layout}`;
  if (a.heads !== b.heads || a.kvHeads !== b.kvHeads || a.dHead !== b.dHead || a.dModel !== b.dModel) {
    return `heads ${a.heads}/${a.kvHeads}×${a.dHead} of ${a.dModel} -> ${b.heads}/${b.kvHeads}×${b.dHead} of ${b.dModel}`;
  }
  return undefined;
}

function cacheKey(spec: ProjectionSpec): string {
  return `${spec.tensor}\u0000${spec.transposed}`;
}

/** Reads the stored tensors of one model that projections name, each once per layer. */
class ProjectionReader {
  private readonly cache = new Map<string, Mat>();
  bytes = 0;
  constructor(
    private readonly executor: Executor,
    private readonly model: ModelDescription,
  ) {}

  /** The projection's rows (d_model each), in float64. */
  async rows(spec: ProjectionSpec): Promise<Mat> {
    const key = cacheKey(spec);
    let m = this.cache.get(key);
    if (!m) {
      const desc = this.model.tensors.find((t) => t.name === spec.tensor);
      if (!desc) throw new Error(`attention: ${spec.tensor} is not in ${this.model.path}`);
      const [r, c] = desc.shape as [number, number];
      const values = desc.numel === 0 ? new Float64Array(0) : await this.executor.run('values', [desc], {});
      m = mat(r, c, values);
      if (spec.transposed) m = transpose(m);
      this.cache.set(key, m);
      this.bytes += m.data.byteLength;
    }
    return spec.row0 === 0 && spec.rows === m.rows ? m : rowBlock(m, spec.row0, spec.row0 + spec.rows);
  }

  async vector(tensor: string, start: number, length: number): Promise<Float64Array> {
    const desc = this.model.tensors.find((t) => t.name === tensor);
    if (!desc) throw new Error(`attention: ${tensor} is not in ${this.model.path}`);
    const values = await this.executor.run('values', [desc], {});
    return values.slice(start, start + length);
  }

  /** Drops every tensor read except those `keep` names (a fused Q/K/V tensor serves the next phase too). */
  release(keep: ProjectionSpec[] = []): void {
    const kept = new Set(keep.map(cacheKey));
    for (const [key, m] of this.cache) {
      if (kept.has(key)) continue;
      this.cache.delete(key);
      this.bytes -= m.data.byteLength;
    }
  }
}

function heads(m: Mat, count: number, dHead: number): Mat[] {
  return Array.from({ length: count }, (_, h) => rowBlock(m, h * dHead, (h + 1) * dHead));
}

function allFinite(m: Mat): boolean {
  for (let i = 0; i < m.data.length; i++) if (!Number.isFinite(m.data[i]!)) return false;
  return true;
}

function norms(s: Float64Array): CircuitNorms {
  return { frobenius: frobenius(s), spectral: s[0] ?? 0 };
}

/**
 * ‖X_BᵀY_B − X_AᵀY_A‖_F through factors: the difference is [X_B − X_A; X_A]ᵀ [Y_B; Y_B − Y_A],
 * whose differences of stored values are exact in float64, so a small change is measured
 * without cancellation. Zero when both factors are equal.
 */
function changeNorm(xa: Mat, xb: Mat, ya: Mat, yb: Mat): number {
  if (equalValues(xa, xb) && equalValues(ya, yb)) return 0;
  const x = stackRows(subtract(xb, xa), xa);
  const y = stackRows(yb, subtract(yb, ya));
  return frobenius(mulABt(qrOfRows(x).r, qrOfRows(y).r).data);
}

async function measureLayer(executor: Executor, ma: ModelDescription, mb: ModelDescription, l: ResolvedLayer): Promise<{ layer: LayerMeasure; bytes: number }> {
  const ra = new ProjectionReader(executor, ma);
  const rb = new ProjectionReader(executor, mb);
  const group = l.heads / l.kvHeads;
  const r0 = patternRank(l.dHead);
  const out: HeadMeasure[] = [];
  let bytes = 0;

  // Query–key circuits.
  const [qa, qb, ka, kb] = await Promise.all([ra.rows(l.q), rb.rows(l.q), ra.rows(l.k), rb.rows(l.k)]);
  const qA = heads(qa, l.heads, l.dHead);
  const qB = heads(qb, l.heads, l.dHead);
  const kA = heads(ka, l.kvHeads, l.dHead);
  const kB = heads(kb, l.kvHeads, l.dHead);
  // A side whose slices equal the other's reuses its factorisation (most heads of a partial fine-tune).
  const kSame = kA.map((k, g) => equalValues(k, kB[g]!));
  const kqrA = kA.map((k) => qrOfRows(k));
  const kqrB = kB.map((k, g) => (kSame[g] ? kqrA[g]! : qrOfRows(k)));
  bytes = Math.max(bytes, ra.bytes + rb.bytes);
  const sameSlices: boolean[] = [];
  for (let h = 0; h < l.heads; h++) {
    const g = Math.floor(h / group);
    const qSame = equalValues(qA[h]!, qB[h]!);
    const same = qSame && kSame[g]!;
    const qrA = qrOfRows(qA[h]!);
    const sa = productSvdOfQR(qrA, kqrA[g]!, r0);
    const sb = same ? sa : productSvdOfQR(qSame ? qrA : qrOfRows(qB[h]!), kqrB[g]!, r0);
    sameSlices.push(same);
    const rank = Math.min(r0, numericalRank(sa.s, l.dModel), numericalRank(sb.s, l.dModel));
    // Identical weights span identical subspaces: φ = 1 by definition.
    const phi = (u: Mat, v: Mat) => (rank === 0 ? null : same ? 1 : subspaceSimilarity(u, v, rank));
    out.push({
      head: h,
      kvHead: g,
      qkA: norms(sa.s),
      qkB: norms(sb.s),
      qkChange: same ? 0 : changeNorm(qA[h]!, qB[h]!, kA[g]!, kB[g]!),
      ovA: { frobenius: 0, spectral: 0 },
      ovB: { frobenius: 0, spectral: 0 },
      ovChange: 0,
      phiQuery: phi(sa.left, sb.left),
      phiKey: phi(sa.right, sb.right),
      rank,
      identical: same,
      nonFinite: !allFinite(qA[h]!) || !allFinite(qB[h]!) || !allFinite(kA[g]!) || !allFinite(kB[g]!),
    });
  }
  ra.release([l.v, l.o]);
  rb.release([l.v, l.o]);

  // Output–value circuits: W_OVʰ = W_Oʰ W_Vʰ = (Ōʰ)ᵀ Vʰ with Ōʰ the head's rows of W_Oᵀ.
  const [va, vb, oa, ob] = await Promise.all([ra.rows(l.v), rb.rows(l.v), ra.rows(l.o), rb.rows(l.o)]);
  const vA = heads(va, l.kvHeads, l.dHead);
  const vB = heads(vb, l.kvHeads, l.dHead);
  const oA = heads(oa, l.heads, l.dHead);
  const oB = heads(ob, l.heads, l.dHead);
  const vSame = vA.map((v, g) => equalValues(v, vB[g]!));
  const vrA = vA.map((v) => qrOfRows(v));
  const vrB = vB.map((v, g) => (vSame[g] ? vrA[g]! : qrOfRows(v)));
  bytes = Math.max(bytes, ra.bytes + rb.bytes);
  for (const m of out) {
    const g = m.kvHead;
    const h = m.head;
    const oSame = equalValues(oA[h]!, oB[h]!);
    const orA = qrOfRows(oA[h]!);
    m.ovA = norms(singularValues(orA, vrA[g]!));
    m.ovB = oSame && vSame[g] ? m.ovA : norms(singularValues(oSame ? orA : qrOfRows(oB[h]!), vrB[g]!));
    m.ovChange = oSame && vSame[g] ? 0 : changeNorm(oA[h]!, oB[h]!, vA[g]!, vB[g]!);
    m.identical = sameSlices[h]! && oSame && vSame[g]!;
    m.nonFinite ||= !allFinite(oA[h]!) || !allFinite(oB[h]!) || !allFinite(vA[g]!) || !allFinite(vB[g]!);
  }
  ra.release();
  rb.release();

  let keyBias: KeyBiasMeasure | undefined;
  if (l.keyBias) {
    const { tensor, start, length } = l.keyBias;
    const [ba, bb] = await Promise.all([ra.vector(tensor, start, length), rb.vector(tensor, start, length)]);
    keyBias = {
      tensor: start === 0 && length === ba.length ? tensor : `${tensor}[${start}:${start + length}]`,
      normA: frobenius(ba),
      normB: frobenius(bb),
      change: frobenius(ba.map((x, i) => bb[i]! - x)),
    };
  }
  return {
    layer: { layer: l.name, layout: l.layout, heads: l.heads, kvHeads: l.kvHeads, dHead: l.dHead, dModel: l.dModel, measures: out, keyBias },
    bytes,
  };
}

function singularValues(x: QR, y: QR): Float64Array {
  return svdByGram(mulABt(x.r, y.r)).s;
}

/** The pass's result for a pair, or why there is none (values not read with --shape-only). */
export function attentionOf(passes: Partial<PassOutputs>, p: PairData): AttentionHeads {
  const r = passes.attentionHeads?.get(`${p.ia},${p.ib}`);
  return r ?? { applicable: false, reason: 'tensor values not read (--shape-only)' };
}

/** `layer[h]`: how details and summaries name a head. */
export function headName(layer: string, head: number): string {
  return `${layer}[${head}]`;
}
