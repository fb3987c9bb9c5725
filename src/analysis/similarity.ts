/**
 * Similarity matrix (--similarity-matrix): cosine similarity of the parameters, overall and per
 * layer, between every pair of models.
 */
import { cosine, fmt, groupBy, layerOf, statsOfModel, sumCompare } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, SequenceAnalysis } from './types.js';

export function similarityMatrix(c: Collected) {
  const n = c.models.length;
  const overall: Array<Array<number | null>> = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  const perLayer = new Map<string, Array<Array<number | null>>>();
  for (let i = 0; i < n; i++) {
    // A model against itself: Σa²/(‖a‖‖a‖), from the stats of its parameters.
    const own = statsOfModel(c.pairs, i).filter((t) => t.role === 'parameter');
    const sq = own.reduce((s, t) => s + (t.stats.l2_norm ?? 0) ** 2, 0);
    overall[i]![i] = sq > 0 ? sq / (Math.sqrt(sq) * Math.sqrt(sq)) : null;
  }
  const layerMatrix = (layer: string) => {
    let mtx = perLayer.get(layer);
    if (!mtx) {
      mtx = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
      perLayer.set(layer, mtx);
    }
    return mtx;
  };
  for (const [key, per] of c.passes.pairCompare ?? []) {
    const [i, j] = key.split(',').map(Number) as [number, number];
    const cos = per.size > 0 ? cosine(sumCompare(per.values())) : null;
    overall[i]![j] = cos;
    overall[j]![i] = cos;
    for (const [layer, names] of groupBy([...per.keys()], layerOf)) {
      const cmp = sumCompare(names.map((nm) => per.get(nm)!));
      const mtx = layerMatrix(layer);
      mtx[i]![j] = cosine(cmp);
      mtx[j]![i] = cosine(cmp);
      const self = (m: number, sumSq: number) => {
        mtx[m]![m] = sumSq > 0 ? sumSq / (Math.sqrt(sumSq) * Math.sqrt(sumSq)) : null;
      };
      self(i, cmp.sumAA);
      self(j, cmp.sumBB);
    }
  }
  const layers = Object.fromEntries([...perLayer].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
  let low: [number, number, number] | undefined;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = overall[i]![j];
      if (v !== null && v !== undefined && (!low || v < low[2])) low = [i, j, v];
    }
  const data = { models: c.models.map((m) => m.path), overall, per_layer: layers, lowest: low ? { a: low[0], b: low[1], cosine_similarity: low[2] } : null };
  const table = (m: Array<Array<number | null>>) => [
    `      ${c.models.map((_, j) => `[${j + 1}]`.padStart(9)).join('')}`,
    ...m.map((row, i) => `  [${i + 1}] ${row.map((v) => fmt(v).padStart(9)).join('')}`),
  ];
  const summary = summaryFields([
    ['models', `${n}`],
    ['lowest', low ? low[2] : null],
    ['lowest_pair', low ? `[${low[0] + 1}]-[${low[1] + 1}]` : 'none'],
  ]);
  const details = [
    ...c.models.map((m, i) => `[${i + 1}] ${m.path}`),
    'overall:',
    ...table(overall),
    ...Object.entries(layers).flatMap(([layer, m]) => [`${layer}:`, ...table(m)]),
  ];
  const matrix = { labels: data.models, values: overall };
  return { summary, details, data, matrix };
}

export type SimilarityData = ReturnType<typeof similarityMatrix>['data'];

const plugin: SequenceAnalysis<SimilarityData> = {
  key: 'SimilarityMatrix',
  label: 'similarity_matrix',
  scope: 'sequence',
  needs: ['pairCompare'],
  analyze: similarityMatrix,
};
export default plugin;
