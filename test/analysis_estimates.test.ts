/**
 * Learning-rate analysis, parameter efficiency, performance impact and inference speed
 * (issue 11) against values torch recorded in float64 (fixtures/generate_mlops.py →
 * fixtures/mlops/expected.json) and float64 recomputations from the tensors' bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisName } from '../src/analysis/index.js';
import { DEVICE_PROFILES } from '../src/analysis/device-profiles.js';
import { summaryLine } from '../src/analysis/summary.js';
import type { DiffOptions } from '../src/diff/differ.js';
import { describeModel } from '../src/formats/registry.js';
import { expectClose } from './helpers/assert.js';
import { cli } from './helpers/cli.js';
import { decodeTensor } from './helpers/decode.js';
import { f32Bytes } from './helpers/dtypes.js';
import { ROOT, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const mlops = (f: string) => join(ROOT, 'fixtures', 'mlops', f);
const real = (f: string) => join(ROOT, 'fixtures', 'analysis_real', f);
const RESNET18_ZEROS = join(ROOT, 'fixtures', 'model_view', 'resnet18_zeros.pt');
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
type Data = any;
const EXP: Data = JSON.parse(readFileSync(mlops('expected.json'), 'utf8'));

async function analysis(files: string[], name: AnalysisName, options: DiffOptions = {}) {
  const { analyses } = await analyzeFiles(files, [name], options);
  const entry = analyses.at(-1)!;
  return { entry, data: entry.data as Data };
}

describe('--learning-rate-analysis', () => {
  for (const kind of ['adam', 'amsgrad', 'sgd'] as const) {
    it(`${kind}: the effective step per layer of each checkpoint is torch's formula in float64; one step apart the measured displacement equals it`, async () => {
      const ref = EXP.optimizers[kind];
      const { entry, data } = await analysis([mlops(`${kind}_step5.pt`), mlops(`${kind}_step6.pt`)], 'learningRate');
      for (const [side, step] of [
        ['a', 'step5'],
        ['b', 'step6'],
      ] as const) {
        const s = data[side];
        expect(s.optimizer).toBe(kind === 'sgd' ? 'sgd' : 'adam');
        expect(s.step).toBe(step === 'step5' ? 5 : 6);
        expectClose(s.effective_step_norm, ref[step].effective_step_norm, 1e-9, 0, `${side} step norm`);
        expectClose(s.effective_step_rms, ref[step].effective_step_rms, 1e-9, 0, `${side} step rms`);
        for (const layer of ['fc1', 'fc2', 'fc3']) {
          const got = s.layers.find((l: Data) => l.layer === `model_state_dict.${layer}`);
          const want = ref[step].layers[layer];
          expectClose(got.effective_step_rms, want.effective_step_rms, 1e-9, 0, `${side} ${layer} rms`);
          expectClose(got.relative_to_weight, want.relative_to_weight, 1e-9, 0, `${side} ${layer} relative to W`);
        }
      }
      expect(data.steps_between).toBe(1);
      expectClose(data.displacement_per_step, ref.displacement_5_6.norm, 1e-9, 0, 'displacement per step');
      // the 6th update is lr·u of step6's state, up to the float32 rounding of the stored weights
      expectClose(data.displacement_to_step, 1, 1e-5, 0, 'displacement / effective step');
      for (const l of data.layers) expectClose(l.displacement_to_step, 1, 1e-5, 0, `${l.layer} displacement / step`);
      expect(summaryLine(entry)).toMatch(
        new RegExp(
          `^learning_rate_analysis: optimizer=${kind === 'sgd' ? 'sgd' : 'adam'}, lr=${ref.lr.toFixed(4)}, step_rms=\\S+, rel_step=\\S+, steps=1, displacement_to_step=1\\.0000$`,
        ),
      );
    });
  }

  it('Adam epochs of a longer run (ExponentialLR): steps between the stored step counts and the displacement per step recomputed in float64', async () => {
    const [fa, fb] = [real('adam_epoch1.pt'), real('adam_epoch5.pt')];
    const { data } = await analysis([fa, fb], 'learningRate');
    const [da, db] = await Promise.all([describeModel(fa), describeModel(fb)]);
    const value = (d: typeof da, n: string) => (decodeTensor(d.tensors.find((t) => t.name === n)!) as number[])[0]!;
    const step = (d: typeof da) => value(d, 'optimizer_state_dict.state.0.step');
    expect([data.a.step, data.b.step]).toEqual([step(da), step(db)]);
    let sq = 0;
    for (const t of da.tensors.filter((x) => x.name.startsWith('model_state_dict.'))) {
      const x = decodeTensor(t) as number[];
      const y = decodeTensor(db.tensors.find((u) => u.name === t.name)!) as number[];
      for (let i = 0; i < x.length; i++) sq += (y[i]! - x[i]!) ** 2;
    }
    expectClose(data.displacement_per_step, Math.sqrt(sq) / (step(db) - step(da)), 1e-9, 0, 'displacement per step');
    expectClose(data.displacement_to_step, data.displacement_per_step / data.b.effective_step_norm, 1e-12, 0, 'ratio');
    // the stored lr is the decayed one (γ = 0.85 per epoch)
    expectClose(data.b.lr[0] / data.a.lr[0], 0.85 ** 4, 1e-9, 0, 'lr ratio');
  });

  it('without optimizer state: not applicable with the reason, exit code unchanged, JSON applicable=false', async () => {
    const { entry, data } = await analysis([real('gpt.pt'), real('gpt.safetensors')], 'learningRate');
    expect(data).toEqual({ applicable: false, reason: 'no optimizer state in either file: the weight change alone is not a learning rate' });
    expect(summaryLine(entry)).toBe(`learning_rate_analysis: not applicable (${data.reason})`);
    const r = await cli([real('gpt.pt'), real('gpt.safetensors'), '--learning-rate-analysis', '-o', 'json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).at(-1)).toEqual({ LearningRateAnalysis: data });
  });
});

describe('--param-efficiency-analysis', () => {
  it('GPT and resnet18: spectral norms, stable and effective ranks as torch computes them (float64)', async () => {
    const { entry, data } = await analysis([real('gpt.pt'), real('resnet18.pt')], 'paramEfficiency');
    for (const [side, key] of [
      ['model_a', 'gpt'],
      ['model_b', 'resnet18'],
    ] as const) {
      const ref = EXP.spectra[key];
      // the tied LM head is one matrix, reported under its representative (lm_head.weight; torch saw wte.weight)
      expect(data[side].matrices.length).toBe(Object.keys(ref).length);
      for (const m of data[side].matrices) {
        const want = ref[m.name] ?? ref['wte.weight'];
        // every matrix here is small enough for all its singular values (Gram eigenvalues)
        expect(m.method).toBe('gram');
        expectClose(m.spectral_norm, want.spectral_norm, 1e-12, 0, `${m.name} ‖W‖₂`);
        expectClose(m.frobenius_norm, want.frobenius_norm, 1e-9, 0, `${m.name} ‖W‖_F`);
        expectClose(m.stable_rank, want.stable_rank, 1e-9, 0, `${m.name} stable rank`);
        expectClose(m.effective_rank, want.effective_rank, 1e-9, 0, `${m.name} effective rank`);
        expect(m.max_rank).toBe(Math.min(...want.shape));
      }
    }
    expect(data.model_a.params).toBe(EXP.gpt.params);
    expect(data.model_a.embedding_params).toBe(EXP.gpt.embedding_params);
    expect(data.model_a.non_embedding_params).toBe(EXP.gpt.non_embedding_params);
    expect(data.model_a.bytes_per_param).toBe(4);
    expect(summaryLine(entry)).toMatch(
      /^param_efficiency_analysis: params=27520->\d+, non_embedding=25472->\d+, bytes_per_param=4\.0000->4\.0000, median_stable_rank=/,
    );
  });

  it('full-size resnet18: 11,689,512 parameters (torch), buffers apart; an f16 copy has 2 bytes per parameter', async () => {
    // counts come from the descriptors: no tensor data needs reading
    const { data } = await analysis([RESNET18_ZEROS, RESNET18_ZEROS], 'paramEfficiency', { shapeOnly: true });
    expect(data.model_a.params).toBe(EXP.resnet18_224.params);
    expect(data.model_a.params).toBe(11_689_512);
    const desc = await describeModel(RESNET18_ZEROS);
    const buffers = desc.tensors.filter((t) => /running_(mean|var)|num_batches_tracked/.test(t.name)).reduce((s, t) => s + t.numel, 0);
    expect(data.model_a.buffer_elements).toBe(buffers);
    const { data: f16 } = await analysis([real('resnet18.pt'), real('resnet18_f16.safetensors')], 'paramEfficiency');
    expect([f16.model_a.bytes_per_param, f16.model_b.bytes_per_param]).toEqual([4, 2]);
  });
});

describe('--performance-impact-estimate', () => {
  it('resnet18 against its f16 copy: per matrix relative Frobenius and spectral changes as torch computes them; the sum along the network', async () => {
    const ref = EXP.resnet18_f16;
    const { entry, data } = await analysis([real('resnet18.pt'), real('resnet18_f16.safetensors')], 'performanceImpact');
    expect(data.basis).toBe('weight_space');
    expect(data.matrices.length).toBe(Object.keys(ref.layers).length);
    let sum = 0;
    for (const m of data.matrices) {
      const want = ref.layers[m.name];
      expectClose(m.rel_frobenius, want.rel_fro, 1e-9, 0, `${m.name} rel Frobenius`);
      expectClose(m.sqnr_db, -20 * Math.log10(want.rel_fro), 1e-9, 0, `${m.name} SQNR`);
      expect(m.method).toBe('gram');
      expectClose(m.rel_spectral, want.rel_spectral, 1e-9, 0, `${m.name} rel spectral`);
      sum += m.rel_spectral;
    }
    expectClose(data.sum_rel_spectral, sum, 1e-12, 0, 'sum');
    expectClose(data.sum_rel_spectral, ref.sum_rel_spectral, 1e-9, 0, 'sum against torch');
    expect(data.product_bound).toBeGreaterThanOrEqual(data.sum_rel_spectral);
    expect(summaryLine(entry)).toMatch(
      /^performance_impact_estimate: basis=weight_space, sqnr_db=73\.\d{4}, sum_rel_spectral=0\.0045, max_rel_spectral=\S+, most_affected=\S+$/,
    );
  });

  it('an identical copy: no change; files without a common weight matrix: not applicable, exit 0', async () => {
    const { data } = await analysis([real('resnet18.pt'), real('resnet18.safetensors')], 'performanceImpact');
    expect([data.sum_rel_spectral, data.sqnr_db, data.max_rel_spectral]).toEqual([0, null, 0]);
    const r = await cli([mlops('adam_step5.pt'), real('gpt.pt'), '--performance-impact-estimate']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('performance_impact_estimate: not applicable (no weight matrix (2+-D float parameter) in both files with the same shape)');
  });
});

describe('--inference-speed-estimate', () => {
  const zeros50 = mlops('resnet50_zeros.pt');

  it('torchvision resnet18 at 224×224: the MACs torch counts with forward hooks (1.814 G; torchvision documents 1.81), resnet50 4.089 G, other sizes', async () => {
    const cases: Array<[string, number[], number]> = [
      [RESNET18_ZEROS, [1, 3, 224, 224], EXP.resnet18_224.macs],
      [RESNET18_ZEROS, [1, 3, 160, 128], EXP.resnet18_160x128.macs],
      [zeros50, [1, 3, 224, 224], EXP.resnet50_224.macs],
      [RESNET18_ZEROS, [8, 3, 224, 224], 8 * EXP.resnet18_224.macs],
    ];
    for (const [file, inputShape, macs] of cases) {
      const { data } = await analysis([file, file], 'inferenceSpeed', { shapeOnly: true, inference: { inputShape } });
      expect(data.model_a.method).toBe('torchvision_resnet');
      expect([data.model_a.macs, data.model_a.flops]).toEqual([macs, 2 * macs]);
    }
    expect(EXP.resnet18_224.macs / 1e9).toBeCloseTo(1.81, 2);
  });

  it('roofline: max(FLOPs/peak, bytes/bandwidth) with the profile numbers, the weight bytes summed from the descriptors, overrides', async () => {
    const desc = await describeModel(RESNET18_ZEROS);
    const bytes = desc.tensors.reduce((s, t) => s + t.numel * (t.dtype === 'i64' ? 8 : 4), 0);
    const flops = 2 * EXP.resnet18_224.macs;
    for (const profile of ['a100', 'h100', 'rtx4090', 'cpu']) {
      const { data } = await analysis([RESNET18_ZEROS, RESNET18_ZEROS], 'inferenceSpeed', {
        shapeOnly: true,
        inference: { inputShape: [1, 3, 224, 224], deviceProfile: profile },
      });
      const p = DEVICE_PROFILES[profile]!;
      expect(data.model_a.weight_bytes).toBe(bytes);
      expectClose(data.model_a.time_s, Math.max(flops / (p.peakTflops.fp32 * 1e12), bytes / (p.bandwidthGbs * 1e9)), 1e-12, 0, profile);
      expect(data.speedup).toBe(1);
    }
    const r = await cli([
      RESNET18_ZEROS,
      RESNET18_ZEROS,
      '--inference-speed-estimate',
      '--input-shape',
      '1,3,224,224',
      '--peak-tflops',
      '1000',
      '--bandwidth-gbs',
      '1',
      '--shape-only',
      '-o',
      'json',
    ]);
    expect(r.status).toBe(0);
    const est = JSON.parse(r.stdout).at(-1).InferenceSpeedEstimate;
    expect(est.device.overridden).toBe(true);
    expect(est.model_a.bound).toBe('memory');
    expectClose(est.model_a.time_s, bytes / 1e9, 1e-12, 0, 'memory-bound time');
  });

  it('a GPT: 2·N + 2·n_layer·n_ctx·d_attn FLOPs per token (Kaplan et al.), N the non-embedding parameters torch counts; --context-length', async () => {
    const g = EXP.gpt;
    const { entry, data } = await analysis([real('gpt.pt'), real('gpt.safetensors')], 'inferenceSpeed');
    expect(data.model_a.method).toBe('transformer_kaplan');
    expect(data.model_a.flops).toBe(g.flops_per_token);
    expect([data.model_a.non_embedding_params, data.model_a.n_layer, data.model_a.n_ctx, data.model_a.d_attn]).toEqual([
      g.non_embedding_params,
      g.n_layer,
      g.n_ctx,
      g.d_model,
    ]);
    expect(data.model_a.assumptions[0]).toMatch(/rows of wpe\.weight/);
    expect(summaryLine(entry)).toMatch(
      /^inference_speed_estimate: device=a100, unit=token, flops=52992\.0000->52992\.0000, latency_ms=\S+, bound=memory->memory, speedup=1\.0000$/,
    );
    const { data: long } = await analysis([real('gpt.pt'), real('gpt.pt')], 'inferenceSpeed', { inference: { contextLength: 1024 } });
    expect(long.model_a.flops).toBe(2 * g.non_embedding_params + 2 * g.n_layer * 1024 * g.d_model);
  });

  it('a CNN without --input-shape is not applicable (exit 0); a layout whose strides are unknown says so; bad values exit 2', async () => {
    const none = await cli([real('resnet18.pt'), real('resnet18.safetensors'), '--inference-speed-estimate']);
    expect(none.status).toBe(0);
    expect(none.stdout).toContain('inference_speed_estimate: not applicable (a convolutional network needs --input-shape N,C,H,W (e.g. 1,3,224,224))');
    const { data } = await analysis([real('mobilenet_v3_small.pt'), real('mobilenet_v3_small.safetensors')], 'inferenceSpeed', {
      inference: { inputShape: [1, 3, 224, 224] },
    });
    expect(data.reason).toMatch(/strides are not stored in the weights/);
    for (const bad of [
      ['--input-shape', '1,3,x,224'],
      ['--context-length', '0'],
      ['--peak-tflops', '-1'],
      ['--device-profile', 'tpu'],
    ]) {
      const r = await cli([real('gpt.pt'), real('gpt.pt'), '--inference-speed-estimate', ...bad]);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
    }
  });
});

describe('power iteration (matrices above the Gram bound)', () => {
  it("GPT and resnet18 weights: a lower bound of torch's matrix_norm(ord=2), within 1e-6 after 200 iterations (1e-8 where converged)", async () => {
    const { Executor } = await import('../src/engine/executor.js');
    const { powerIteration } = await import('../src/analysis/power-iteration.js');
    const { tensorOperator } = await import('../src/analysis/linear-operator.js');
    const ex = new Executor({ threads: 1 });
    try {
      for (const [file, key] of [
        [real('gpt.pt'), 'gpt'],
        [real('resnet18.pt'), 'resnet18'],
      ] as const) {
        const d = await describeModel(file);
        for (const [name, want] of Object.entries(EXP.spectra[key]) as Array<[string, Data]>) {
          const r = await powerIteration(tensorOperator(ex, d.tensors.find((t) => t.name === name)!));
          expect(r.sigma!).toBeLessThanOrEqual(want.spectral_norm * (1 + 1e-12));
          expectClose(r.sigma, want.spectral_norm, r.converged ? 1e-8 : 1e-6, 0, `${name} power iteration`);
        }
      }
    } finally {
      await ex.close();
    }
  });
});

describe('adamStep op', () => {
  it('counts non-finite steps apart and sums u² of the finite ones in float64 (u = (m/bc1)/(√v/√bc2 + ε))', async () => {
    const { Executor } = await import('../src/engine/executor.js');
    const dir = tempDir('diffai-adam-');
    try {
      const m = [0.5, -0.25, Number.NaN, 1e-3, 2, 0];
      const v = [0.04, 0.01, 0.01, Number.POSITIVE_INFINITY, 1, 0];
      const file = writeSafetensors(dir.path('state.safetensors'), [
        { name: 'm', dtype: 'f32', shape: [m.length], bytes: f32Bytes(m) },
        { name: 'v', dtype: 'f32', shape: [v.length], bytes: f32Bytes(v) },
      ]);
      const d = await describeModel(file);
      const [tm, tv] = ['m', 'v'].map((n) => d.tensors.find((t) => t.name === n)!);
      const p = { invBc1: 1 / (1 - 0.9 ** 3), invSqrtBc2: 1 / Math.sqrt(1 - 0.999 ** 3), eps: 1e-8 };
      const ex = new Executor({ threads: 1 });
      const r = await ex.run('adamStep', [tm!, tv!], p).finally(() => ex.close());
      const f32 = (x: number) => Math.fround(x);
      const us = m.map((x, i) => (f32(x) * p.invBc1) / (Math.sqrt(f32(v[i]!)) * p.invSqrtBc2 + p.eps)).filter(Number.isFinite);
      // NaN in m, and m/∞ = 0 is finite: one non-finite
      expect([r.nonFinite, r.count]).toEqual([1, 5]);
      expectClose(
        r.sumSq,
        us.reduce((s, u) => s + u * u, 0),
        1e-15,
        0,
        'Σu²',
      );
      expect(r.maxAbs).toBe(Math.max(...us.map(Math.abs)));
    } finally {
      dir.cleanup();
    }
  });
});

describe('decoded reference check', () => {
  it('the GPT non-embedding count in expected.json equals the decoded file minus wte/wpe', async () => {
    const d = await describeModel(real('gpt.pt'));
    const unique = d.tensors.filter((t) => t.name !== 'lm_head.weight');
    const n = unique.filter((t) => !/^(wte|wpe)\./.test(t.name)).reduce((s, t) => s + (decodeTensor(t) as number[]).length, 0);
    expect(n).toBe(EXP.gpt.non_embedding_params);
  });
});
