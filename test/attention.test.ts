/**
 * The attention analyses (issue 12: --attention-analysis, --head-importance,
 * --attention-pattern-diff) against float64 values torch computed from the full
 * d_model × d_model circuits (fixtures/generate_attention.py → fixtures/attention/expected.json),
 * layout recognition on real torch modules and Hugging Face-named state dicts, the refusals,
 * and the small linear algebra they rest on, checked against sums computed here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisName } from '../src/analysis/index.js';
import { attentionLayout } from '../src/analysis/attention-layout.js';
import { explicitQ, mat, mulABt, productFrobenius, productSvd, qrOfRows, subspaceSimilarity, svd, transpose, type Mat } from '../src/analysis/linalg.js';
import { summaryLine } from '../src/analysis/summary.js';
import { describeModel } from '../src/formats/registry.js';
import { expectClose } from './helpers/assert.js';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const DIR = join(ROOT, 'fixtures/attention');
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const EXP: any = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: analysis data as JSON
type Data = any;

const ALL: AnalysisName[] = ['attention', 'headImportance', 'attentionPatterns'];

async function run(
  kase: string,
  options: { numHeads?: number; numKvHeads?: number } = {},
): Promise<Record<string, { summary: string; data: Data; label: string }>> {
  const e = EXP[kase];
  const { analyses } = await analyzeFiles([join(DIR, e.a), join(DIR, e.b)], ALL, e.source === 'option' ? { numHeads: e.heads, ...options } : options);
  return Object.fromEntries(analyses.map((a) => [a.key, a]));
}

/** Deterministic pseudo-random matrix (xorshift), values in (−1, 1). */
function randomMat(rows: number, cols: number, seed: number): Mat {
  let s = seed >>> 0 || 1;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return mat(rows, cols, data);
}

/** XᵀY formed explicitly (n × n), for reference only. */
function explicitProduct(x: Mat, y: Mat): Float64Array {
  const n = x.cols;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let t = 0; t < x.rows; t++) out[i * n + j]! += x.data[t * n + i]! * y.data[t * n + j]!;
  return out;
}

describe('linear algebra on factors (src/analysis/linalg.ts)', () => {
  it('QR of Xᵀ: Q has orthonormal columns, Q·R reproduces Xᵀ, R is upper triangular', () => {
    const x = randomMat(6, 20, 7);
    const f = qrOfRows(x);
    const qt = explicitQ(f);
    const r = f.r;
    const qtq = mulABt(qt, qt);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expect(Math.abs(qtq.data[i * 6 + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-14);
    // (Q R)ᵀ = Rᵀ Qᵀ: row t of X is Σ_i R[i][t] · Qᵀ[i].
    for (let t = 0; t < 6; t++) {
      for (let c = 0; c < 20; c++) {
        let s = 0;
        for (let i = 0; i < 6; i++) s += r.data[i * 6 + t]! * qt.data[i * 20 + c]!;
        expect(Math.abs(s - x.data[t * 20 + c]!)).toBeLessThan(1e-14);
      }
      for (let i = t + 1; i < 6; i++) expect(r.data[i * 6 + t]).toBe(0);
    }
  });

  it('SVD: U·diag(s)·Vᵀ reproduces the matrix, s descending, and a 2×2 matches its closed form', () => {
    const a = randomMat(7, 5, 11);
    const { s, ut, vt } = svd(a);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 5; j++) {
        let v = 0;
        for (let k = 0; k < 5; k++) v += ut.data[k * 7 + i]! * s[k]! * vt.data[k * 5 + j]!;
        expect(Math.abs(v - a.data[i * 5 + j]!)).toBeLessThan(1e-13);
      }
    }
    // [[3, 0], [4, 5]]: σ = √45 and √5 (σ1² + σ2² = 50, σ1·σ2 = |det| = 15).
    const two = svd(mat(2, 2, Float64Array.from([3, 0, 4, 5])));
    expectClose(two.s[0], Math.sqrt(45), 1e-15, 0, 'sigma1');
    expectClose(two.s[1], Math.sqrt(5), 1e-15, 0, 'sigma2');
  });

  it('‖XᵀY‖_F and the singular values of XᵀY through the factors equal those of the explicit n×n product', () => {
    const x = randomMat(4, 30, 3);
    const y = randomMat(4, 30, 5);
    const full = explicitProduct(x, y);
    let ss = 0;
    for (const v of full) ss += v * v;
    expectClose(productFrobenius(x, y), Math.sqrt(ss), 1e-13, 0, 'frobenius');
    const p = productSvd(x, y, 2);
    // Uᵀ (XᵀY) V = diag(s) for the top vectors.
    for (let k = 0; k < 2; k++) {
      let v = 0;
      for (let i = 0; i < 30; i++) for (let j = 0; j < 30; j++) v += p.left.data[k * 30 + i]! * full[i * 30 + j]! * p.right.data[k * 30 + j]!;
      expectClose(v, p.s[k]!, 1e-12, 0, `sigma ${k}`);
    }
  });

  it('φ is 1 for one subspace in two bases (within 1e-12) and 0 for orthogonal subspaces', () => {
    const x = randomMat(3, 12, 9);
    const qt = explicitQ(qrOfRows(x));
    // Another basis of the same span: rows mixed by a random 3×3 matrix, orthonormalised again.
    const mixed = mulABt(randomMat(3, 3, 4), transpose(x));
    const other = explicitQ(qrOfRows(mixed));
    expect(Math.abs(subspaceSimilarity(qt, other, 3) - 1)).toBeLessThan(1e-12);
    const e = (i: number) => {
      const d = new Float64Array(12);
      d[i] = 1;
      return d;
    };
    const a = mat(2, 12, Float64Array.from([...e(0), ...e(1)]));
    const b = mat(2, 12, Float64Array.from([...e(2), ...e(3)]));
    expect(subspaceSimilarity(a, b, 2)).toBe(0);
    // A scaled factor leaves the singular subspaces of XᵀY unchanged.
    const y = randomMat(3, 12, 21);
    const twice = mat(
      3,
      12,
      x.data.map((v) => 2 * v),
    );
    const p1 = productSvd(x, y, 2);
    const p2 = productSvd(twice, y, 2);
    expect(Math.abs(subspaceSimilarity(p1.left, p2.left, 2) - 1)).toBeLessThan(1e-12);
    expect(Math.abs(subspaceSimilarity(p1.right, p2.right, 2) - 1)).toBeLessThan(1e-12);
    expect(subspaceSimilarity(a, mat(2, 12, Float64Array.from([...e(1), ...e(2)])), 2)).toBe(0.5);
  });
});

