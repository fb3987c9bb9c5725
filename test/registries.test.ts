/**
 * The analysis and renderer registries: every analysis is reachable by its documented flag
 * and JSON key, offers table/series/matrix data that agrees with its JSON object, and every
 * report kind renders through `render(report, format)`.
 */
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ANALYSES, ANALYSIS_NAMES, DiffaiError, OUTPUT_FORMATS, analyzeFiles, diffSequence, render, type Report } from '../src/index.js';
import type { ModelDescription } from '../src/formats/types.js';
import { ROOT, core } from './helpers/files.js';

const fx = (name: string) => join(ROOT, 'fixtures', 'analysis', name);
const SGD = [1, 2, 3].map((k) => fx(`sgd_epoch${k}.safetensors`));

/** The documented options and JSON keys (docs/analyses.md), written out independently of the code. */
const DOCUMENTED: Record<string, [flag: string, key: string, label: string]> = {
  quantization: ['quantization-analysis', 'QuantizationAnalysis', 'quantization_analysis'],
  layerImpact: ['show-layer-impact', 'LayerImpactAnalysis', 'layer_impact'],
  architecture: ['architecture-comparison', 'ArchitectureComparison', 'architecture_comparison'],
  memory: ['memory-analysis', 'MemoryAnalysis', 'memory_analysis'],
  anomalies: ['anomaly-detection', 'AnomalyDetection', 'anomaly_detection'],
  changeSummary: ['change-summary', 'ChangeSummary', 'change_summary'],
  convergence: ['convergence-analysis', 'ConvergenceAnalysis', 'convergence_analysis'],
  gradients: ['gradient-analysis', 'GradientAnalysis', 'gradient_analysis'],
  similarity: ['similarity-matrix', 'SimilarityMatrix', 'similarity_matrix'],
  // issue 11: the JSON key is the flag in PascalCase, the label the flag in snake_case
  learningProgress: ['learning-progress', 'LearningProgress', 'learning_progress'],
  hyperparameters: ['hyperparameter-impact', 'HyperparameterImpact', 'hyperparameter_impact'],
  deployment: ['deployment-readiness', 'DeploymentReadiness', 'deployment_readiness'],
  risk: ['risk-assessment', 'RiskAssessment', 'risk_assessment'],
  regression: ['regression-test', 'RegressionTest', 'regression_test'],
  degradation: ['alert-on-degradation', 'AlertOnDegradation', 'alert_on_degradation'],
  // issue 12
  attention: ['attention-analysis', 'AttentionAnalysis', 'attention_analysis'],
  headImportance: ['head-importance', 'HeadImportance', 'head_importance'],
  attentionPatterns: ['attention-pattern-diff', 'AttentionPatternDiff', 'attention_pattern_diff'],
  embedding: ['embedding-analysis', 'EmbeddingAnalysis', 'embedding_analysis'],
  clustering: ['clustering-change', 'ClusteringChange', 'clustering_change'],
  // issue 12, beyond the documents
  lowRankDelta: ['low-rank-delta', 'LowRankDelta', 'low_rank_delta'],
  spectral: ['spectral-analysis', 'SpectralAnalysis', 'spectral_analysis'],
  // issue 11
  learningRate: ['learning-rate-analysis', 'LearningRateAnalysis', 'learning_rate_analysis'],
  paramEfficiency: ['param-efficiency-analysis', 'ParamEfficiencyAnalysis', 'param_efficiency_analysis'],
  performanceImpact: ['performance-impact-estimate', 'PerformanceImpactEstimate', 'performance_impact_estimate'],
  inferenceSpeed: ['inference-speed-estimate', 'InferenceSpeedEstimate', 'inference_speed_estimate'],
};

