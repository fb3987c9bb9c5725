/**
 * The training and MLOps analyses (issue 11) on fixtures made by real torch, checked against
 * float64 recomputations from the tensors' bytes (decoded here, not through the engine) and
 * against values the generators recorded from torch.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisEntry, type AnalysisName } from '../src/analysis/index.js';
import { summaryLine } from '../src/analysis/summary.js';
import { describeModel } from '../src/formats/registry.js';
import { expectClose } from './helpers/assert.js';
import { cli } from './helpers/cli.js';
import { decodeTensor, readSourceBytes } from './helpers/decode.js';
import { ROOT, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const real = (f: string) => join(ROOT, 'fixtures', 'analysis_real', f);
const small = (f: string) => join(ROOT, 'fixtures', 'analysis', f);
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
type Data = any;
const EXP: Data = JSON.parse(readFileSync(real('expected.json'), 'utf8'));
const REF: Data = JSON.parse(readFileSync(small('reference.json'), 'utf8'));

async function analysis(files: string[], name: AnalysisName): Promise<{ entry: AnalysisEntry; data: Data }> {
  const { analyses } = await analyzeFiles(files, [name]);
  const entry = analyses.at(-1)!;
  return { entry, data: entry.data };
}

/** The named tensors of a file as float64 arrays, decoded from their bytes. */
async function float64Tensors(path: string, names: string[]): Promise<Map<string, number[]>> {
  const d = await describeModel(path);
  return new Map(names.map((n) => [n, decodeTensor(d.tensors.find((t) => t.name === n)!) as number[]]));
}

/** ‖B − A‖ and ‖A‖ in float64 over the named tensors. */
function norms(a: Map<string, number[]>, b: Map<string, number[]>, names: string[]): { diff: number; a: number } {
  let dd = 0;
  let aa = 0;
  for (const n of names) {
    const x = a.get(n)!;
    const y = b.get(n)!;
    for (let i = 0; i < x.length; i++) {
      dd += (y[i]! - x[i]!) ** 2;
      aa += x[i]! ** 2;
    }
  }
  return { diff: Math.sqrt(dd), a: Math.sqrt(aa) };
}

