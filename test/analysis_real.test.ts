/**
 * The analyses on real models (issue 10), against values recorded from torch by
 * fixtures/generate_analysis_real.py (fixtures/analysis_real/expected.json): no false alarms
 * on torchvision and GPT models, injected defects still found, parameters counted as torch
 * counts them (buffers apart, ties once, scalars out), optimizer state mapped through
 * param_groups or refused, dynamic quantization, convergence per stored epoch, depth and
 * blocks, ranking, calibrated thresholds and the documents' summary lines.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ANOMALY_THRESHOLDS, PRECISION_LOSS, analyzeFiles, type AnalysisEntry, type AnalysisName } from '../src/analysis/index.js';
import { precisionLoss } from '../src/analysis/quantization.js';
import { summaryLine } from '../src/analysis/summary.js';
import { diffFiles } from '../src/library.js';
import { expectClose } from './helpers/assert.js';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const DIR = 'fixtures/analysis_real';
const rx = (f: string) => join(ROOT, DIR, f);
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const EXP: any = JSON.parse(readFileSync(rx('expected.json'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
type Data = any;

async function analysis(files: string[], name: AnalysisName): Promise<{ entry: AnalysisEntry; data: Data }> {
  const { analyses } = await analyzeFiles(files.map(rx), [name]);
  const entry = analyses.at(-1)!;
  return { entry, data: entry.data };
}

const REAL = ['resnet18', 'resnet34', 'mobilenet_v3_small', 'gpt'];

describe('anomaly detection on real models', () => {
  for (const m of REAL) {
    it(`${m}: no warning or critical finding against itself or its .safetensors copy; each finding once`, async () => {
      for (const other of [`${m}.pt`, `${m}.safetensors`]) {
        const { data } = await analysis([`${m}.pt`, other], 'anomalies');
        expect([data.critical, data.warning], `${m}.pt vs ${other}: ${JSON.stringify(data.findings.slice(0, 3))}`).toEqual([0, 0]);
        const keys = data.findings.map((f: Data) => `${f.type}:${f.tensors.join()}`);
        expect(new Set(keys).size).toBe(keys.length);
      }
    });
  }

  it('the GPT: its attention key biases (torch: |b| ≤ 2e-5, a thousandth of the query biases) are exempt, not "vanishing"', async () => {
    const g = EXP.models.gpt;
    for (const max of Object.values(g.key_bias_abs_max)) expect(max as number).toBeLessThan(1e-3 * Math.min(...(Object.values(g.q_bias_abs_max) as number[])));
    const { data } = await analysis(['gpt.pt', 'gpt.pt'], 'anomalies');
    expect(data.exempt.map((e: Data) => e.tensor).sort()).toEqual(Object.keys(g.key_bias_abs_max).sort());
    expect(data.exempt[0].reason).toMatch(/softmax/);
    expect(data.findings.filter((f: Data) => /k_proj/.test(f.tensors[0]))).toEqual([]);
  });

  it('a freshly initialised GPT: the padding_idx row (tied LM head) is exempt, zero biases are info once each', async () => {
    expect(EXP.models.gpt.padding_row_zero_at_init).toBe(true);
    const { data, entry } = await analysis(['gpt_init.pt', 'gpt_init.pt'], 'anomalies');
    expect(data.findings.filter((f: Data) => f.type === 'dead_units')).toEqual([]);
    expect(data.exempt.filter((e: Data) => e.rows)).toEqual([
      { model: rx('gpt_init.pt'), tensor: 'lm_head.weight', rows: [0], reason: expect.stringMatching(/padding_idx/) },
    ]);
    // torch's zero vectors at initialisation, the key biases aside (exempt): one info finding each, not two
    const zero = (EXP.models.gpt.zero_vectors_at_init as string[]).filter((n) => !n.endsWith('k_proj.bias'));
    expect(data.findings.map((f: Data) => f.tensors[0]).sort()).toEqual(zero);
    expect(data.findings.every((f: Data) => f.severity === 'info' && f.models.length === 1)).toBe(true);
    expect(summaryLine(entry)).toBe(`🚨 anomaly_detection: type=all_zero_tensor, severity=info, affected=${zero.length} layers`);
  });

  it('injected NaN/Inf, a ×1e4 layer and dead rows in the trained GPT are found', async () => {
    const inj = EXP.models.gpt.injected;
    const { data, entry } = await analysis(['gpt.safetensors', 'gpt_injected.safetensors'], 'anomalies');
    const find = (type: string, tensor: string) => data.findings.find((f: Data) => f.type === type && f.tensors[0] === tensor);
    expect(find('nan_inf', inj.nan_inf.tensor)).toMatchObject({ severity: 'critical', kind: 'nan_inf', value: inj.nan_inf.nan + inj.nan_inf.posinf });
    const up = find('exploding', inj.scaled_1e4);
    expect(up).toMatchObject({ severity: 'critical', kind: 'gradient_explosion' });
    expectClose(up.value, 1e4, 1e-6, 0, 'norm ratio');
    expect(find('sudden_change', inj.scaled_1e4)).toMatchObject({ severity: 'critical', kind: 'weight_distribution_shift' });
    expect(find('dead_units', inj.dead_rows.tensor)).toMatchObject({ severity: 'warning', value: inj.dead_rows.rows.length });
    expect(find('dead_units', inj.dead_rows.tensor).detail).toContain(`rows ${inj.dead_rows.rows.join(', ')}`);
    // critical in two layers (q_proj, mlp.0); nan_inf, explosion and shift have one critical finding each: nan_inf leads
    expect(summaryLine(entry)).toBe('🚨 anomaly_detection: type=nan_inf, severity=critical, affected=2 layers');
  });
});

describe('--fail-on anomalies on real models (command line)', () => {
  beforeAll(requireBuild);
  it('passes (exit 0) for a real model and its .safetensors copy, fails (exit 1) on the injected defects', async () => {
    const [resnet, gpt, injected] = await Promise.all([
      cli([`${DIR}/resnet18.pt`, `${DIR}/resnet18.safetensors`, '--fail-on', 'anomalies']),
      cli([`${DIR}/gpt.pt`, `${DIR}/gpt.safetensors`, '--fail-on', 'anomalies', '--anomaly-detection']),
      cli([`${DIR}/gpt.safetensors`, `${DIR}/gpt_injected.safetensors`, '--fail-on', 'anomalies']),
    ]);
    expect(resnet.status, resnet.stdout).toBe(0);
    expect(gpt.status, gpt.stdout).toBe(0);
    expect(gpt.stdout).toContain('🚨 anomaly_detection: type=none, severity=none, affected=0 layers\n');
    expect(injected.status).toBe(1);
  });
});

describe('roles: buffers apart, ties once, scalars out', () => {
  for (const m of ['resnet18', 'resnet34', 'mobilenet_v3_small', 'vit', 'gpt']) {
    it(`${m}: params = sum(p.numel() for p in model.parameters()), buffers apart`, async () => {
      const { data } = await analysis([`${m}.pt`, `${m}.pt`], 'architecture');
      expect(data.model_a.params).toBe(EXP.models[m].parameters);
      expect(data.model_a.buffer_elements).toBe(EXP.models[m].buffers);
    });
  }

  it('resnet18 with recalibrated BatchNorm statistics: no layer changed, the buffers reported on their own', async () => {
    const files = ['resnet18.pt', 'resnet18_recalibrated.pt'];
    const [{ data: li }, { data: cs }, { data: an }] = await Promise.all([
      analysis(files, 'layerImpact'),
      analysis(files, 'changeSummary'),
      analysis(files, 'anomalies'),
    ]);
    expect([li.layers_changed, li.model_rel_l2_change]).toEqual([0, 0]);
    expect(li.buffers.map((b: Data) => b.name).sort()).toEqual(EXP.models.resnet18.recalibrated_changed_buffers);
    expect(cs.params_in_changed_tensors).toBe(0);
    expect(cs.top_changes).toEqual([]);
    expect(cs.buffers_changed).toBe(EXP.models.resnet18.recalibrated_changed_buffers.length);
    expect(an.findings).toEqual([]);
  });

  it('a tied GPT: .pt (one shared storage) and .safetensors (dropped name) hold the same parameters and bytes', async () => {
    const [{ data: mem }, { data: arch }, { data: cs }] = await Promise.all([
      analysis(['gpt.pt', 'gpt.safetensors'], 'memory'),
      analysis(['gpt.pt', 'gpt.safetensors'], 'architecture'),
      analysis(['gpt.pt', 'gpt.safetensors'], 'changeSummary'),
    ]);
    expect(mem.delta_bytes).toBe(0);
    expect(mem.model_a.parameter_bytes).toBe(EXP.models.gpt.parameters * 4);
    expect(mem.gpu_est_bytes).toBe(EXP.models.gpt.parameters * 4);
    expect([arch.model_a.params, arch.model_b.params]).toEqual([EXP.models.gpt.parameters, EXP.models.gpt.parameters]);
    expect([cs.params_a, cs.params_b]).toEqual([EXP.models.gpt.parameters, EXP.models.gpt.parameters]);
  });

  it('a checkpoint scalar (loss) is neither a parameter, a layer, nor an anomaly', async () => {
    const files = ['sgd_epoch0.pt', 'sgd_epoch1.pt'];
    const [{ data: arch }, { data: li }, { data: an }] = await Promise.all([
      analysis(files, 'architecture'),
      analysis(files, 'layerImpact'),
      analysis(files, 'anomalies'),
    ]);
    expect(arch.model_a.params).toBe(EXP.trajectories.sgd.parameters);
    expect(li.layers.flatMap((l: Data) => l.tensors).sort()).toEqual(EXP.trajectories.sgd.parameter_names);
    expect(an.findings.filter((f: Data) => f.tensors.includes('loss'))).toEqual([]);
  });
});

describe('gradient analysis maps optimizer state through param_groups', () => {
  it('frozen first layer, every parameter given to Adam: state 2, 3 belong to the second layer (as torch says)', async () => {
    const { analyses } = await analyzeFiles([join(ROOT, 'fixtures/model_view/checkpoint.pt'), join(ROOT, 'fixtures/model_view/checkpoint.pt')], ['gradients']);
    const g = analyses[0]!.data as Data;
    expect(g.mapping_refused).toBeNull();
    expect(Object.fromEntries(g.state_b.map((e: Data) => [String(e.index), e.param]))).toEqual(EXP.checkpoint_state_to_parameter);
    expect(summaryLine(analyses[0]!)).toBe('gradient_analysis: source=optimizer_state, buffers=exp_avg+exp_avg_sq, layers=1, mapped_to_parameters=2/2');
  });

  it('an optimizer over a subset of the parameters: the mapping is refused with the reason', async () => {
    const f = EXP.frozen_subset;
    const { data, entry } = await analysis(['frozen_subset.pt', 'frozen_subset.pt'], 'gradients');
    expect(data.state_b.map((e: Data) => [e.index, e.param])).toEqual(f.state_ids.map((i: number) => [i, null]));
    expect(data.mapping_refused).toBe(
      `the optimizer holds ${f.optimizer_parameters} parameters and the model ${f.model_parameters}: it was built over a subset (frozen layers left out?) and the file does not say which`,
    );
    expect(entry.details[0]).toMatch(/^not mapped to parameters: /);
    expect(data.layers.map((l: Data) => l.layer)).toEqual(f.state_ids.map((i: number) => `state.${i}`));
  });
});

describe('dynamic quantization', () => {
  it('fp32 vs torch.quantization.quantize_dynamic: per-layer SQNR as torch, compression 0.25', async () => {
    const q = EXP.dynamic_quantization;
    const { data, entry } = await analysis(['mlp3_fp32.pt', 'mlp3_dynamic_qint8.pt'], 'quantization');
    expect(data.tensors.map((t: Data) => t.name).sort()).toEqual(Object.keys(q.sqnr_db).sort());
    for (const t of data.tensors) {
      expect(Math.abs(t.sqnr_db - q.sqnr_db[t.name])).toBeLessThan(0.1);
      expectClose(t.sqnr_db, q.sqnr_db[t.name], 1e-6, 0, t.name);
    }
    expectClose(data.sqnr_db, q.overall_sqnr_db, 1e-6, 0, 'overall');
    expect([data.bytes_a, data.bytes_b]).toEqual([q.weight_bytes_fp32, q.weight_bytes_int8]);
    expect(data.compression).toBe(0.25);
    expect(summaryLine(entry)).toBe('quantization_analysis: compression=0.2500, precision_loss=minimal');
    const { data: arch } = await analysis(['mlp3_fp32.pt', 'mlp3_dynamic_qint8.pt'], 'architecture');
    expect([arch.model_a.family, arch.model_b.family]).toEqual(['mlp', 'mlp']);
    expect([arch.model_a.params, arch.model_b.params]).toEqual([q.float_parameters, q.quantized_model_parameters]);
    expect(arch.differences).toBe(0);
  });
});

describe('quantization pools weights only', () => {
  it('resnet18 f32 -> f16: the pooled SQNR is over the parameters, as torch; BatchNorm statistics listed apart', async () => {
    const r = EXP.models.resnet18;
    const { data } = await analysis(['resnet18.pt', 'resnet18_f16.safetensors'], 'quantization');
    expectClose(data.sqnr_db, r.f16_parameter_sqnr_db, 1e-6, 0, 'pooled sqnr');
    expect(data.tensors.every((t: Data) => t.role === 'parameter')).toBe(true);
    expect(data.other_tensors.map((t: Data) => t.name).sort()).toEqual(r.f16_retyped_buffers);
    expect(data.bytes_a).toBe(r.parameters * 4);
    expect(data.compression).toBe(0.5);
  });
});

describe('convergence uses the stored epochs', () => {
  for (const kind of ['sgd', 'adam']) {
    for (const seq of ['0/1/5/10/30', '0/10/50']) {
      it(`${kind}, epochs ${seq}: the relative update per epoch as torch, shrinking → converging`, async () => {
        const ref = EXP.trajectories[kind][seq];
        const { data, entry } = await analysis(
          ref.epochs.map((e: number) => `${kind}_epoch${e}.pt`),
          'convergence',
        );
        expect([data.spacing, data.positions]).toEqual(['epoch', ref.epochs]);
        for (const [k, r] of (ref.rel_updates as number[]).entries()) expectClose(data.rel_updates[k], r, 1e-6, 0, `update ${k}`);
        for (const [k, r] of (ref.rel_updates_per_epoch as number[]).entries()) expectClose(data.rel_updates_per_unit[k], r, 1e-6, 0, `per epoch ${k}`);
        expect([data.trend, data.status, data.action]).toEqual(['shrinking', 'converging', 'Continue training']);
        expect(summaryLine(entry)).toBe(
          `+ convergence_analysis: status=converging, stability=${(ref.rel_updates_per_epoch.at(-1) as number).toFixed(4)}, action="Continue training"`,
        );
      });
    }
  }
});

/** A safetensors file of zeros with the given tensor names and shapes (names/shapes are all the architecture reads). */
function namesOnly(path: string, tensors: Array<[string, number[]]>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), Buffer.alloc(offset)]));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const d = 8;
// The state_dict names of Hugging Face transformers' GPT2LMHeadModel, BertModel and LlamaForCausalLM (tiny shapes).
const HF: Record<string, { layers: number; tensors: Array<[string, number[]]> }> = {
  gpt2: {
    layers: 3,
    tensors: [
      ['transformer.wte.weight', [16, d]],
      ['transformer.wpe.weight', [8, d]],
      ...range(3).flatMap(
        (i): Array<[string, number[]]> => [
          [`transformer.h.${i}.ln_1.weight`, [d]],
          [`transformer.h.${i}.ln_1.bias`, [d]],
          [`transformer.h.${i}.attn.c_attn.weight`, [d, 3 * d]],
          [`transformer.h.${i}.attn.c_attn.bias`, [3 * d]],
          [`transformer.h.${i}.attn.c_proj.weight`, [d, d]],
          [`transformer.h.${i}.attn.c_proj.bias`, [d]],
          [`transformer.h.${i}.ln_2.weight`, [d]],
          [`transformer.h.${i}.ln_2.bias`, [d]],
          [`transformer.h.${i}.mlp.c_fc.weight`, [d, 4 * d]],
          [`transformer.h.${i}.mlp.c_fc.bias`, [4 * d]],
          [`transformer.h.${i}.mlp.c_proj.weight`, [4 * d, d]],
          [`transformer.h.${i}.mlp.c_proj.bias`, [d]],
        ],
      ),
      ['transformer.ln_f.weight', [d]],
      ['transformer.ln_f.bias', [d]],
    ],
  },
  bert: {
    layers: 4,
    tensors: [
      ['bert.embeddings.word_embeddings.weight', [16, d]],
      ['bert.embeddings.position_embeddings.weight', [8, d]],
      ['bert.embeddings.token_type_embeddings.weight', [2, d]],
      ['bert.embeddings.LayerNorm.weight', [d]],
      ['bert.embeddings.LayerNorm.bias', [d]],
      ...range(4).flatMap(
        (i): Array<[string, number[]]> => [
          ...['query', 'key', 'value'].flatMap(
            (p): Array<[string, number[]]> => [
              [`bert.encoder.layer.${i}.attention.self.${p}.weight`, [d, d]],
              [`bert.encoder.layer.${i}.attention.self.${p}.bias`, [d]],
            ],
          ),
          [`bert.encoder.layer.${i}.attention.output.dense.weight`, [d, d]],
          [`bert.encoder.layer.${i}.attention.output.dense.bias`, [d]],
          [`bert.encoder.layer.${i}.attention.output.LayerNorm.weight`, [d]],
          [`bert.encoder.layer.${i}.attention.output.LayerNorm.bias`, [d]],
          [`bert.encoder.layer.${i}.intermediate.dense.weight`, [4 * d, d]],
          [`bert.encoder.layer.${i}.intermediate.dense.bias`, [4 * d]],
          [`bert.encoder.layer.${i}.output.dense.weight`, [d, 4 * d]],
          [`bert.encoder.layer.${i}.output.dense.bias`, [d]],
          [`bert.encoder.layer.${i}.output.LayerNorm.weight`, [d]],
          [`bert.encoder.layer.${i}.output.LayerNorm.bias`, [d]],
        ],
      ),
      ['bert.pooler.dense.weight', [d, d]],
      ['bert.pooler.dense.bias', [d]],
    ],
  },
  llama: {
    layers: 5,
    tensors: [
      ['model.embed_tokens.weight', [16, d]],
      ...range(5).flatMap(
        (i): Array<[string, number[]]> => [
          ...['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((p): [string, number[]] => [`model.layers.${i}.self_attn.${p}.weight`, [d, d]]),
          [`model.layers.${i}.mlp.gate_proj.weight`, [2 * d, d]],
          [`model.layers.${i}.mlp.up_proj.weight`, [2 * d, d]],
          [`model.layers.${i}.mlp.down_proj.weight`, [d, 2 * d]],
          [`model.layers.${i}.input_layernorm.weight`, [d]],
          [`model.layers.${i}.post_attention_layernorm.weight`, [d]],
        ],
      ),
      ['model.norm.weight', [d]],
      ['lm_head.weight', [16, d]],
    ],
  },
};

describe('depth and blocks', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'diffai-arch-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const torchvision: Array<[string, string, number, number]> = [
    ['resnet18', 'cnn', EXP.models.resnet18.residual_blocks, EXP.models.resnet18.depth],
    ['resnet34', 'cnn', EXP.models.resnet34.residual_blocks, EXP.models.resnet34.depth],
    ['mobilenet_v3_small', 'cnn', EXP.models.mobilenet_v3_small.inverted_residual_blocks, -1],
    ['vit', 'transformer', EXP.models.vit.encoder_layers, EXP.models.vit.encoder_layers],
    ['gpt', 'transformer', 2, 2],
  ];
  for (const [m, family, blocks, depth] of torchvision) {
    it(`${m}: ${family}, ${blocks} blocks${depth > 0 ? `, depth ${depth}` : ''}`, async () => {
      const { data } = await analysis([`${m}.pt`, `${m}.pt`], 'architecture');
      expect([data.model_a.family, data.model_a.blocks]).toEqual([family, blocks]);
      if (depth > 0) expect(data.model_a.depth).toBe(depth);
    });
  }

  for (const [name, { layers, tensors }] of Object.entries(HF)) {
    it(`Hugging Face ${name} names: transformer, ${layers} layers deep`, async () => {
      const file = join(tmp, `${name}.safetensors`);
      namesOnly(file, tensors);
      const { analyses } = await analyzeFiles([file, file], ['architecture']);
      const a = (analyses[0]!.data as Data).model_a;
      expect([a.family, a.blocks, a.depth]).toEqual(['transformer', layers, layers]);
    });
  }

  it('a plain nn.Sequential (Linear, ReLU, Linear): no blocks, depth = its 2 weight layers', async () => {
    const { data } = await analysis(['frozen_subset.pt', 'frozen_subset.pt'], 'architecture');
    expect([data.model_a.family, data.model_a.blocks, data.model_a.depth]).toEqual(['mlp', 0, 2]);
  });
});

