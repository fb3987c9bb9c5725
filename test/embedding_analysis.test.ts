/**
 * --embedding-analysis and --clustering-change (issue 12) on the GPT fixtures of
 * fixtures/generate_embedding.py, against values torch/numpy computed in float64 there
 * (fixtures/embedding/expected.json): row cosines and the most drifted rows, kNN overlap,
 * Procrustes residuals, the broken tie of a last-block fine-tune; token strings from the
 * tokenizer beside the model (and a hostile one); a CNN; the command line.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisEntry, type AnalysisName } from '../src/analysis/index.js';
import { expectClose } from './helpers/assert.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const fx = (f: string) => join(ROOT, 'fixtures/embedding', f);
const real = (f: string) => join(ROOT, 'fixtures/analysis_real', f);
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const EXP: any = JSON.parse(readFileSync(fx('expected.json'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: analysis JSON objects, as the plug-ins build them
type Data = any;

const tmp = tempDir('diffai-embedding-');
afterAll(() => tmp.cleanup());

async function run(files: string[], names: AnalysisName[], options = {}): Promise<AnalysisEntry<Data>[]> {
  const { analyses } = await analyzeFiles(files, names, options);
  return analyses as AnalysisEntry<Data>[];
}

const matrix = (d: Data, name: string) => d.matrices.find((m: Data) => m.name === name);

/** Row cosines and the most drifted rows of one matrix against the generator's record. */
function expectDrift(m: Data, ref: Data, label: string): void {
  expect(m.compared, label).toBe(true);
  expectClose(m.min_row_cosine, ref.min_row_cosine, 1e-12, 0, `${label} min_row_cosine`);
  expectClose(m.mean_row_cosine, ref.mean_row_cosine, 1e-12, 0, `${label} mean_row_cosine`);
  expectClose(m.mean_abs_norm_change, ref.mean_abs_norm_change, 1e-9, 1e-15, `${label} mean_abs_norm_change`);
  expect(m.rows_changed, label).toBe(ref.rows_changed);
  expect(
    m.most_drifted.map((r: Data) => r.row),
    label,
  ).toEqual(ref.most_drifted);
  for (const [i, r] of (m.most_drifted as Data[]).entries()) expectClose(r.cosine, ref.most_drifted_cosine[i], 1e-12, 0, `${label} row ${r.row}`);
}