describe('--learning-progress', () => {
  const sgd = EXP.trajectories.sgd;
  const params: string[] = sgd.parameter_names;
  const files = [0, 10, 50].map((e) => real(`sgd_epoch${e}.pt`));

  it('SGD epochs 0/10/50: distance from the first, path efficiency and per-epoch updates match a float64 recomputation; trend from the stored loss', async () => {
    const w = await Promise.all(files.map((f) => float64Tensors(f, params)));
    const { entry, data } = await analysis(files, 'learningProgress');
    const d1 = norms(w[0]!, w[1]!, params);
    const d2 = norms(w[0]!, w[2]!, params);
    const s2 = norms(w[1]!, w[2]!, params);
    expectClose(data.distance_from_first[1], d1.diff / d1.a, 1e-9, 0, 'distance at epoch 10');
    expectClose(data.magnitude, d2.diff / d2.a, 1e-9, 0, 'magnitude (distance at epoch 50)');
    expectClose(data.speed, d2.diff / d2.a / 50, 1e-9, 0, 'speed per epoch');
    expectClose(data.path_efficiency, d2.diff / (d1.diff + s2.diff), 1e-9, 0, 'path efficiency');
    expect(data.path_efficiency).toBeLessThan(1);
    expectClose(data.update_norms[1], s2.diff, 1e-9, 0, 'update norm 10 -> 50');
    // torch's own per-epoch relative updates (generator)
    for (let k = 0; k < 2; k++) expectClose(data.rel_updates_per_unit[k], sgd['0/10/50'].rel_updates_per_epoch[k], 1e-6, 0, `rel update ${k}`);
    expect(data.spacing).toBe('epoch');
    expect(data.positions).toEqual([0, 10, 50]);
    expect(data.loss_key).toBe('loss');
    for (let k = 0; k < 3; k++) expectClose(data.losses[k], sgd['0/10/50'].losses[k], 1e-6, 0, `loss ${k}`);
    const [l1, l2] = sgd['0/10/50'].losses.slice(1);
    expectClose(data.loss_change_last, (l2 - l1) / l1, 1e-6, 0, 'loss change');
    expect(data.trend_source).toBe('loss');
    expect(data.trend).toBe((l2 - l1) / l1 < -0.01 ? 'improving' : (l2 - l1) / l1 > 0.01 ? 'worsening' : 'plateau');
    // per layer: fc1's distance recomputed
    const fc1 = params.filter((n) => n.startsWith('model_state_dict.fc1.'));
    const l = norms(w[0]!, w[2]!, fc1);
    expectClose(data.layers.find((x: Data) => x.layer === 'model_state_dict.fc1').distance_from_first, l.diff / l.a, 1e-9, 0, 'fc1 distance');
    expect(summaryLine(entry)).toMatch(/^\+ learning_progress: trend=\w+, magnitude=\d\.\d{4}, speed=0\.\d{4}, efficiency=0\.\d{4}$/);
  });

  it('two files: speed is the distance per stored epoch, path efficiency does not exist (one straight step)', async () => {
    const w = await Promise.all(files.slice(0, 2).map((f) => float64Tensors(f, params)));
    const { entry, data } = await analysis(files.slice(0, 2), 'learningProgress');
    const d = norms(w[0]!, w[1]!, params);
    expectClose(data.magnitude, d.diff / d.a, 1e-9, 0, 'magnitude');
    expectClose(data.speed, d.diff / d.a / 10, 1e-9, 0, 'speed');
    expect(data.path_efficiency).toBeNull();
    expect(data.trend).toBe('improving');
    expect(entry.details.join('\n')).toMatch(/path efficiency: none for two checkpoints/);
  });

  it('Adam checkpoints with a stored numeric loss leaf: losses are the train losses torch recorded', async () => {
    const { data } = await analysis(
      [1, 2, 3].map((e) => small(`adam_epoch${e}.pt`)),
      'learningProgress',
    );
    expect(data.spacing).toBe('epoch');
    for (let k = 0; k < 3; k++) expectClose(data.losses[k], REF.info.adam[`epoch${k + 1}`].train_loss, 0, 1e-4, `loss ${k}`);
    expect(data.trend).toBe('improving');
    for (let k = 0; k < 2; k++) expectClose(data.rel_updates[k], REF.adam_trajectory.rel_update_overall[k], 1e-6, 0, `rel update ${k}`);
  });

  it('without a stored loss the trend comes from the update sizes, and says so', async () => {
    const { entry, data } = await analysis(
      [1, 2, 3].map((e) => small(`sgd_epoch${e}.safetensors`)),
      'learningProgress',
    );
    expect(data.trend_source).toBe('update_size');
    expect(data.losses).toEqual([null, null, null]);
    const [r1, r2] = REF.sgd_trajectory.rel_update_overall;
    expect(data.trend).toBe(r2 < r1 / 1.1 ? 'settling' : r2 > r1 * 1.1 ? 'accelerating' : 'steady');
    expect(entry.details[1]).toMatch(/^trend from the update sizes per checkpoint \(no stored loss\)/);
  });

  it('files without a common parameter: not applicable with the reason', async () => {
    const t = tempDir();
    try {
      const one = new Uint8Array(new Float32Array([1, 2]).buffer);
      const a = writeSafetensors(t.path('a.safetensors'), [{ name: 'x.weight', dtype: 'F32', shape: [2], bytes: one }]);
      const b = writeSafetensors(t.path('b.safetensors'), [{ name: 'y.weight', dtype: 'F32', shape: [2], bytes: one }]);
      const { entry, data } = await analysis([a, b], 'learningProgress');
      expect(data).toEqual({ applicable: false, reason: expect.stringMatching(/no parameter tensor/) });
      expect(summaryLine(entry)).toMatch(/^\+ learning_progress: not applicable \(no parameter tensor/);
    } finally {
      t.cleanup();
    }
  });
});

describe('--hyperparameter-impact', () => {
  const params: string[] = EXP.trajectories.adam.parameter_names;

  it('Adam epochs 1 and 10 (ExponentialLR γ=0.85): lr ratio 0.85^9, epoch and step ×10, per-layer change as recomputed in float64', async () => {
    const files = [real('adam_epoch1.pt'), real('adam_epoch10.pt')];
    const { entry, data } = await analysis(files, 'hyperparameters');
    const byName = new Map(data.changes.map((x: Data) => [x.name, x]));
    const lr: Data = byName.get('optimizer_state_dict.param_groups.0.lr');
    expectClose(lr.ratio, 0.85 ** 9, 1e-9, 0, 'lr ratio');
    expectClose(lr.a, 2e-3 * 0.85, 1e-9, 0, 'lr at epoch 1');
    expect(byName.get('epoch')).toMatchObject({ a: 1, b: 10, change: 'changed' });
    expect((byName.get('optimizer_state_dict.step') as Data).ratio).toBe(10);
    expect([...byName.keys()].sort()).toEqual(['epoch', 'optimizer_state_dict.param_groups.0.lr', 'optimizer_state_dict.step']);
    const w = await Promise.all(files.map((f) => float64Tensors(f, params)));
    for (const layer of ['model_state_dict.fc1', 'model_state_dict.fc2']) {
      const n = norms(
        w[0]!,
        w[1]!,
        params.filter((x) => x.startsWith(`${layer}.`)),
      );
      expectClose(data.layers.find((l: Data) => l.layer === layer).rel_l2_change, n.diff / n.a, 1e-9, 0, layer);
    }
    const all = norms(w[0]!, w[1]!, params);
    expectClose(data.model_rel_l2_change, all.diff / all.a, 1e-9, 0, 'model');
    expect(summaryLine(entry)).toMatch(
      /^hyperparameter_impact: changed=3, hyperparameters=epoch\+lr\+step, model_rel_l2_change=\d\.\d{4}, most_changed_layer=model_state_dict\.fc\d$/,
    );
  });

  it('SGD against Adam: momentum and nesterov removed, eps added; config.json beside each file compared', async () => {
    const { data } = await analysis([real('sgd_epoch10.pt'), real('adam_epoch10.pt')], 'hyperparameters');
    const byName = new Map(data.changes.map((x: Data) => [x.name, x]));
    expect(byName.get('optimizer_state_dict.param_groups.0.momentum')).toMatchObject({ a: 0.9, b: null, change: 'removed' });
    expect(byName.get('optimizer_state_dict.param_groups.0.nesterov')).toMatchObject({ a: false, b: null, change: 'removed' });
    expect(byName.get('optimizer_state_dict.param_groups.0.eps')).toMatchObject({ a: null, b: 1e-8, change: 'added' });
    expect(byName.has('epoch')).toBe(false);
    const t = tempDir();
    try {
      const one = new Uint8Array(new Float32Array([1, 2]).buffer);
      const two = new Uint8Array(new Float32Array([1, 3]).buffer);
      mkdirSync(t.path('a'));
      mkdirSync(t.path('b'));
      writeFileSync(t.path('a/config.json'), JSON.stringify({ hidden_dropout_prob: 0.1, num_layers: 2 }));
      writeFileSync(t.path('b/config.json'), JSON.stringify({ hidden_dropout_prob: 0.2, num_layers: 2 }));
      const a = writeSafetensors(t.path('a/m.safetensors'), [{ name: 'x.weight', dtype: 'F32', shape: [2], bytes: one }]);
      const b = writeSafetensors(t.path('b/m.safetensors'), [{ name: 'x.weight', dtype: 'F32', shape: [2], bytes: two }]);
      const { data: d } = await analysis([a, b], 'hyperparameters');
      expect(d.changes).toEqual([{ name: 'config.hidden_dropout_prob', a: 0.1, b: 0.2, change: 'changed', ratio: 2 }]);
      expectClose(d.model_rel_l2_change, 1 / Math.sqrt(5), 1e-12, 0, 'rel change');
    } finally {
      t.cleanup();
    }
  });

  it('files without stored hyperparameters: nothing differs, and the details say none were stored', async () => {
    const { entry, data } = await analysis([small('sgd_epoch1.safetensors'), small('sgd_epoch2.safetensors')], 'hyperparameters');
    expect(data.changes).toEqual([]);
    expect(entry.details[0]).toMatch(/^no stored hyperparameters/);
  });
});

describe('--deployment-readiness', () => {
  it('a GPT with injected NaN/Inf is blocked; the count matches the decoded values; --fail-on deployment exits 1, a clean copy 0', async () => {
    const injected = real('gpt_injected.safetensors');
    const d = await describeModel(injected);
    let nonFinite = 0;
    const bad: string[] = [];
    for (const t of d.tensors) {
      const n = (decodeTensor(t) as number[]).filter((x) => !Number.isFinite(x)).length;
      nonFinite += n;
      if (n > 0) bad.push(t.name);
    }
    expect(nonFinite).toBeGreaterThan(0);
    const { entry, data } = await analysis([real('gpt.safetensors'), injected], 'deployment');
    expect(data.verdict).toBe('blocked');
    expect(data.failing).toEqual(['finite_values']);
    const finite = data.checks.find((x: Data) => x.name === 'finite_values');
    expect([finite.value, finite.items]).toEqual([nonFinite, bad]);
    expect(summaryLine(entry)).toBe('deployment_readiness: verdict=blocked, checks=6, failed=finite_values, warnings=none');
    const [blocked, ready, both] = await Promise.all([
      cli([real('gpt.safetensors'), injected, '--fail-on', 'deployment']),
      cli([real('gpt.pt'), real('gpt.safetensors'), '--fail-on', 'deployment']),
      cli([real('gpt.pt'), real('gpt.safetensors'), '--fail-on', 'anomalies,deployment', '--deployment-readiness']),
    ]);
    expect(blocked.status).toBe(1);
    expect(blocked.stdout).not.toContain('deployment_readiness');
    expect([ready.status, ready.stdout]).toEqual([0, 'No differences found.\n']);
    expect(both.status).toBe(0);
    expect(both.stdout).toContain('deployment_readiness: verdict=ready, checks=6, failed=none, warnings=none');
  });

  it('a training checkpoint: optimizer-state share of the tensor bytes as summed from the descriptors (a warning, not blocking)', async () => {
    const files = [real('adam_epoch1.pt'), real('adam_epoch5.pt')];
    const d = await describeModel(files[1]!);
    const bytes = (ts: typeof d.tensors) => ts.reduce((s, t) => s + t.numel * 4, 0);
    expect(d.tensors.every((t) => t.dtype === 'f32')).toBe(true);
    const share = bytes(d.tensors.filter((t) => t.name.startsWith('optimizer_state_dict.'))) / bytes(d.tensors);
    const { data } = await analysis(files, 'deployment');
    expect([data.verdict, data.warnings]).toEqual(['ready', ['optimizer_state']]);
    expectClose(data.checks.find((x: Data) => x.name === 'optimizer_state').value, share, 1e-12, 0, 'optimizer share');
  });

  it('strict load_state_dict: resnet34 against resnet18 has the extra blocks as unexpected keys', async () => {
    const [a, b] = await Promise.all([describeModel(real('resnet18.pt')), describeModel(real('resnet34.pt'))]);
    const na = new Set(a.tensors.map((t) => t.name));
    const extra = b.tensors.map((t) => t.name).filter((n) => !na.has(n));
    const { data } = await analysis([real('resnet18.pt'), real('resnet34.pt')], 'deployment');
    const keys = data.checks.find((x: Data) => x.name === 'state_dict_keys');
    expect([keys.status, keys.value]).toEqual(['fail', extra.length]);
    expect(keys.detail).toMatch(new RegExp(`0 missing, ${extra.length} unexpected, 0 size mismatches`));
  });

  it('an unsupported dtype (uint16) and an untied LM head are blocked', async () => {
    const t = tempDir();
    try {
      const base = await describeModel(real('gpt.safetensors'));
      const specs = base.tensors.map((x) => ({ name: x.name, dtype: x.dtype.toUpperCase(), shape: x.shape, bytes: new Uint8Array(readSourceBytes(x.source)) }));
      const head = specs.find((s) => s.name === 'lm_head.weight')!;
      const untied = writeSafetensors(t.path('untied.safetensors'), [...specs, { ...head, name: 'wte.weight' }], { format: 'pt' });
      const { data } = await analysis([real('gpt.pt'), untied], 'deployment');
      expect(data.failing).toEqual(['ties_preserved']);
      expect(data.checks.find((x: Data) => x.name === 'ties_preserved').items).toEqual(['wte.weight']);
      const one = new Uint8Array(new Float32Array([1, 2]).buffer);
      const a = writeSafetensors(t.path('a.safetensors'), [{ name: 'x.weight', dtype: 'F32', shape: [2], bytes: one }]);
      const b = writeSafetensors(t.path('b.safetensors'), [
        { name: 'x.weight', dtype: 'F32', shape: [2], bytes: one },
        { name: 'x.index', dtype: 'U16', shape: [2], bytes: new Uint8Array(4) },
      ]);
      const { data: d } = await analysis([a, b], 'deployment');
      expect(d.failing).toEqual(['runtime_dtypes', 'state_dict_keys']);
      expect(d.checks.find((x: Data) => x.name === 'runtime_dtypes').items).toEqual(['x.index (u16)']);
    } finally {
      t.cleanup();
    }
  });
});

describe('--risk-assessment', () => {
  it('SGD epoch 0 -> 1: SQNR over the parameters and the output layer change as recomputed in float64; level from the worst rule', async () => {
    const params: string[] = EXP.trajectories.sgd.parameter_names;
    const files = [real('sgd_epoch0.pt'), real('sgd_epoch1.pt')];
    const w = await Promise.all(files.map((f) => float64Tensors(f, params)));
    const all = norms(w[0]!, w[1]!, params);
    const sqnr = 20 * Math.log10(all.a / all.diff);
    const head = norms(
      w[0]!,
      w[1]!,
      params.filter((n) => n.startsWith('model_state_dict.fc2.')),
    );
    const { entry, data } = await analysis(files, 'risk');
    expectClose(data.measured.sqnr_db, sqnr, 1e-9, 0, 'sqnr');
    expect(data.measured.output_layer).toBe('model_state_dict.fc2');
    expectClose(data.measured.output_layer_rel_change, head.diff / head.a, 1e-9, 0, 'head change');
    const expected = [
      ...(sqnr < 30 ? [{ rule: 'low_sqnr', severity: sqnr < 15 ? 'high' : 'medium' }] : []),
      ...(head.diff / head.a > 0.1 ? [{ rule: 'output_layer_change', severity: head.diff / head.a > 1 ? 'high' : 'medium' }] : []),
    ];
    expect(expected.length).toBeGreaterThan(0);
    expect(data.rules.map((r: Data) => ({ rule: r.rule, severity: r.severity }))).toEqual(expected);
    expect(data.level).toBe(expected.some((r) => r.severity === 'high') ? 'high' : 'medium');
    expect(summaryLine(entry)).toBe(`risk_assessment: level=${data.level}, rules_fired=${expected.length}, worst=${expected[0]!.rule}`);
  });

  it('NaN/Inf is critical; an identical copy fires nothing; a deeper model has its extra tensors as added, its head by name', async () => {
    const { data: inj } = await analysis([real('gpt.safetensors'), real('gpt_injected.safetensors')], 'risk');
    expect([inj.level, inj.worst_rule, inj.rules[0].tensors]).toEqual(['critical', 'non_finite', ['h.0.attn.q_proj.weight']]);
    const { data: same } = await analysis([real('gpt.pt'), real('gpt.safetensors')], 'risk');
    expect([same.level, same.rules]).toEqual(['none', []]);
    expect(same.measured.output_layer).toBe('lm_head');
    const [a, b] = await Promise.all([describeModel(real('resnet18.pt')), describeModel(real('resnet34.pt'))]);
    const na = new Set(a.tensors.map((t) => t.name));
    const { data: deeper } = await analysis([real('resnet18.pt'), real('resnet34.pt')], 'risk');
    expect(deeper.rules.find((r: Data) => r.rule === 'added_tensors').value).toBe(b.tensors.filter((t) => !na.has(t.name)).length);
    expect(deeper.measured.output_layer).toBe('fc');
  });
});

describe('--regression-test', () => {
  /** Elements outside |b − a| ≤ atol + rtol·|a| (NaN never close, equal infinities close) and the largest |b − a|, in float64 from the decoded bytes. */
  async function reference(pathA: string, pathB: string, tol: (dtype: string) => { atol: number; rtol: number }) {
    const [a, b] = await Promise.all([describeModel(pathA), describeModel(pathB)]);
    const bByName = new Map(b.tensors.map((t) => [t.name, t]));
    let bad = 0;
    let n = 0;
    let worst = { abs: 0, tensor: '', index: -1 };
    for (const ta of a.tensors) {
      const xs = decodeTensor(ta) as number[];
      const ys = decodeTensor(bByName.get(ta.name)!) as number[];
      const { atol, rtol } = tol(ta.dtype);
      n += xs.length;
      for (let i = 0; i < xs.length; i++) {
        const [x, y] = [xs[i]!, ys[i]!];
        if (!Number.isFinite(x) || !Number.isFinite(y)) {
          if (Number.isNaN(x) || Number.isNaN(y) || x !== y) bad++;
          continue;
        }
        const e = Math.abs(y - x);
        if (e > atol + rtol * Math.abs(x)) bad++;
        if (e > worst.abs) worst = { abs: e, tensor: ta.name, index: i };
      }
    }
    return { bad, n, worst };
  }
  const torchDefaults = (dtype: string) => (dtype === 'f32' ? { atol: 1e-5, rtol: 1.3e-6 } : { atol: 0, rtol: 0 });

  it('resnet18 against its f16 copy fails at the f32 defaults with the mismatched count and worst element recomputed in float64; passes with rtol 1e-3', async () => {
    const files = [real('resnet18.pt'), real('resnet18_f16.safetensors')];
    const ref = await reference(files[0]!, files[1]!, torchDefaults);
    expect(ref.bad).toBeGreaterThan(0);
    const { data } = await analysis(files, 'regression');
    expect([data.passed, data.elements_mismatched, data.elements_checked]).toEqual([false, ref.bad, ref.n]);
    expect(data.worst.tensor).toBe(ref.worst.tensor);
    expect(data.worst.abs_diff).toBe(ref.worst.abs);
    const loose = await analyzeFiles(files, ['regression'], { tolerance: { rtol: 1e-3 } });
    const refLoose = await reference(files[0]!, files[1]!, (d) => (d === 'f32' ? { atol: 1e-5, rtol: 1e-3 } : { atol: 0, rtol: 1e-3 }));
    expect(refLoose.bad).toBe(0);
    expect(loose.analyses[0]!.data.passed).toBe(true);
  });

  it('identical results at 1 and 2 threads and any chunking (exact counts, earliest worst index)', async () => {
    const files = [real('resnet18.pt'), real('resnet18_f16.safetensors')];
    const runs = await Promise.all([
      analyzeFiles(files, ['regression'], { threads: 1 }),
      analyzeFiles(files, ['regression'], { threads: 2, chunkElements: 1024 }),
      analyzeFiles(files, ['regression'], { threads: 2, chunkElements: 4096 }),
    ]);
    for (const r of runs.slice(1)) expect(r.analyses[0]!.data).toEqual(runs[0]!.analyses[0]!.data);
  });

  it('NaN is never close, equal infinities are; a removed tensor fails the structure; the command line exits 1 on failure and 0 on a pass', async () => {
    const t = tempDir();
    try {
      const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
      const a = writeSafetensors(t.path('a.safetensors'), [
        { name: 'w', dtype: 'F32', shape: [2, 2], bytes: f32([Number.NaN, Number.POSITIVE_INFINITY, 1, 2]) },
        { name: 'v', dtype: 'F32', shape: [1], bytes: f32([1]) },
      ]);
      const b = writeSafetensors(t.path('b.safetensors'), [
        { name: 'w', dtype: 'F32', shape: [2, 2], bytes: f32([Number.NaN, Number.POSITIVE_INFINITY, 1, 2.5]) },
      ]);
      const { data } = await analysis([a, b], 'regression');
      expect(data.failing).toEqual([expect.objectContaining({ name: 'w', mismatched: 2, non_finite: 1, max_abs_diff: 0.5, at: [1, 1] })]);
      expect([data.structural_equal, data.removed]).toEqual([false, ['v']]);
      const [fail, pass] = await Promise.all([
        cli([real('resnet18.pt'), real('resnet18_f16.safetensors'), '--regression-test']),
        cli([real('resnet18.pt'), real('resnet18.safetensors'), '--regression-test']),
      ]);
      expect(fail.status).toBe(1);
      expect(fail.stdout).toMatch(/regression_test: result=failed, mismatched=\d+\/45722/);
      expect(pass.status).toBe(0);
      expect(pass.stdout).toContain('regression_test: result=passed, mismatched=0/45722');
    } finally {
      t.cleanup();
    }
  });
});

describe('--alert-on-degradation', () => {
  const losses = EXP.trajectories.sgd['0/1/5/10/30'].losses as number[];

  it('a stored loss that rises between checkpoints (epoch 5 given before epoch 1) alerts with the change torch recorded; exit 1', async () => {
    const files = [real('sgd_epoch0.pt'), real('sgd_epoch5.pt'), real('sgd_epoch1.pt')];
    const { entry, data } = await analysis(files, 'degradation');
    const [l0, l1, l5] = [losses[0]!, losses[1]!, losses[2]!];
    expect(l5).toBeLessThan(l1);
    expect(data.alerts).toHaveLength((l5 - l0) / l0 > 0.01 ? 2 : 1);
    const rise = data.alerts.at(-1);
    expect([rise.name, rise.from, rise.to]).toEqual(['loss', files[1], files[2]]);
    expectClose(rise.change_or_bound, (l1 - l5) / l5, 1e-6, 0, 'loss rise');
    expect(summaryLine(entry)).toBe(`🚨 alert_on_degradation: alerts=${data.alerts.length}, status=degraded, first=loss`);
    const [fired, same] = await Promise.all([cli([files[1]!, files[2]!, '--alert-on-degradation']), cli([files[2]!, files[2]!, '--alert-on-degradation'])]);
    expect(fired.status).toBe(1);
    expect([same.status, same.stdout]).toEqual([0, 'No differences found.\n🚨 alert_on_degradation: alerts=0, status=ok, first=none\n  watched: loss\n']);
  });

  it('falling loss: no alert; fidelity bounds: the f16 copy SQNR (float64) against --min-sqnr, --fail-on degradation without showing it', async () => {
    const { data: ok } = await analysis([real('sgd_epoch0.pt'), real('sgd_epoch1.pt'), real('sgd_epoch5.pt')], 'degradation');
    expect(ok.alerts).toEqual([]);
    const files = [real('resnet18.pt'), real('resnet18_f16.safetensors')];
    const [a, b] = await Promise.all(files.map((f) => describeModel(f)));
    const bByName = new Map(b.tensors.map((t) => [t.name, t]));
    let aa = 0;
    let dd = 0;
    for (const t of a.tensors.filter((x) => x.dtype === 'f32' && !/running_|num_batches/.test(x.name))) {
      const xs = decodeTensor(t) as number[];
      const ys = decodeTensor(bByName.get(t.name)!) as number[];
      for (let i = 0; i < xs.length; i++) {
        aa += xs[i]! ** 2;
        dd += (ys[i]! - xs[i]!) ** 2;
      }
    }
    const sqnr = 10 * Math.log10(aa / dd);
    const below = await analyzeFiles(files, ['degradation'], { degradation: { minSqnrDb: sqnr + 1 } });
    const above = await analyzeFiles(files, ['degradation'], { degradation: { minSqnrDb: sqnr - 1 } });
    const alert = (below.analyses[0]!.data as Data).alerts[0];
    expectClose(alert.b, sqnr, 1e-9, 0, 'sqnr');
    expect((above.analyses[0]!.data as Data).alerts).toEqual([]);
    const [gate, pass] = await Promise.all([
      cli([real('gpt.pt'), real('gpt.safetensors'), '--fail-on', 'degradation', '--min-cosine', '0.99']),
      cli([...files, '--fail-on', 'degradation', '--min-sqnr', String(Math.ceil(sqnr + 1)), '-o', 'json']),
    ]);
    expect([gate.status, gate.stdout]).toEqual([0, 'No differences found.\n']);
    expect(pass.status).toBe(1);
    expect(pass.stdout).not.toContain('AlertOnDegradation');
  });

  it('without stored metrics or bounds: not applicable, exit code unchanged', async () => {
    const r = await cli([real('gpt.pt'), real('gpt.safetensors'), '--alert-on-degradation']);
    expect([r.status, r.stdout]).toEqual([
      0,
      'No differences found.\n🚨 alert_on_degradation: not applicable (no stored loss or accuracy-like metric, and no --min-sqnr/--min-cosine given)\n',
    ]);
  });
});
