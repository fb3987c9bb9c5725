/**
 * Embedding analysis (--embedding-analysis): how the embedding matrices (token, position,
 * token-type, and an LM head not tied on both sides) moved between A and B — per-row cosine
 * and norm drift, the most drifted rows with their tokens, k-nearest-neighbour overlap,
 * drift left after an orthogonal Procrustes rotation, and the LM head's tie. The numbers
 * come from the `embeddings` pass (src/analysis/embedding-pass.ts); docs/analyses.md defines them.
 */
import type { EmbeddingMatrixDrift, EmbeddingResult, RowDrift } from './embedding-data.js';
import { fmt, pairData, pairLabel } from './helpers.js';
import { notApplicable, summaryFields, type SummaryValue } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

type Data = EmbeddingResult & { a?: string; b?: string };

function rowLabel(r: RowDrift): string {
  return r.token === undefined ? `${r.row}` : `${r.row} ${JSON.stringify(r.token)}`;
}

function mostDriftedValue(r: RowDrift | undefined): SummaryValue {
  if (!r) return 'none';
  return r.token === undefined ? String(r.row) : { quoted: `${r.row} ${r.token}` };
}

function matrixLines(m: EmbeddingMatrixDrift): string[] {
  const head = `${m.name} (${m.kind}, [${(m.shape_a ?? m.shape_b ?? []).join(', ')}])`;
  if (!m.compared) return [`${head}: not compared (${m.reason})`];
  const lines = [
    `${head}: rows_changed=${m.rows_changed}/${m.rows}, min_row_cosine=${fmt(m.min_row_cosine)}, mean_row_cosine=${fmt(m.mean_row_cosine)}, ` +
      `mean_norm=${fmt(m.mean_norm_a)}->${fmt(m.mean_norm_b)}, mean_abs_norm_change=${fmt(m.mean_abs_norm_change)}, max_abs_norm_change=${fmt(m.max_abs_norm_change)}, ` +
      `max_row_rel_change=${fmt(m.max_row_rel_change)}` +
      (m.undefined_cosine_rows ? `, rows_without_cosine=${m.undefined_cosine_rows}` : '') +
      (m.non_finite_rows ? `, rows_with_nan_inf=${m.non_finite_rows}` : ''),
  ];
  if (m.most_drifted && m.most_drifted.length > 0)
    lines.push(`  most drifted rows: ${m.most_drifted.map((r) => `${rowLabel(r)} cos=${fmt(r.cosine)} rel=${fmt(r.rel_change)}`).join('; ')}`);
  if (m.knn)
    lines.push(
      `  knn_overlap (k=${m.knn.k}, ${m.knn.queries} ${m.knn.sampled ? `sampled rows, seed ${m.knn.seed}` : 'rows'}, neighbours among all rows): mean=${fmt(m.knn.mean)}, min=${fmt(m.knn.min)}`,
    );
  else if (m.knn_skipped) lines.push(`  knn_overlap: not computed (${m.knn_skipped})`);
  const pr = m.procrustes;
  if (pr) {
    lines.push(
      `  procrustes (${pr.rows_used} ${pr.sampled ? `sampled rows, seed ${pr.seed}` : 'rows'}): residual ${fmt(pr.residual_before)} -> ${fmt(pr.residual_after)} after rotation, ` +
        `rotation_share=${fmt(pr.rotation_share)}, min_aligned_cosine=${fmt(pr.min_aligned_cosine)}` +
        (pr.most_drifted_aligned.length > 0
          ? `, most drifted after rotation: ${pr.most_drifted_aligned.map((r) => `${rowLabel(r)} cos=${fmt(r.cosine)}`).join('; ')}`
          : ''),
    );
  } else if (m.procrustes_skipped) lines.push(`  procrustes: not computed (${m.procrustes_skipped})`);
  return lines;
}

export function embeddingAnalysis(c: Collected, p: PairData) {
  const result = c.passes.embeddings?.get(c.pairs.indexOf(p));
  if (!result) {
    const na = notApplicable('tensor values were not read (--shape-only)');
    return { ...na, summary: na.summary + pairLabel(c, p), data: { ...na.data, ...pairData(p) } as Data };
  }
  if (!result.applicable) {
    const na = notApplicable(result.reason);
    return { ...na, summary: na.summary + pairLabel(c, p), data: { ...result, ...pairData(p) } as Data };
  }
  const compared = result.matrices.filter((m) => m.compared);
  const main = compared.find((m) => m.kind === 'token') ?? compared[0];
  const summary = `${summaryFields([
    ['matrices', String(result.matrices.length)],
    ['min_row_cosine', main?.min_row_cosine ?? null],
    ['mean_row_cosine', main?.mean_row_cosine ?? null],
    ['rows_changed', main?.rows_changed === undefined ? null : String(main.rows_changed)],
    ['most_drifted', mostDriftedValue(main?.most_drifted?.[0])],
    ['knn_overlap', main?.knn?.mean ?? null],
    ['aligned_residual', main?.procrustes?.residual_after ?? null],
    ['tie', result.tie?.status ?? 'none'],
  ])}${pairLabel(c, p)}`;
  const details = result.matrices.flatMap(matrixLines);
  if (main) details.unshift(`summary numbers: ${main.name}`);
  if (result.tie) {
    const t = result.tie;
    const hv = result.head_vs_embedding_b;
    details.push(
      `tie: ${t.head} <-> ${t.embedding}: ${t.tied_a ? 'tied' : 'untied'} in a, ${t.tied_b ? 'tied' : 'untied'} in b (${t.status})` +
        (hv ? `; in b the head differs from the embedding in ${hv.rows_differing} rows, min_row_cosine=${fmt(hv.min_row_cosine)}` : ''),
    );
  }
  if (result.tokenizer) details.push(`tokens from ${result.tokenizer.path}${result.tokenizer.warning ? ` (not used: ${result.tokenizer.warning})` : ''}`);
  const table = {
    columns: ['matrix', 'kind', 'rows_changed', 'min_row_cosine', 'mean_row_cosine', 'mean_abs_norm_change', 'knn_overlap', 'aligned_residual'],
    rows: compared.map((m) => [
      m.name,
      m.kind,
      m.rows_changed ?? null,
      m.min_row_cosine ?? null,
      m.mean_row_cosine ?? null,
      m.mean_abs_norm_change ?? null,
      m.knn?.mean ?? null,
      m.procrustes?.residual_after ?? null,
    ]),
  };
  return { summary, details, data: { ...pairData(p), ...result } as Data, table };
}

const plugin: PairAnalysis<Data> = {
  key: 'EmbeddingAnalysis',
  label: 'embedding_analysis',
  scope: 'pair',
  needs: ['embeddings'],
  analyze: embeddingAnalysis,
};
export default plugin;
