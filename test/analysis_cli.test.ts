/**
 * The analysis options end to end (`node bin/diffai.js`, dist/ must be built): text lines
 * after the unchanged diff lines, one-key objects appended in JSON/YAML, several checkpoints,
 * --fail-on anomalies as a CI gate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);

// Paths relative to the repository root (the CLI runs there), as users type them.
const core = (f: string) => `fixtures/core/${f}`;
const fx = (f: string) => `fixtures/analysis/${f}`;
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const REF: any = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'analysis', 'reference.json'), 'utf8'));
const BASE = core('digits_mlp.safetensors');
const ALL_FLAGS = [
  '--quantization-analysis',
  '--show-layer-impact',
  '--architecture-comparison',
  '--memory-analysis',
  '--anomaly-detection',
  '--change-summary',
  '--convergence-analysis',
  '--gradient-analysis',
  '--similarity-matrix',
];

describe('analysis options on the command line', () => {
  it('text: the plain diff unchanged, then the analysis lines', async () => {
    const [plain, q] = await Promise.all([
      cli([BASE, core('digits_mlp_bf16.safetensors')]),
      cli([BASE, core('digits_mlp_bf16.safetensors'), '--quantization-analysis']),
    ]);
    expect([plain.status, q.status]).toEqual([1, 1]);
    expect(q.stdout.startsWith(plain.stdout)).toBe(true);
    const rest = q.stdout.slice(plain.stdout.length).split('\n').filter(Boolean);
    const ref = REF.quantization['digits_mlp.safetensors|digits_mlp_bf16.safetensors'];
    // The documents' summary shape: compression is size B / size A (f32 -> bf16: 0.5).
    expect(rest[0]).toBe('quantization_analysis: compression=0.5000, precision_loss=minimal');
    expect(rest[1]).toBe(`  compression_ratio=2.0000x, size_ratio=0.5000, bytes=${ref.bytes_a}->${ref.bytes_b}, sqnr=${ref.sqnr_db.toFixed(2)}dB, tensors=6`);
    expect(rest.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    expect(rest).toHaveLength(1 + 1 + 1 + 6 + 1);
  });

  it('every option together, in text, JSON and YAML; JSON is the plain array plus one-key objects', async () => {
    const a = BASE;
    const b = core('digits_mlp_finetuned.safetensors');
    const [plain, text, json, yml] = await Promise.all([
      cli([a, b, '-o', 'json']),
      cli([a, b, ...ALL_FLAGS]),
      cli([a, b, ...ALL_FLAGS, '-o', 'json']),
      cli([a, b, ...ALL_FLAGS, '-o', 'yaml']),
    ]);
    for (const r of [text, json, yml]) expect(r.status, r.stderr).toBe(1);
    const labels = text.stdout
      .split('\n')
      .map((l) => /^(?:(?:\+|🚨|🧠|🏗️) )?([a-z_]+): /.exec(l)?.[1])
      .filter((l) => l !== undefined);
    expect(labels).toEqual([
      'change_summary',
      'layer_impact',
      'quantization_analysis',
      'architecture_comparison',
      'memory_analysis',
      'anomaly_detection',
      'gradient_analysis',
      'convergence_analysis',
      'similarity_matrix',
    ]);
    const value = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const base = JSON.parse(plain.stdout) as unknown[];
    expect(value.slice(0, base.length)).toEqual(base);
    expect(value.slice(base.length).map((e) => Object.keys(e))).toEqual([
      ['ChangeSummary'],
      ['LayerImpactAnalysis'],
      ['QuantizationAnalysis'],
      ['ArchitectureComparison'],
      ['MemoryAnalysis'],
      ['AnomalyDetection'],
      ['GradientAnalysis'],
      ['ConvergenceAnalysis'],
      ['SimilarityMatrix'],
    ]);
    expect(yaml.load(yml.stdout)).toEqual(value);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
    const sim = (value.at(-1) as any).SimilarityMatrix;
    const impact = REF.layer_impact['digits_mlp.safetensors|digits_mlp_finetuned.safetensors'];
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
    const li = (value.find((e) => 'LayerImpactAnalysis' in e) as any).LayerImpactAnalysis;
    for (const l of li.layers) expect(Math.abs(l.share - impact[l.layer].share)).toBeLessThan(1e-9);
    expect(sim.overall[0][1]).toBeGreaterThan(0.9);
    expect(sim.overall[0][1]).toBeLessThan(1);
  });

  it('--fail-on anomalies: findings exit 1 even when the files are identical; clean files exit 0', async () => {
    const dead = fx('digits_mlp_dead_units.safetensors');
    const [gate, shown, clean, noGate] = await Promise.all([
      cli([dead, dead, '--fail-on', 'anomalies']),
      cli([dead, dead, '--fail-on', 'anomalies', '--anomaly-detection']),
      cli([BASE, BASE, '--fail-on', 'anomalies']),
      cli([dead, dead, '--anomaly-detection']),
    ]);
    expect([gate.status, gate.stdout]).toEqual([1, 'No differences found.\n']);
    expect(shown.status).toBe(1);
    // The same file twice: each finding once (fc1 and fc2 have dead rows).
    expect(shown.stdout).toContain('🚨 anomaly_detection: type=dead_units, severity=warning, affected=2 layers\n  findings=2 (critical=0, warning=2, info=0)');
    expect(shown.stdout).toContain('dead_units: fc1.weight in fixtures/analysis/digits_mlp_dead_units.safetensors: 2 of 32 rows all zero (rows 3, 7)');
    expect([clean.status, clean.stdout]).toEqual([0, 'No differences found.\n']);
    expect(noGate.status).toBe(0);
    const nan = await cli([BASE, core('digits_mlp_nan_inf.safetensors'), '--anomaly-detection', '--fail-on', 'anomalies', '-o', 'json']);
    expect(nan.status).toBe(1);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
    const an = (JSON.parse(nan.stdout) as any[]).find((e) => 'AnomalyDetection' in e).AnomalyDetection;
    expect(an.findings.map((f: { type: string; tensors: string[] }) => `${f.type}:${f.tensors}`)).toEqual(['nan_inf:fc1.weight']);
  });

  it('three or more checkpoints: each consecutive pair, then convergence and the similarity matrix', async () => {
    const files = REF.sgd_trajectory.files.map(fx) as string[];
    const [text, json] = await Promise.all([
      cli([...files, '--convergence-analysis', '--similarity-matrix']),
      cli([...files, '--convergence-analysis', '--similarity-matrix', '-o', 'json']),
    ]);
    expect(text.status).toBe(1);
    const headers = text.stdout.split('\n').filter((l) => l.startsWith('--- '));
    expect(headers).toEqual(files.slice(1).map((f, k) => `--- ${files[k]} -> ${f}`));
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('+ convergence_analysis: '));
    const rel = REF.sgd_trajectory.rel_update_overall as number[];
    const overall = rel.map((x) => x.toFixed(4)).join(' -> ');
    // No stored epochs in these safetensors: the trend is per checkpoint, and says so.
    expect(lines[at]).toBe(`+ convergence_analysis: status=converging, stability=${rel.at(-1)!.toFixed(4)}, action="Continue training"`);
    expect(lines[at + 1]).toMatch(/^ {2}checkpoints=5 at positions 1, 2, 3, 4, 5 \(no stored epoch or step: the trend is per checkpoint/);
    expect(lines[at + 2]).toBe(`  trend=shrinking of the relative update per checkpoint: ${overall}; layers shrinking:3`);
    const value = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(value.map((e) => Object.keys(e)[0])).toEqual(['Diff', 'Diff', 'Diff', 'Diff', 'ConvergenceAnalysis', 'SimilarityMatrix']);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
    const sim = (value[5] as any).SimilarityMatrix;
    expect(sim.models).toEqual(files);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(Math.abs(sim.overall[i][j] - REF.sgd_similarity.overall[i][j])).toBeLessThan(1e-12);
  });

  it('PyTorch checkpoints: gradient analysis from Adam state, in YAML', async () => {
    const files = REF.adam_optimizer_state.files.map(fx) as string[];
    const r = await cli([files[0]!, files[1]!, '--gradient-analysis', '-o', 'yaml']);
    expect(r.status, r.stderr).toBe(1);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
    const g = (yaml.load(r.stdout) as any[]).find((e) => 'GradientAnalysis' in e).GradientAnalysis;
    expect(g.source).toBe('optimizer_state');
    const ref = REF.adam_optimizer_state.per_checkpoint[1]['model_state_dict.fc1.weight'];
    const e = g.state_b.find((s: { param: string }) => s.param === 'model_state_dict.fc1.weight');
    expect(Math.abs(e.norms.exp_avg - ref.exp_avg_norm) / ref.exp_avg_norm).toBeLessThan(1e-9);
  });

  it('directories with an analysis, and a bad --fail-on value, exit 2 with one line', async () => {
    const [dir, bad] = await Promise.all([cli(['fixtures/core', 'fixtures/core', '--change-summary']), cli([BASE, BASE, '--fail-on', 'everything'])]);
    for (const r of [dir, bad]) {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