describe('attention layouts recognised', () => {
  const cases: Array<[string, string, string, number, number, number]> = [
    // case, layout, head count source, layers, heads, kv heads
    ['gpt_last_block', 'q_proj_out_proj', 'file metadata (num_attention_heads)', 3, 4, 4],
    ['mha', 'torch_mha', 'option --num-heads', 1, 3, 3],
    ['vit', 'torchvision_vit', 'option --num-heads', 2, 2, 2],
    ['llama', 'hf_q_proj', 'config.json (num_attention_heads, num_key_value_heads)', 2, 4, 2],
    ['gpt2', 'gpt2_c_attn', 'config.json (n_head)', 2, 4, 4],
    ['bert', 'bert', 'config.json (num_attention_heads)', 2, 4, 4],
  ];
  for (const [kase, layout, source, layers, heads, kv] of cases) {
    it(`${kase}: ${layout}, ${heads} heads (${kv} key/value) from ${source}`, async () => {
      const e = EXP[kase];
      const model = await describeModel(join(DIR, e.b));
      const r = attentionLayout(model, e.source === 'option' ? { numHeads: e.heads } : {});
      expect(r.kind).toBe('resolved');
      if (r.kind !== 'resolved') return;
      expect(r.layouts).toEqual([layout]);
      expect(r.counts.source).toBe(source);
      expect(r.layers.map((l) => l.name)).toEqual(Object.keys(e.layers));
      for (const l of r.layers) {
        expect([l.heads, l.kvHeads, l.dHead]).toEqual([heads, kv, e.layers[l.name].d_head]);
      }
      expect(r.layers).toHaveLength(layers);
    });
  }

  it('without a head count (no config, no metadata, no option) the layers are found but refused', async () => {
    const model = await describeModel(join(DIR, EXP.mha.a));
    const r = attentionLayout(model, {});
    expect(r.kind).toBe('unresolved');
    expect(r.kind === 'unresolved' && r.reason).toBe('head count unknown: pass --num-heads');
  });

  it('a stated key/value head count that the shapes contradict is refused, not overridden', async () => {
    const model = await describeModel(join(DIR, EXP.llama.a));
    const r = attentionLayout(model, { numKvHeads: 4 });
    expect(r.kind === 'unresolved' && r.reason).toMatch(/shapes give 2 key\/value heads, config\.json .* says 4/);
    const bad = attentionLayout(model, { numHeads: 5 });
    expect(bad.kind === 'unresolved' && bad.reason).toMatch(/32 query rows do not split into 5 heads/);
  });
});