describe('embedding analysis: a GPT fine-tuned in its last block, LM head untied', () => {
  it('the embedding is unchanged (min row cosine exactly 1) and the tie is reported broken', async () => {
    const [e] = await run([fx('gpt_base.pt'), fx('gpt_last_block.pt')], ['embedding']);
    const d = e!.data;
    const wte = matrix(d, 'transformer.wte.weight');
    expect(wte.min_row_cosine).toBe(1);
    expect(wte.mean_row_cosine).toBe(1);
    expect(wte.rows_changed).toBe(0);
    expect(wte.most_drifted).toEqual([]);
    expect(wte.knn.mean).toBe(1);
    expect(wte.procrustes.residual_after).toBe(0);
    expect(matrix(d, 'transformer.wpe.weight').rows_changed).toBe(0);
    expect(d.tie).toEqual({ head: 'lm_head.weight', embedding: 'transformer.wte.weight', tied_a: true, tied_b: false, status: 'broken' });
    // The head, trained on its own in B, drifts from A's (tied) head as torch measured.
    expectDrift(matrix(d, 'lm_head.weight'), EXP.last_block.head_drift, 'lm_head');
    expectClose(d.head_vs_embedding_b.min_row_cosine, EXP.last_block.head_row_cosines_vs_own_wte.min_row_cosine, 1e-12, 0, 'head vs wte in B');
    expect(e!.summary).toMatch(/^matrices=3, min_row_cosine=1\.0000, mean_row_cosine=1\.0000, rows_changed=0, most_drifted=none, knn_overlap=1\.0000, /);
    expect(e!.summary).toMatch(/, tie=broken$/);
  });

  it('name filters apply: --path keeps only the matrices it names', async () => {
    const [e] = await run([fx('gpt_base.pt'), fx('gpt_last_block.pt')], ['embedding'], { path: 'lm_head' });
    expect(e!.data.matrices.map((m: Data) => m.name)).toEqual(['lm_head.weight']);
    const [none] = await run([fx('gpt_base.pt'), fx('gpt_last_block.pt')], ['embedding'], { path: 'mlp' });
    expect(none!.data.applicable).toBe(false);
  });

  it('token strings come from tokenizer.json beside the model', async () => {
    const [e] = await run([fx('gpt_base.pt'), fx('gpt_last_block.pt')], ['embedding']);
    const head = matrix(e!.data, 'lm_head.weight');
    const vocab = JSON.parse(readFileSync(fx('tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
    const byId = new Map(Object.entries(vocab).map(([t, id]) => [id, t]));
    for (const r of head.most_drifted) expect(r.token).toBe(byId.get(r.row));
    expect(e!.data.tokenizer.path).toBe(fx('tokenizer.json'));
  });
});

describe('embedding analysis: a fully fine-tuned GPT', () => {
  it('row cosines and most drifted rows match torch; kNN overlap and Procrustes match numpy', async () => {
    const [e] = await run([fx('gpt_base.pt'), fx('gpt_full.pt')], ['embedding']);
    const d = e!.data;
    expectDrift(matrix(d, 'transformer.wte.weight'), EXP.full.wte, 'wte');
    expectDrift(matrix(d, 'transformer.wpe.weight'), EXP.full.wpe, 'wpe');
    const wte = matrix(d, 'transformer.wte.weight');
    // Every row is a query (200 ≤ 256), so the overlap is the one numpy computed over all rows.
    expect(wte.knn.queries).toBe(EXP.vocab);
    expect(wte.knn.sampled).toBe(false);
    expect(wte.knn.k).toBe(EXP.knn_k);
    expectClose(wte.knn.mean, EXP.full.knn_overlap.mean, 1e-12, 0, 'knn mean');
    expectClose(wte.knn.min, EXP.full.knn_overlap.min, 1e-12, 0, 'knn min');
    const pr = wte.procrustes;
    expect(pr.rows_used).toBe(EXP.vocab);
    expectClose(pr.residual_before, EXP.full.procrustes.residual_before, 1e-10, 0, 'residual before');
    expectClose(pr.residual_after, EXP.full.procrustes.residual_after, 1e-9, 0, 'residual after');
    expectClose(pr.min_aligned_cosine, EXP.full.procrustes.min_aligned_cosine, 1e-9, 0, 'min aligned cosine');
    expect(pr.most_drifted_aligned.map((r: Data) => r.row)).toEqual(EXP.full.procrustes.most_drifted_aligned);
    // Tied on both sides: the head is the embedding, not listed again.
    expect(d.tie.status).toBe('tied');
    expect(matrix(d, 'lm_head.weight')).toBeUndefined();
    expect(d.head_vs_embedding_b).toBeNull();
  });

  it('a pure rotation of the embedding: large raw drift, none after Procrustes, neighbours unchanged', async () => {
    const [e] = await run([fx('gpt_base.pt'), fx('gpt_rotated.pt')], ['embedding']);
    const wte = matrix(e!.data, 'transformer.wte.weight');
    expectClose(wte.min_row_cosine, EXP.rotated.wte.min_row_cosine, 1e-9, 0, 'raw min cosine');
    const pr = wte.procrustes;
    expectClose(pr.residual_before, EXP.rotated.procrustes.residual_before, 1e-10, 0, 'before');
    // f32 storage of A·Q leaves ~1e-8; numpy's SVD finds the same.
    expectClose(pr.residual_after, EXP.rotated.procrustes.residual_after, 0.05, 1e-9, 'after');
    expect(pr.residual_after).toBeLessThan(1e-6);
    expect(pr.rotation_share).toBeGreaterThan(1 - 1e-12);
    expect(wte.knn.mean).toBe(EXP.rotated.knn_overlap.mean);
  });
});

describe('embedding analysis: tokenizer files and models without embeddings', () => {
  it('vocab.json beside the model; a control character in a token is escaped in text, raw in JSON', async () => {
    const dir = tmp.path('vocab');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    copyFileSync(fx('gpt_base.pt'), join(dir, 'a.pt'));
    copyFileSync(fx('gpt_last_block.pt'), join(dir, 'b.pt'));
    const vocab: Record<string, number> = {};
    for (let i = 0; i < EXP.vocab; i++) vocab[`w${i}`] = i;
    const worst = EXP.last_block.head_drift.most_drifted[0];
    delete vocab[`w${worst}`];
    vocab['\u001b[2J\u0007evil'] = worst;
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    const [e] = await run([join(dir, 'a.pt'), join(dir, 'b.pt')], ['embedding']);
    const head = matrix(e!.data, 'lm_head.weight');
    expect(head.most_drifted[0].token).toBe('\u001b[2J\u0007evil');
    expect(head.most_drifted[1].token).toBe(`w${EXP.last_block.head_drift.most_drifted[1]}`);
    requireBuild();
    const text = await cli([join(dir, 'a.pt'), join(dir, 'b.pt'), '--embedding-analysis']);
    expect(text.status).toBe(0);
    expect(text.stdout).not.toContain('\x1b');
    expect(text.stdout).not.toContain('\x07');
    expect(text.stdout).toContain('evil');
  });

  it('an unusable tokenizer file is a warning in the analysis, not an error', async () => {
    for (const [name, body] of [
      ['bad', '{"model": {"vocab": '],
      ['deep', `${'['.repeat(100000)}${']'.repeat(100000)}`],
    ] as const) {
      const dir = tmp.path(name);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir);
      copyFileSync(fx('gpt_base.pt'), join(dir, 'a.pt'));
      copyFileSync(fx('gpt_full.pt'), join(dir, 'b.pt'));
      writeFileSync(join(dir, 'tokenizer.json'), body);
      const [e] = await run([join(dir, 'a.pt'), join(dir, 'b.pt')], ['embedding']);
      expect(e!.data.tokenizer.warning, name).toMatch(/not valid JSON/);
      expect(matrix(e!.data, 'transformer.wte.weight').most_drifted[0].token, name).toBeUndefined();
    }
  });

  it('a CNN has no embedding: not applicable; clustering takes its largest weight', async () => {
    const [emb, clu] = await run([real('resnet18.pt'), real('resnet18_recalibrated.pt')], ['embedding', 'clustering']);
    expect(emb!.summary).toMatch(/^not applicable \(no embedding matrices/);
    expect(emb!.data.applicable).toBe(false);
    expect(clu!.data.applicable).toBe(true);
    expect(clu!.data.chosen_by).toBe('largest_weight');
    expect(clu!.data.layer).toMatch(/^layer4\..*conv\d\.weight$/);
    // Only BatchNorm statistics were recalibrated: the weights, hence the clusters, are the same.
    expect(clu!.data.adjusted_rand_index).toBe(1);
    expectClose(clu!.data.normalized_mutual_info, 1, 1e-12, 0, 'nmi');
  });
});

describe('clustering change', () => {
  it('identical models: the same partition (ARI = NMI = 1) of the token embedding', async () => {
    const [c] = await run([fx('gpt_full.pt'), fx('gpt_full.pt')], ['clustering']);
    const d = c!.data;
    expect(d.layer).toBe('transformer.wte.weight');
    expect(d.chosen_by).toBe('embedding');
    expect(d.k).toBe(8);
    expect(d.sample).toEqual({ size: EXP.vocab, sampled: false, seed: 12, dropped_non_finite: 0 });
    expect(d.adjusted_rand_index).toBe(1);
    // I/H rounds as scikit-learn's does (its permuted-labels record is 0.9999999999999998).
    expectClose(d.normalized_mutual_info, 1, 1e-12, 0, 'nmi');
    expect(d.model_a.sizes.reduce((s: number, v: number) => s + v, 0)).toBe(EXP.vocab);
    expect(c!.summary).toBe('layer=transformer.wte.weight, k=8, rows=200, ari=1.0000, nmi=1.0000');
  });

  it('--clusters and --cluster-layer choose k and the layer (a layer name takes its .weight)', async () => {
    const [c] = await run([fx('gpt_base.pt'), fx('gpt_full.pt')], ['clustering'], { clustering: { clusters: 4, layer: 'transformer.h.0.mlp.0' } });
    const d = c!.data;
    expect(d.layer).toBe('transformer.h.0.mlp.0.weight');
    expect(d.chosen_by).toBe('option');
    expect(d.k).toBe(4);
    expect(d.rows).toBe(128);
    expect(d.row_length).toBe(32);
    expect(d.adjusted_rand_index).toBeGreaterThanOrEqual(-1);
    expect(d.adjusted_rand_index).toBeLessThanOrEqual(1);
    expect(d.model_a.sizes).toHaveLength(4);
  });
});

describe('command line', () => {
  requireBuild();
  it("the options run and print summary lines in the documents' shape; JSON keys are PascalCase", async () => {
    const [text, json, bad, badLayer, shape] = await Promise.all([
      cli([fx('gpt_base.pt'), fx('gpt_full.pt'), '--embedding-analysis', '--clustering-change', '--clusters', '5']),
      cli([fx('gpt_base.pt'), fx('gpt_last_block.pt'), '--embedding-analysis', '--clustering-change', '-o', 'json']),
      cli([fx('gpt_base.pt'), fx('gpt_full.pt'), '--clustering-change', '--clusters', 'many']),
      cli([fx('gpt_base.pt'), fx('gpt_full.pt'), '--clustering-change', '--cluster-layer', 'nope']),
      cli([fx('gpt_base.pt'), fx('gpt_full.pt'), '--embedding-analysis', '--clustering-change', '--shape-only']),
    ]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^embedding_analysis: matrices=2, min_row_cosine=0\.9192, mean_row_cosine=0\.9611, rows_changed=200, most_drifted="103 tok103", knn_overlap=0\.6445, aligned_residual=0\.3558, tie=tied$/m,
    );
    expect(text.stdout).toMatch(/^clustering_change: layer=transformer\.wte\.weight, k=5, rows=200, ari=-?\d\.\d{4}, nmi=\d\.\d{4}$/m);
    expect(json.status, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as Array<Record<string, Data>>;
    const emb = out.find((o) => 'EmbeddingAnalysis' in o)!.EmbeddingAnalysis;
    expect(emb.tie.status).toBe('broken');
    expect(out.find((o) => 'ClusteringChange' in o)!.ClusteringChange.adjusted_rand_index).toBe(1);
    expectTrouble(bad, '', /^--clusters must be an integer from 2 to 256, got many$/);
    expectTrouble(badLayer, '', /^--cluster-layer: no tensor named "nope"/);
    expect(shape.status).toBe(0);
    expect(shape.stdout).toMatch(/^embedding_analysis: not applicable \(tensor values were not read \(--shape-only\)\)$/m);
  });
});