describe('ranking by change', () => {
  it('tensors that start from zero (the GPT biases) never rank above real relative changes', async () => {
    const { data } = await analysis(['gpt_init.pt', 'gpt.pt'], 'changeSummary');
    const rel = data.top_changes.map((t: Data) => t.rel_l2_change);
    expect(data.top_changes.some((t: Data) => t.from_zero)).toBe(false);
    expect(rel).toEqual([...rel].sort((x: number, y: number) => y - x));
    const { results } = await diffFiles(rx('gpt_init.pt'), rx('gpt.pt'), { sortByChangeMagnitude: true });
    const changed = results.filter((r) => r.kind === 'TensorStatsChanged');
    const firstNull = changed.findIndex((r) => r.comparison.rel_l2_change === null);
    expect(firstNull).toBeGreaterThan(0);
    expect(changed.slice(firstNull).every((r) => r.comparison.rel_l2_change === null)).toBe(true);
    const finite = changed.slice(0, firstNull).map((r) => r.comparison.rel_l2_change!);
    expect(finite).toEqual([...finite].sort((x, y) => y - x));
  });
});

describe('thresholds against the calibration runs (expected.json)', () => {
  const cal = EXP.calibration;
  const runs = Object.keys(cal).filter((k) => k.includes('_to_'));
  const peers = Object.keys(cal).filter((k) => k.endsWith('_peer_rms_ratio'));
  it('healthy training from initialisation stays ≥ 10x inside every scale threshold', () => {
    expect(runs.length).toBeGreaterThanOrEqual(4);
    const T = ANOMALY_THRESHOLDS;
    for (const k of runs) {
      expect(cal[k].max_weight * 10, k).toBeLessThan(T.suddenWarning * 1.1);
      expect(cal[k].max_norm_ratio * 9, k).toBeLessThan(T.normRatioWarning);
      expect(cal[k].min_norm_ratio / 10, k).toBeGreaterThan(1 / T.normRatioWarning);
    }
    for (const k of peers) {
      expect(cal[k].max * 10, k).toBeLessThan(T.peerRatio);
      expect(cal[k].min / 10, k).toBeGreaterThan(1 / T.peerRatio);
    }
  });

  it('precision-loss bins put measured precisions in their classes', () => {
    const s = cal.sqnr_db;
    expect([precisionLoss(s.f16, false), precisionLoss(s.bf16, false), precisionLoss(s.int8_per_tensor, false)]).toEqual(['negligible', 'minimal', 'minimal']);
    expect([precisionLoss(s.int4_per_tensor, false), precisionLoss(s.int2_per_tensor, false)]).toEqual(['moderate', 'severe']);
    expect(PRECISION_LOSS.map(([t]) => t)).toEqual([60, 30, 15, 5, -Infinity]);
  });
});