describe('circuit norms, change and pattern similarity against torch float64', () => {
  for (const kase of ['gpt_last_block', 'gpt_full', 'mha', 'vit', 'llama', 'gpt2', 'bert']) {
    it(`${kase}: every head's W_QK/W_OV norms, change and φ equal torch's`, async () => {
      const e = EXP[kase];
      const r = await run(kase);
      const att = r.AttentionAnalysis!.data;
      const pat = r.AttentionPatternDiff!.data;
      const imp = r.HeadImportance!.data;
      expect(att.applicable).toBe(true);
      expect(att.layers.map((l: Data) => l.layer)).toEqual(Object.keys(e.layers));
      for (const [li, l] of att.layers.entries()) {
        const ref = e.layers[l.layer];
        for (const [h, got] of l.per_head.entries()) {
          const want = ref.heads[h];
          const tag = `${kase} ${l.layer}[${h}]`;
          for (const c of ['qk', 'ov']) {
            expectClose(got[c].frobenius_a, want[c].fro_a, 1e-10, 1e-15, `${tag} ${c} fro A`);
            expectClose(got[c].frobenius_b, want[c].fro_b, 1e-10, 1e-15, `${tag} ${c} fro B`);
            expectClose(got[c].spectral_a, want[c].spec_a, 1e-10, 1e-15, `${tag} ${c} spectral A`);
            expectClose(got[c].spectral_b, want[c].spec_b, 1e-10, 1e-15, `${tag} ${c} spectral B`);
            expectClose(got[c].change, want[c].change, 1e-9, 1e-15, `${tag} ${c} change`);
          }
          const p = pat.layers[li].per_head[h];
          expect(p.rank).toBe(ref.rank);
          expectClose(p.phi_query, want.phi_query, 0, 1e-9, `${tag} phi query`);
          expectClose(p.phi_key, want.phi_key, 0, 1e-9, `${tag} phi key`);
          expectClose(imp.layers[li].per_head[h].importance_b, want.ov.fro_b, 1e-10, 1e-15, `${tag} importance`);
        }
        if (ref.key_bias) {
          expect(l.key_bias.softmax_invariant).toBe(true);
          expectClose(l.key_bias.norm_a, ref.key_bias.norm_a, 1e-12, 1e-15, `${l.layer} key bias A`);
          expectClose(l.key_bias.norm_b, ref.key_bias.norm_b, 1e-12, 1e-15, `${l.layer} key bias B`);
          expectClose(l.key_bias.change, ref.key_bias.change, 1e-9, 1e-15, `${l.layer} key bias change`);
        } else expect(l.key_bias).toBeNull();
      }
    });
  }
});