describe('analysis registry', () => {
  it('registers each documented analysis with its flag, key and label', async () => {
    expect([...ANALYSIS_NAMES].sort()).toEqual(Object.keys(DOCUMENTED).sort());
    for (const name of ANALYSIS_NAMES) {
      const plugin = await ANALYSES[name].load();
      expect([ANALYSES[name].flag, plugin.key, plugin.label]).toEqual(DOCUMENTED[name]);
      expect(ANALYSES[name].describe.length).toBeGreaterThan(10);
    }
  });

  it('declares the extra passes it needs: only the analyses that read more than the diff pass list any', async () => {
    const needs = Object.fromEntries(await Promise.all(ANALYSIS_NAMES.map(async (n) => [n, (await ANALYSES[n].load()).needs ?? []] as const)));
    expect(needs).toEqual({
      changeSummary: [],
      layerImpact: [],
      quantization: ['snappedGrids', 'quantizedLinks'],
      architecture: [],
      memory: [],
      anomalies: ['zeroRows'],
      gradients: [],
      convergence: [],
      similarity: ['pairCompare'],
      learningProgress: ['baselineCompare'],
      hyperparameters: [],
      deployment: [],
      risk: [],
      regression: ['tolerances'],
      degradation: [],
      attention: ['attentionHeads'],
      headImportance: ['attentionHeads'],
      attentionPatterns: ['attentionHeads'],
      embedding: ['embeddings'],
      clustering: ['clustering'],
      lowRankDelta: ['lowRankDeltas'],
      spectral: ['matrixSpectra'],
      learningRate: ['adamSteps'],
      paramEfficiency: ['spectralNorms'],
      performanceImpact: ['spectralNorms', 'deltaSpectralNorms'],
      inferenceSpeed: [],
    });
  });

  it('tables, series and matrices carry the same numbers as the JSON objects', async () => {
    const { analyses } = await analyzeFiles(SGD, ANALYSIS_NAMES);
    const by = (key: string) => analyses.filter((e) => e.key === key);
    const [impact] = by('LayerImpactAnalysis');
    const layers = impact!.data.layers as Array<{ layer: string; rel_l2_change: number | null; share: number | null }>;
    expect(impact!.table!.columns.slice(0, 3)).toEqual(['layer', 'rel_l2_change', 'share']);
    expect(impact!.table!.rows.map((r) => r.slice(0, 3))).toEqual(layers.map((l) => [l.layer, l.rel_l2_change, l.share]));
    // Shares of the total change sum to 1 over the layers.
    expect(layers.reduce((s, l) => s + (l.share ?? 0), 0)).toBeCloseTo(1, 12);
    const [conv] = by('ConvergenceAnalysis');
    expect(conv!.series![0]).toEqual({ name: 'model', x: ['1->2', '2->3'], values: conv!.data.rel_updates });
    expect(conv!.series!.length).toBe(1 + (conv!.data.layers as unknown[]).length);
    const [sim] = by('SimilarityMatrix');
    expect(sim!.matrix).toEqual({ labels: SGD, values: sim!.data.overall });
    expect(by('MemoryAnalysis')).toHaveLength(2);
    for (const e of by('MemoryAnalysis')) {
      const a = (e.data.model_a as { bytes_by_dtype: Record<string, number> }).bytes_by_dtype;
      expect(e.table!.rows.map((r) => r[1])).toEqual(Object.values(a));
    }
  });
});

const model = (path: string): ModelDescription => ({ path, format: 'safetensors', tensors: [], leaves: {}, warnings: [] }) as unknown as ModelDescription;

describe('renderer registry', () => {
  it('offers text, json, yaml, markdown and html', () => {
    expect(OUTPUT_FORMATS).toEqual(['text', 'json', 'yaml', 'markdown', 'html']);
  });

  it('renders every report kind', async () => {
    const pair: Report = { kind: 'pair', a: model('a.st'), b: model('b.st'), results: [{ kind: 'Added', name: 'epoch', value: 3 }] };
    expect(await render(pair, 'text')).toBe('  + epoch: 3\n');
    expect(JSON.parse(await render(pair, 'json'))).toEqual([{ Added: ['epoch', 3] }]);
    expect(yaml.load(await render(pair, 'yaml'))).toEqual([{ Added: ['epoch', 3] }]);
    const seq: Report = {
      kind: 'sequence',
      models: [model('a'), model('b'), model('c')],
      pairs: [
        { ...pair, a: model('a'), b: model('b') },
        { kind: 'pair', a: model('b'), b: model('c'), results: [] },
      ],
      analyses: [],
    };
    expect(await render(seq, 'text')).toBe('--- a -> b\n  + epoch: 3\n--- b -> c\nNo differences found.\n');
    expect(JSON.parse(await render(seq, 'json'))).toEqual([
      { Diff: { a: 'a', b: 'b', differences: [{ Added: ['epoch', 3] }] } },
      { Diff: { a: 'b', b: 'c', differences: [] } },
    ]);
    const dir: Report = {
      kind: 'directory',
      a: 'x',
      b: 'y',
      files: [
        { file: 'm.st', status: 'only_in_b', results: [] },
        { file: 'n.st', status: 'identical', results: [] },
      ],
    };
    expect(await render(dir, 'text')).toBe('Only in y: m.st\n');
    expect(JSON.parse(await render(dir, 'json'))).toEqual([
      { file: 'm.st', status: 'only_in_b', differences: [] },
      { file: 'n.st', status: 'identical', differences: [] },
    ]);
    const inspect: Report = { kind: 'inspect', file: 'f.st', format: 'safetensors', tensors: [], metadata: { step: 7 }, warnings: [] };
    expect(JSON.parse(await render(inspect, 'json'))).toEqual({ file: 'f.st', format: 'safetensors', tensors: [], metadata: { step: 7 } });
    expect(await render(inspect, 'text')).toBe('f.st: safetensors, 0 tensors, 0 parameters\nmetadata:\n  step: 7\n');
  });
});

describe('diffSequence', () => {
  it('two files give a pair report with analyses, three a sequence; directories are refused', async () => {
    const two = await diffSequence([core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors')], ['changeSummary']);
    expect(two.kind).toBe('pair');
    expect(two.analyses.map((e) => e.key)).toEqual(['ChangeSummary']);
    const three = await diffSequence(SGD, []);
    expect(three.kind).toBe('sequence');
    if (three.kind === 'sequence')
      expect(three.pairs.map((p) => [p.a.path, p.b.path])).toEqual([
        [SGD[0], SGD[1]],
        [SGD[1], SGD[2]],
      ]);
    await expect(diffSequence([join(ROOT, 'fixtures', 'core'), SGD[0]!], [])).rejects.toThrow(DiffaiError);
  });
});
