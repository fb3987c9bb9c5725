/**
 * Clustering change (--clustering-change): seeded k-means of one layer's rows (embedding rows
 * or neuron weight vectors) in A and in B, and how far the two partitions of the same rows
 * agree: adjusted Rand index and normalized mutual information. The numbers come from the
 * `clustering` pass (src/analysis/clustering-pass.ts); docs/analyses.md defines them.
 */
import type { ClusteringResult } from './embedding-data.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

type Data = ClusteringResult & { a?: string; b?: string };

export function clusteringChange(c: Collected, p: PairData) {
  const result = c.passes.clustering?.get(c.pairs.indexOf(p));
  const where = pairData(p);
  if (!result?.applicable) {
    const na = notApplicable(result ? result.reason : 'tensor values were not read (--shape-only)');
    return { ...na, summary: na.summary + pairLabel(c, p), data: { ...na.data, ...where } as Data };
  }
  const r = result;
  const summary = `${summaryFields([
    ['layer', r.layer],
    ['k', String(r.k)],
    ['rows', String(r.sample.size)],
    ['ari', r.adjusted_rand_index],
    ['nmi', r.normalized_mutual_info],
  ])}${pairLabel(c, p)}`;
  const details = [
    `${r.layer}: ${r.rows} rows of ${r.row_length} values (chosen by ${r.chosen_by.replace('_', ' ')}); ` +
      `${r.sample.size} rows clustered${r.sample.sampled ? ` (seeded sample, seed ${r.sample.seed})` : ''}` +
      (r.sample.dropped_non_finite ? `, ${r.sample.dropped_non_finite} with NaN/Inf left out` : ''),
    `k-means (k=${r.k}, k-means++ seeding, seed ${r.sample.seed}): a inertia=${fmt(r.model_a.inertia)} in ${r.model_a.iterations} iterations, sizes ${r.model_a.sizes.join('/')}; ` +
      `b inertia=${fmt(r.model_b.inertia)} in ${r.model_b.iterations} iterations, sizes ${r.model_b.sizes.join('/')}`,
    `adjusted_rand_index=${fmt(r.adjusted_rand_index)} (1: same partition, ~0: chance), normalized_mutual_info=${fmt(r.normalized_mutual_info)}`,
  ];
  return { summary, details, data: { ...where, ...r } as Data };
}

const plugin: PairAnalysis<Data> = {
  key: 'ClusteringChange',
  label: 'clustering_change',
  scope: 'pair',
  needs: ['clustering'],
  analyze: clusteringChange,
};
export default plugin;