describe('known answers', () => {
  it('a GPT fine-tuned in its last block: change only there, pattern similarity exactly 1 elsewhere', async () => {
    const e = EXP.gpt_last_block;
    expect(e.changed_tensors.every((n: string) => n.startsWith('h.2.'))).toBe(true);
    const r = await run('gpt_last_block');
    const att = r.AttentionAnalysis!.data;
    expect(att.layers_changed).toBe(1);
    expect(att.heads_changed).toBe(4);
    expect(att.most_changed.layer).toBe('h.2.attn');
    for (const l of att.layers) {
      const last = l.layer === 'h.2.attn';
      expect(l.changed_heads, l.layer).toBe(last ? 4 : 0);
      for (const h of l.per_head) {
        expect(h.qk.change > 0, `${l.layer}[${h.head}] qk`).toBe(last);
        expect(h.ov.change > 0, `${l.layer}[${h.head}] ov`).toBe(last);
      }
    }
    for (const l of r.AttentionPatternDiff!.data.layers) {
      for (const h of l.per_head) {
        if (l.layer === 'h.2.attn') expect(h.similarity).toBeLessThan(0.99);
        else expect(Math.abs(h.similarity - 1)).toBeLessThanOrEqual(1e-12);
      }
    }
    expect(r.AttentionPatternDiff!.data.unchanged_heads).toBe(8);
    for (const l of r.HeadImportance!.data.layers) {
      for (const h of l.per_head) expect(h.share_change === 0, `${l.layer}[${h.head}]`).toBe(l.layer !== 'h.2.attn');
      expect(l.per_head.reduce((s: number, h: Data) => s + h.share_b, 0)).toBeCloseTo(1, 12);
    }
    expect(summaryLine(r.AttentionAnalysis!)).toMatch(
      /^attention_analysis: layers=3, heads=12, changed_heads=4, layers_changed=1, max_qk_change=\d+\.\d{4}, max_ov_change=\d+\.\d{4}, most_changed=h\.2\.attn\[\d\]\.(qk|ov)$/,
    );
    expect(summaryLine(r.HeadImportance!)).toMatch(
      /^head_importance: proxy=weight_norm, heads=12, top=h\.\d\.attn\[\d\], top_share=0\.\d{4}, largest_shift=h\.2\.attn\[\d\], share_change=-?\d\.\d{4}$/,
    );
    expect(summaryLine(r.AttentionPatternDiff!)).toMatch(
      /^attention_pattern_diff: heads=12, mean_similarity=0\.\d{4}, min_similarity=0\.\d{4}, lowest=h\.2\.attn\[\d\], unchanged_heads=8$/,
    );
    expect(r.HeadImportance!.data.proxy).toBe(true);
    expect(r.HeadImportance!.data.note).toMatch(/Michel et al\. 2019/);
  });

  it('a fully fine-tuned GPT: every block and every head changes', async () => {
    const r = await run('gpt_full');
    const att = r.AttentionAnalysis!.data;
    expect(att.layers_changed).toBe(3);
    expect(att.heads_changed).toBe(12);
    expect(r.AttentionPatternDiff!.data.unchanged_heads).toBe(0);
    for (const l of r.AttentionPatternDiff!.data.layers) for (const h of l.per_head) expect(h.similarity).toBeLessThan(0.99);
  });

  it('grouped-query attention: query heads of a group read the same key/value head', async () => {
    const r = await run('llama');
    expect(r.AttentionAnalysis!.data.layers[0].per_head.map((h: Data) => h.kv_head)).toEqual([0, 0, 1, 1]);
  });

  it('a CNN: each analysis is not applicable, with the reason', async () => {
    const cnn = join(ROOT, 'fixtures/analysis_real/resnet18.pt');
    const { analyses } = await analyzeFiles([cnn, join(ROOT, 'fixtures/analysis_real/resnet18_recalibrated.pt')], ALL);
    expect(analyses.map((a) => a.key)).toEqual(['AttentionAnalysis', 'HeadImportance', 'AttentionPatternDiff']);
    for (const a of analyses) {
      expect(a.summary).toBe('not applicable (no attention layers (q/k/v/o projections, c_attn, query/key/value or in_proj_weight))');
      expect(a.data).toEqual({ applicable: false, reason: 'no attention layers (q/k/v/o projections, c_attn, query/key/value or in_proj_weight)' });
    }
  });

  it('NaN/Inf in a projection: that head is changed and marked non-finite, its numbers null, the others exact', async () => {
    const dir = join(ROOT, 'fixtures/analysis_real');
    const { analyses } = await analyzeFiles([join(dir, 'gpt.safetensors'), join(dir, 'gpt_injected.safetensors')], ['attention'], { numHeads: 2 });
    const data = analyses[0]!.data as Data;
    const heads = data.layers.flatMap((l: Data) => l.per_head.map((h: Data) => ({ layer: l.layer, ...h })));
    // The injected NaN (row 3) and +Inf (row 7) of h.0.attn.q_proj.weight are both in head 0 (rows 0–15).
    expect(heads.filter((h: Data) => h.changed).map((h: Data) => [h.layer, h.head, h.non_finite])).toEqual([['h.0.attn', 0, true]]);
    const bad = heads[0];
    expect([bad.qk.frobenius_b, bad.qk.change, bad.qk.rel_change]).toEqual([null, null, null]);
    for (const h of heads.slice(1)) expect([h.qk.change, h.ov.change, h.non_finite]).toEqual([0, 0, false]);
  });

  it('nn.MultiheadAttention without --num-heads: not applicable, asking for it', async () => {
    const e = EXP.mha;
    const { analyses } = await analyzeFiles([join(DIR, e.a), join(DIR, e.b)], ['attention']);
    expect(summaryLine(analyses[0]!)).toBe('attention_analysis: not applicable (head count unknown: pass --num-heads)');
  });
});

describe('command line', () => {
  it('the three options print their summary lines and JSON objects; --num-heads is taken and checked', async () => {
    requireBuild();
    const a = join(DIR, EXP.mha.a);
    const b = join(DIR, EXP.mha.b);
    const text = await cli([a, b, '--attention-analysis', '--head-importance', '--attention-pattern-diff', '--num-heads', '3']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^attention_analysis: layers=1, heads=3, changed_heads=3, /m);
    expect(text.stdout).toMatch(/^head_importance: proxy=weight_norm, heads=3, /m);
    expect(text.stdout).toMatch(/^attention_pattern_diff: heads=3, /m);
    const json = await cli([a, b, '--attention-analysis', '--head-importance', '--attention-pattern-diff', '--num-heads', '3', '-o', 'json']);
    const keys = (JSON.parse(json.stdout) as Array<Record<string, unknown>>).flatMap((o) => Object.keys(o));
    expect(keys).toEqual(expect.arrayContaining(['AttentionAnalysis', 'HeadImportance', 'AttentionPatternDiff']));
    const bad = await cli([a, b, '--attention-analysis', '--num-heads', 'three']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('diffai: --num-heads must be a positive integer, got three');
  });
});