describe("summary lines take the documents' shapes", () => {
  it('every analysis, one run on resnet18 vs its recalibrated copy', async () => {
    const { analyses } = await analyzeFiles(
      [rx('resnet18.pt'), rx('resnet18_recalibrated.pt')],
      ['changeSummary', 'layerImpact', 'quantization', 'architecture', 'memory', 'anomalies', 'gradients', 'convergence', 'similarity'],
    );
    const lines = Object.fromEntries(analyses.map((e) => [e.name, summaryLine(e)]));
    expect(lines.convergence).toMatch(/^\+ convergence_analysis: status=insufficient, stability=0\.0000, action="Give three or more checkpoints"$/);
    expect(lines.anomalies).toBe('🚨 anomaly_detection: type=none, severity=none, affected=0 layers');
    expect(lines.memory).toBe(
      `🧠 memory_analysis: delta=+0.0MB, gpu_est=${((EXP.models.resnet18.parameters + EXP.models.resnet18.buffers) * 4 * 1e-6).toFixed(1)}MB, efficiency=1.0000`,
    );
    expect(lines.architecture).toBe('🏗️ architecture_comparison: type1=cnn, type2=cnn, differences=0');
    expect(lines.quantization).toBe('quantization_analysis: compression=none, precision_loss=none');
    expect(lines.layerImpact).toMatch(
      new RegExp(
        `^layer_impact: layers=\\d+, changed=0, model_rel_l2_change=0\\.0000, most_affected=none, buffers_changed=${EXP.models.resnet18.recalibrated_changed_buffers.length}$`,
      ),
    );
    expect(lines.changeSummary).toMatch(/^change_summary: tensors_changed=\d+, added=0, removed=0, reshaped=0, retyped=0, unchanged=\d+, /);
    expect(lines.gradients).toMatch(/^gradient_analysis: source=parameter_update, update_norm=0\.0000, rel_update=0\.0000$/);
    expect(lines.similarity).toMatch(/^similarity_matrix: models=2, lowest=1\.0000, lowest_pair=\[1\]-\[2\]$/);
  });
});
