/** Number formats, aggregates and model-entry tests the analyses share. */
import { isFloat } from '../dtypes.js';
import { emptyCompare, mergeCompare, type ComparePartial } from '../engine/partials.js';
import type { TensorStats } from '../diff/types.js';
import { storedByteLength, type TensorDescriptor } from '../formats/types.js';
import { isOptimizerState } from '../model/roles.js';
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

export { isOptimizerState };

/** A tensor that counts as a model parameter for similarity and impact: floating point, not optimizer state. */
export function isParameter(desc: TensorDescriptor | undefined): boolean {
  return desc !== undefined && (isFloat(desc.dtype) || desc.dtype === 'c64' || desc.dtype === 'c128') && !isOptimizerState(desc.name);
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

/** Descriptor and stats of every tensor of model `m` as read in the pair passes. */
export function statsOfModel(pairs: PairData[], m: number): Array<{ desc: TensorDescriptor; stats: TensorStats }> {
  const out = new Map<string, { desc: TensorDescriptor; stats: TensorStats }>();
  for (const p of pairs) {
    for (const t of p.tensors) {
      if (p.ia === m && t.a && t.statsA) out.set(t.name, { desc: t.a, stats: t.statsA });
      if (p.ib === m && t.b && t.statsB) out.set(t.name, { desc: t.b, stats: t.statsB });
    }
  }
  return [...out.values()];
}
