/**
 * Clustering and agreement between two clusterings, for --clustering-change: seeded
 * k-means (k-means++ seeding, Arthur & Vassilvitskii 2007; Lloyd iterations), the adjusted
 * Rand index (Hubert & Arabie 1985) and normalized mutual information with the arithmetic
 * mean of the entropies (Vinh, Epps & Bailey 2010), both as scikit-learn defines them
 * (adjusted_rand_score, normalized_mutual_info_score) including its limit cases.
 */
import { randomIndex, seededRandom } from './sampling.js';

/** Clusters unless --clusters says otherwise (its range: MAX_CLUSTERS in src/analysis/registry.ts, where the option is declared and checked). */
export const DEFAULT_CLUSTERS = 8;

export interface ClusteringOptions {
  /** k (DEFAULT_CLUSTERS when absent). */
  clusters?: number;
  /** The tensor (or layer: `.weight` is tried too) whose rows are clustered. */
  layer?: string;
}

export interface KMeansResult {
  labels: Int32Array;
  /** Σ squared distance of every point to its centre. */
  inertia: number;
  iterations: number;
  converged: boolean;
}

/** Lloyd iterations at most; they stop earlier when no assignment changes. */
export const KMEANS_MAX_ITERATIONS = 100;

/** k-means of n points of dimension d (row-major `x`), k-means++ seeding from `seed`, one run. */
export function kMeans(x: Float64Array, n: number, d: number, k: number, seed: number): KMeansResult {
  if (k < 1 || k > n) throw new RangeError(`k-means: k=${k} for ${n} points`);
  const random = seededRandom(seed);
  const centres = new Float64Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  const setCentre = (c: number, point: number) => centres.set(x.subarray(point * d, point * d + d), c * d);
  setCentre(0, randomIndex(random, n));
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      dist[i] = Math.min(dist[i]!, squaredDistance(x, i * d, centres, (c - 1) * d, d));
      total += dist[i]!;
    }
    // D² sampling; when every point sits on a centre already, take the first point not yet chosen.
    let pick = 0;
    if (total > 0) {
      let target = random() * total;
      for (pick = 0; pick < n - 1; pick++) {
        target -= dist[pick]!;
        if (target < 0) break;
      }
      while (dist[pick] === 0 && pick > 0) pick--;
    } else pick = c;
    setCentre(c, pick);
  }
  const labels = new Int32Array(n).fill(-1);
  const counts = new Float64Array(k);
  let iterations = 0;
  let converged = false;
  let inertia = 0;
  while (iterations < KMEANS_MAX_ITERATIONS) {
    iterations++;
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let best = 0,
        bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const dd = squaredDistance(x, i * d, centres, c * d, d);
        if (dd < bestD) {
          bestD = dd;
          best = c;
        }
      }
      dist[i] = bestD;
      inertia += bestD;
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
    }
    if (changed === 0) {
      converged = true;
      break;
    }
    centres.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]!++;
      for (let j = 0; j < d; j++) centres[c * d + j]! += x[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) for (let j = 0; j < d; j++) centres[c * d + j]! /= counts[c]!;
      else {
        // An empty cluster takes the point farthest from its centre (deterministic).
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
        setCentre(c, far);
        dist[far] = 0;
      }
    }
  }
  return { labels, inertia, iterations, converged };
}

function squaredDistance(x: Float64Array, xo: number, c: Float64Array, co: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = x[xo + j]! - c[co + j]!;
    s += t * t;
  }
  return s;
}

interface Contingency {
  n: number;
  /** Non-zero cells: [n_ij, a_i (its row's total), b_j (its column's total)]. */
  cells: Array<[number, number, number]>;
  /** Cluster sizes of each labeling. */
  rows: number[];
  cols: number[];
}

function contingency(a: ArrayLike<number>, b: ArrayLike<number>): Contingency {
  if (a.length !== b.length) throw new RangeError(`labelings of ${a.length} and ${b.length} points`);
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    rows.set(a[i]!, (rows.get(a[i]!) ?? 0) + 1);
    cols.set(b[i]!, (cols.get(b[i]!) ?? 0) + 1);
  }
  const cells = new Map<string, [number, number, number]>();
  for (let i = 0; i < a.length; i++) {
    const key = `${a[i]},${b[i]}`;
    const cell = cells.get(key);
    if (cell) cell[0]++;
    else cells.set(key, [1, rows.get(a[i]!)!, cols.get(b[i]!)!]);
  }
  return { n: a.length, cells: [...cells.values()], rows: [...rows.values()], cols: [...cols.values()] };
}

/** Adjusted Rand index of two labelings of the same points (1: the same partition; ~0: chance). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { n, cells, rows, cols } = contingency(a, b);
  // The pair confusion matrix, as scikit-learn's pair_confusion_matrix counts it (ordered pairs).
  const sumSquares = cells.reduce((s, [v]) => s + v * v, 0);
  const tp = sumSquares - n;
  const fp = cols.reduce((s, v) => s + v * v, 0) - sumSquares;
  const fn = rows.reduce((s, v) => s + v * v, 0) - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

/**
 * Normalized mutual information, I(A;B) / ((H(A) + H(B))/2) (natural logarithms; the ratio
 * does not depend on the base). Both labelings a single cluster: 1 (nothing was split).
 */
export function normalizedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { n, cells, rows, cols } = contingency(a, b);
  if (rows.length === cols.length && rows.length <= 1) return 1;
  let mi = 0;
  for (const [nij, ai, bj] of cells) mi += (nij / n) * (Math.log(nij) + Math.log(n) - Math.log(ai) - Math.log(bj));
  mi = Math.max(0, mi);
  if (mi === 0) return 0;
  const entropy = (counts: number[]) => -counts.reduce((s, v) => s + (v / n) * Math.log(v / n), 0);
  return mi / ((entropy(rows) + entropy(cols)) / 2);
}
