/** Number formats, aggregates and model-entry tests the analyses share. */
import { emptyCompare, mergeCompare, type ComparePartial } from '../engine/partials.js';
import type { TensorStats } from '../diff/types.js';
import { storedByteLength, type ModelDescription, type TensorDescriptor } from '../formats/types.js';
import type { Role } from '../model/roles.js';
import { modelViewOf } from '../model/view.js';
import type { Collected, PairData } from './types.js';

/** 4 decimals, or 4 significant digits in exponent form for small magnitudes. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'none';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(3);
  if (Math.abs(x) >= 1e7) return x.toExponential(4);
  return x.toFixed(4);
}

export function pct(x: number | null): string {
  return x === null ? 'none' : `${(x * 100).toFixed(2)}%`;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

/** ‖B − A‖/‖A‖ from a comparison. */
export function relChange(c: ComparePartial): number | null {
  return c.sumAA > 0 ? Math.sqrt(c.sumSqDiff / c.sumAA) : c.sumSqDiff === 0 ? 0 : null;
}

export function cosine(c: ComparePartial): number | null {
  return c.sumAA > 0 && c.sumBB > 0 ? Math.min(1, Math.max(-1, c.sumAB / Math.sqrt(c.sumAA * c.sumBB))) : null;
}

/** Σ over compare partials (for layer and model aggregates). */
export function sumCompare(parts: Iterable<ComparePartial>): ComparePartial {
  let acc = emptyCompare();
  for (const p of parts) acc = mergeCompare(acc, p);
  return acc;
}

export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/**
 * Largest change first: tensors with a relative L2 change (A not all zero) by that change,
 * then tensors that start from zero (no relative change exists) by ‖B − A‖, so a bias
 * leaving zero never hides the real changes.
 */
export function rankByChange<T extends { cmp?: ComparePartial }>(xs: T[]): T[] {
  const rel = (t: T) => (t.cmp && t.cmp.sumAA > 0 ? Math.sqrt(t.cmp.sumSqDiff / t.cmp.sumAA) : null);
  return [...xs].sort((x, y) => {
    const rx = rel(x);
    const ry = rel(y);
    if (rx !== null && ry !== null) return ry - rx;
    if (rx !== null) return -1;
    if (ry !== null) return 1;
    return (y.cmp?.sumSqDiff ?? 0) - (x.cmp?.sumSqDiff ?? 0);
  });
}

/** Largest first. */
export function sorted<T>(xs: T[], by: (t: T) => number): T[] {
  return [...xs].sort((x, y) => by(y) - by(x));
}

/** ` (A -> B)` after a pairwise summary when the run has more than two models. */
export function pairLabel(c: Collected, p: PairData): string {
  return c.models.length > 2 ? ` (${p.a.path} -> ${p.b.path})` : '';
}

export function pairData(p: PairData): { a: string; b: string } {
  return { a: p.a.path, b: p.b.path };
}

/** The role of a tensor of `model` in its model view (docs/model-view.md). */
export function roleIn(model: ModelDescription, name: string): Role {
  return modelViewOf(model).entries.get(name)?.role ?? 'parameter';
}

/**
 * A learnable parameter of `model` (role `parameter`): what layer impact, convergence,
 * similarity, parameter counts and anomaly detection work on. Buffers (BatchNorm running
 * statistics, masks), optimizer state, checkpoint scalars and quantized stand-ins are not.
 */
export function isParameter(model: ModelDescription, desc: TensorDescriptor | undefined): desc is TensorDescriptor {
  return desc !== undefined && roleIn(model, desc.name) === 'parameter';
}

/** Pair tensors that are parameters on side A (and, when compared, on side B). */
export function parameterTensors(p: PairData): PairData['tensors'] {
  return p.tensors.filter((t) => (t.a ? isParameter(p.a, t.a) : isParameter(p.b, t.b)));
}

/**
 * The tensors of one side of a pair, each tie group once (a tie present on one side only
 * puts both names in the pair; the group's representative stands for it).
 */
export function sideTensors(p: PairData, side: 'a' | 'b'): TensorDescriptor[] {
  const model = side === 'a' ? p.a : p.b;
  const view = modelViewOf(model);
  const seen = new Set<string>();
  const out: TensorDescriptor[] = [];
  for (const t of p.tensors) {
    const d = t[side];
    if (!d) continue;
    const key = view.entries.get(d.name)?.tiedTo ?? d.name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

/** The layer of a tensor: its name without the last component (`fc1.weight` → `fc1`). */
export function layerOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(0, i) : name;
}

/** Bytes the tensor occupies as stored (the one byte count of the dtype registry). */
export function bytesOf(desc: TensorDescriptor): number {
  return storedByteLength(desc);
}

export interface ModelTensor {
  desc: TensorDescriptor;
  stats: TensorStats;
  role: Role;
}

/** Descriptor, stats and role of every tensor of model `m` as read in the pair passes. */
export function statsOfModel(pairs: PairData[], m: number): ModelTensor[] {
  const out = new Map<string, ModelTensor>();
  for (const p of pairs) {
    for (const t of p.tensors) {
      if (p.ia === m && t.a && t.statsA) out.set(t.name, { desc: t.a, stats: t.statsA, role: roleIn(p.a, t.name) });
      if (p.ib === m && t.b && t.statsB) out.set(t.name, { desc: t.b, stats: t.statsB, role: roleIn(p.b, t.name) });
    }
  }
  return [...out.values()];
}

/** A buffer (running statistics, masks, counters) that changed between A and B: reported beside the weights, never counted as one. */
export interface BufferChange {
  name: string;
  rel_l2_change: number | null;
  changed_elements: number | null;
  /** `changed`, `added`, `removed` or `reshaped`. */
  change: string;
}

export function bufferChanges(p: PairData): BufferChange[] {
  const out: BufferChange[] = [];
  for (const t of p.tensors) {
    const role = t.a ? roleIn(p.a, t.name) : roleIn(p.b, t.name);
    if (role !== 'buffer') continue;
    if (t.cmp) {
      if (t.cmp.changed > 0 || t.cmp.mismatched > 0)
        out.push({ name: t.name, rel_l2_change: relChange(t.cmp), changed_elements: t.cmp.changed, change: 'changed' });
    } else if (!t.a || !t.b || t.a.shape.join() !== t.b.shape.join()) {
      out.push({ name: t.name, rel_l2_change: null, changed_elements: null, change: !t.a ? 'added' : !t.b ? 'removed' : 'reshaped' });
    }
  }
  return out;
}
