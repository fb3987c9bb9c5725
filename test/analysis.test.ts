/**
 * The ML analyses through the library, against known answers: numbers computed in float64
 * by fixtures/generate_analysis.py (fixtures/analysis/reference.json) and the injected
 * defects of the core fixtures (fixtures/core/reference_stats.json, fixtures/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, trendOf, type AnalysisEntry } from '../src/analysis/index.js';
import { expectClose } from './helpers/assert.js';
import { REFERENCE, ROOT, core } from './helpers/files.js';

vi.setConfig({ testTimeout: 60_000 });

const ANALYSIS = join(ROOT, 'fixtures', 'analysis');
const fx = (name: string) => join(ANALYSIS, name);
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const REF: any = JSON.parse(readFileSync(fx('reference.json'), 'utf8'));
const BASE = core('digits_mlp.safetensors');

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
type Data = any;
const only = (entries: AnalysisEntry[], key: string): Data[] => entries.filter((e) => e.key === key).map((e) => e.data);

describe('quantization analysis', () => {
  for (const [file, lo, hi] of [
    ['digits_mlp_f16.safetensors', 60, 80],
    ['digits_mlp_bf16.safetensors', 40, 60],
  ] as const) {
    it(`${file}: 2x compression by bytes, SQNR and errors as the float64 reference`, async () => {
      const ref = REF.quantization[`digits_mlp.safetensors|${file}`];
      const { analyses } = await analyzeFiles([BASE, core(file)], ['quantization']);
      const [q] = only(analyses, 'QuantizationAnalysis');
      expect(q.tensors_requantized).toBe(6);
      expect([q.bytes_a, q.bytes_b]).toEqual([ref.bytes_a, ref.bytes_b]);
      expect(q.compression_ratio).toBe(2);
      expect(q.size_ratio).toBe(ref.compression_ratio);
      expectClose(q.sqnr_db, ref.sqnr_db, 1e-9, 0, 'overall sqnr');
      expect(q.sqnr_db).toBeGreaterThan(lo);
      expect(q.sqnr_db).toBeLessThan(hi);
      for (const t of q.tensors) {
        const r = ref.tensors[t.name];
        expect([t.dtype_a, t.dtype_b, t.bytes_a, t.bytes_b], t.name).toEqual([r.dtype_a, r.dtype_b, r.bytes_a, r.bytes_b]);
        expectClose(t.sqnr_db, r.sqnr_db, 1e-9, 0, `${t.name} sqnr`);
        expectClose(t.rmse, r.rmse, 1e-9, 0, `${t.name} rmse`);
        expect(t.max_abs_error, `${t.name} max abs`).toBe(r.max_abs_error);
        expectClose(t.cosine_similarity, r.cosine_similarity, 1e-12, 0, `${t.name} cosine`);
      }
      const worst = Object.entries(ref.tensors as Record<string, { sqnr_db: number }>).sort((x, y) => x[1].sqnr_db - y[1].sqnr_db)[0]![0];
      expect(q.worst_tensors[0]).toBe(worst);
      expect(q.precision_loss).toBe(ref.sqnr_db >= 60 ? 'negligible' : 'minimal');
    });
  }

  it('no dtype change: no requantized tensors and no invented numbers', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_finetuned.safetensors')], ['quantization']);
    const [q] = only(analyses, 'QuantizationAnalysis');
    expect(q.tensors_requantized).toBe(0);
    expect([q.compression_ratio, q.sqnr_db, q.precision_loss]).toEqual([null, null, 'unknown']);
  });
});

describe('anomaly detection', () => {
  it('finds the injected NaN/Inf of digits_mlp_nan_inf (counts from the reference)', async () => {
    const ref = REFERENCE.files['digits_mlp_nan_inf.safetensors']!.tensors['fc1.weight']!;
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_nan_inf.safetensors')], ['anomalies']);
    const [a] = only(analyses, 'AnomalyDetection');
    const nan = a.findings.filter((f: Data) => f.type === 'nan_inf');
    expect(nan).toHaveLength(1);
    expect(nan[0].tensors).toEqual(['fc1.weight']);
    expect(nan[0].severity).toBe('critical');
    expect(nan[0].model).toBe(core('digits_mlp_nan_inf.safetensors'));
    expect(nan[0].value).toBe(ref.nan_count + ref.posinf_count + ref.neginf_count);
    expect(nan[0].detail).toContain(`nan=${ref.nan_count}, posinf=${ref.posinf_count}, neginf=${ref.neginf_count}`);
  });

  it('finds fc2.weight x1e4 as exploding (against A and against its peers) and as a sudden change', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_scaled.safetensors')], ['anomalies']);
    const [a] = only(analyses, 'AnomalyDetection');
    const types = a.findings.map((f: Data) => `${f.type}:${f.tensors.join()}:${f.severity}`).sort();
    expect(types).toEqual(['exploding:fc2.weight:critical', 'exploding:fc2.weight:warning', 'sudden_change:fc2.weight:critical']);
    const vsA = a.findings.find((f: Data) => f.type === 'exploding' && f.severity === 'critical');
    const refA = REFERENCE.files['digits_mlp.safetensors']!.tensors['fc2.weight']!;
    const refB = REFERENCE.files['digits_mlp_scaled.safetensors']!.tensors['fc2.weight']!;
    expectClose(vsA.value, refB.l2_norm! / refA.l2_norm!, 1e-9, 0, 'norm ratio');
    const sudden = a.findings.find((f: Data) => f.type === 'sudden_change');
    expectClose(sudden.value, REFERENCE.pairs['digits_mlp.safetensors|digits_mlp_scaled.safetensors']!['fc2.weight']!.rel_l2_change, 1e-9, 0, 'rel change');
  });

  it('finds fc3.weight x1e-4 as vanishing', async () => {
    const { analyses } = await analyzeFiles([BASE, fx('digits_mlp_vanished.safetensors')], ['anomalies']);
    const [a] = only(analyses, 'AnomalyDetection');
    const vanishing = a.findings.filter((f: Data) => f.type === 'vanishing');
    expect(vanishing.map((f: Data) => f.tensors[0])).toEqual(['fc3.weight', 'fc3.weight']);
    const vsA = vanishing.find((f: Data) => f.severity === 'critical');
    expectClose(vsA.value, REF.vanished.norm_ratio, 1e-9, 0, 'norm ratio');
  });

  it('finds the zeroed rows (dead units) exactly', async () => {
    const { analyses } = await analyzeFiles([BASE, fx('digits_mlp_dead_units.safetensors')], ['anomalies']);
    const [a] = only(analyses, 'AnomalyDetection');
    const dead = a.findings.filter((f: Data) => f.type === 'dead_units');
    expect(Object.fromEntries(dead.map((f: Data) => [f.tensors[0], f.value]))).toEqual(
      Object.fromEntries(Object.entries(REF.dead_units.zero_rows as Record<string, number[]>).map(([k, v]) => [k, v.length])),
    );
    for (const f of dead) expect(f.detail).toContain(`rows ${REF.dead_units.zero_rows[f.tensors[0]].join(', ')}`);
    expect(a.findings.filter((f: Data) => f.type !== 'dead_units')).toEqual([]);
  });

  it('a normal fine-tune raises nothing', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_finetuned.safetensors')], ['anomalies']);
    expect(only(analyses, 'AnomalyDetection')[0].findings).toEqual([]);
  });
});

describe('layer impact and change summary', () => {
  it('per-layer relative change and share as float64 (base vs finetuned)', async () => {
    const ref = REF.layer_impact['digits_mlp.safetensors|digits_mlp_finetuned.safetensors'];
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_finetuned.safetensors')], ['layerImpact', 'changeSummary']);
    const [li] = only(analyses, 'LayerImpactAnalysis');
    expect(li.layers.map((l: Data) => l.layer)).toEqual(Object.keys(ref).sort((x, y) => ref[y].share - ref[x].share));
    for (const l of li.layers) {
      expectClose(l.rel_l2_change, ref[l.layer].rel_l2_change, 1e-9, 0, `${l.layer} rel`);
      expectClose(l.share, ref[l.layer].share, 1e-9, 0, `${l.layer} share`);
    }
    const [cs] = only(analyses, 'ChangeSummary');
    const pair = REFERENCE.pairs['digits_mlp.safetensors|digits_mlp_finetuned.safetensors']!;
    expect(cs.counts_by_kind).toEqual({ TensorStatsChanged: 6, Modified: 1 });
    expect(cs.elements_changed).toBe(Object.values(pair).reduce((s, p) => s + p.changed_elements, 0));
    const top = Object.entries(pair)
      .sort((x, y) => y[1].rel_l2_change! - x[1].rel_l2_change!)
      .slice(0, 5)
      .map(([n]) => n);
    expect(cs.top_changes.map((t: Data) => t.name)).toEqual(top);
  });
});

describe('--shape-only: nothing read, nothing invented', () => {
  it('value-based numbers are null; structure-based ones still come from the headers', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_reshaped.safetensors')], ['layerImpact', 'anomalies', 'gradients', 'architecture'], {
      shapeOnly: true,
    });
    const [li] = only(analyses, 'LayerImpactAnalysis');
    expect(li.model_rel_l2_change).toBeNull();
    expect(li.layers.every((l: Data) => l.rel_l2_change === null && l.share === null)).toBe(true);
    expect(
      li.layers
        .filter((l: Data) => l.not_compared.length > 0)
        .map((l: Data) => l.layer)
        .sort(),
    ).toEqual(['fc2', 'fc3']);
    const [an] = only(analyses, 'AnomalyDetection');
    expect([an.tensors_checked, an.findings_total]).toEqual([0, 0]);
    expect(only(analyses, 'GradientAnalysis')[0].update_norm).toBeNull();
    expect(only(analyses, 'ArchitectureComparison')[0].model_b.params).toBe(3122);
  });
});

describe('architecture and memory', () => {
  it('layer added / removed / reshaped and parameter counts from shapes', async () => {
    const added = await analyzeFiles([BASE, core('digits_mlp_layer_added.safetensors')], ['architecture', 'memory']);
    const [arch] = only(added.analyses, 'ArchitectureComparison');
    expect([arch.model_a.params, arch.model_b.params]).toEqual([2778, 2778 + 16 * 16 + 16]);
    expect([arch.model_a.family, arch.layers_added, arch.layers_removed]).toEqual(['mlp', ['fc_extra'], []]);
    const [mem] = only(added.analyses, 'MemoryAnalysis');
    expect([mem.model_a.total_bytes, mem.delta_bytes]).toEqual([2778 * 4, 272 * 4]);
    const reshaped = await analyzeFiles([BASE, core('digits_mlp_reshaped.safetensors')], ['architecture']);
    expect(only(reshaped.analyses, 'ArchitectureComparison')[0].layers_reshaped).toEqual(['fc2', 'fc3']);
    const removed = await analyzeFiles([BASE, core('digits_mlp_layer_removed.safetensors')], ['architecture']);
    expect(only(removed.analyses, 'ArchitectureComparison')[0].layers_removed).toEqual(['fc2']);
  });

  it('memory of an f16 copy: bytes by dtype halve; Adam checkpoints split weights and optimizer state', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_f16.safetensors')], ['memory']);
    const [m] = only(analyses, 'MemoryAnalysis');
    expect([m.model_a.bytes_by_dtype, m.model_b.bytes_by_dtype, m.delta_ratio]).toEqual([{ f32: 11112 }, { f16: 5556 }, -0.5]);
    const adam = await analyzeFiles([fx('adam_epoch1.pt'), fx('adam_epoch2.pt')], ['memory', 'architecture']);
    const [am] = only(adam.analyses, 'MemoryAnalysis');
    // Weights 2,778 f32; Adam keeps exp_avg and exp_avg_sq per parameter plus a step scalar per tensor (6).
    expect([am.model_a.inference_weight_bytes, am.model_a.optimizer_state_bytes]).toEqual([2778 * 4, (2 * 2778 + 6) * 4]);
    expect(only(adam.analyses, 'ArchitectureComparison')[0].model_a.params).toBe(2778);
  });
});

describe('training trajectories', () => {
  const sgd = REF.sgd_trajectory.files.map(fx);
  it('SGD epochs 1..5: per-layer updates match float64 and shrink', async () => {
    const { analyses, pairs } = await analyzeFiles(sgd, ['convergence']);
    expect(pairs).toHaveLength(sgd.length - 1);
    const [c] = only(analyses, 'ConvergenceAnalysis');
    expect(c.trend).toBe('shrinking');
    for (const [k, v] of (c.rel_updates as number[]).entries()) expectClose(v, REF.sgd_trajectory.rel_update_overall[k], 1e-9, 0, `overall ${k}`);
    for (const l of c.layers) {
      expect(l.trend, l.layer).toBe('shrinking');
      for (const [k, v] of (l.rel_updates as number[]).entries())
        expectClose(v, REF.sgd_trajectory.rel_update_per_layer[l.layer][k], 1e-9, 0, `${l.layer} ${k}`);
    }
  });

  it('similarity matrix: every pair and every layer equals the float64 cosine', async () => {
    const { analyses } = await analyzeFiles(sgd, ['similarity']);
    const [s] = only(analyses, 'SimilarityMatrix');
    const ref = REF.sgd_similarity;
    for (let i = 0; i < sgd.length; i++)
      for (let j = 0; j < sgd.length; j++) {
        expectClose(s.overall[i][j], ref.overall[i][j], 1e-12, 0, `overall ${i},${j}`);
        for (const layer of Object.keys(ref.per_layer)) expectClose(s.per_layer[layer][i][j], ref.per_layer[layer][i][j], 1e-12, 0, `${layer} ${i},${j}`);
      }
  });

  it('Adam torch checkpoints: convergence on model_state_dict, optimizer-state norms mapped to parameters', async () => {
    const adam = REF.adam_trajectory.files.map(fx);
    const { analyses } = await analyzeFiles(adam, ['convergence', 'gradients', 'similarity']);
    const [c] = only(analyses, 'ConvergenceAnalysis');
    expect(c.trend).toBe('shrinking');
    for (const l of c.layers) {
      for (const [k, v] of (l.rel_updates as number[]).entries())
        expectClose(v, REF.adam_trajectory.rel_update_per_layer[l.layer][k], 1e-9, 0, `${l.layer} ${k}`);
    }
    const grads = only(analyses, 'GradientAnalysis');
    expect(grads).toHaveLength(2);
    for (const [k, g] of grads.entries()) {
      expect(g.source).toBe('optimizer_state');
      for (const [which, idx] of [
        ['state_a', k],
        ['state_b', k + 1],
      ] as const) {
        const ref = REF.adam_optimizer_state.per_checkpoint[idx];
        for (const e of g[which]) {
          const r = ref[e.param];
          expect(r, `${e.param}`).toBeDefined();
          expect(e.index).toBe(r.state_index);
          expectClose(e.norms.exp_avg, r.exp_avg_norm, 1e-9, 0, `${e.param} exp_avg`);
          expectClose(e.norms.exp_avg_sq, r.exp_avg_sq_norm, 1e-9, 0, `${e.param} exp_avg_sq`);
        }
      }
    }
    const [s] = only(analyses, 'SimilarityMatrix');
    for (let i = 0; i < adam.length; i++)
      for (let j = 0; j < adam.length; j++) expectClose(s.overall[i][j], REF.adam_similarity.overall[i][j], 1e-12, 0, `adam ${i},${j}`);
  });

  it('without optimizer state, gradient analysis reports the update dW, labelled as such', async () => {
    const { analyses } = await analyzeFiles([BASE, core('digits_mlp_finetuned.safetensors')], ['gradients']);
    const [g] = only(analyses, 'GradientAnalysis');
    expect(g.source).toBe('parameter_update');
    const ref = REF.layer_impact['digits_mlp.safetensors|digits_mlp_finetuned.safetensors'];
    for (const l of g.layers) expectClose(l.rel_update, ref[l.layer].rel_l2_change, 1e-9, 0, l.layer);
  });

  it('trend rules', () => {
    expect(trendOf([0.4, 0.1, 0.05])).toBe('shrinking');
    expect(trendOf([0.1, 0.105, 0.1])).toBe('steady');
    expect(trendOf([0.1, 0.2, 0.5])).toBe('growing');
    expect(trendOf([0.1, 0.3, 0.1])).toBe('oscillating');
    expect(trendOf([0.1])).toBe('insufficient');
  });
});
