/**
 * The model view (roles, tie groups, stored hyperparameters) and what users see of it in
 * inspect and diff. Expected values were recorded from real torch 1.13 / torchvision 0.14 by
 * fixtures/generate_model_view.py (fixtures/model_view/expected.json): parameter counts are
 * `sum(p.numel() for p in model.parameters())`, buffer names `model.named_buffers()`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffFiles, inspectFile } from '../src/library.js';
import { describeModel } from '../src/formats/registry.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { buildModelView, buildModelViewWithConfig, isBuffer, roleContext, roleOf, type ModelView } from '../src/model/index.js';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT, rawSafetensors, tempDir, writeSafetensors } from './helpers/files.js';

const DIR = join(ROOT, 'fixtures', 'model_view');
const fx = (name: string) => join(DIR, name);

interface Expected {
  gpt: {
    parameters: number;
    parameter_names: string[];
    buffer_names: string[];
    state_dict_names: string[];
    tied: Record<string, string>;
    safetensors_metadata: Record<string, string>;
    untied_lm_head_max_abs_diff: number;
  };
  bn_cnn: { parameters: number; parameter_names: string[]; buffer_names: string[]; num_batches_tracked: number };
  resnet18: { parameters: number; parameter_names: string[]; buffer_names: string[]; tensors: number };
  quantized_dynamic: {
    parameters: number;
    parameter_names: string[];
    links: Record<string, string>;
    fc1_weight_scale: number;
    fc1_weight_zero_point: number;
    state_dict: Record<string, unknown>;
  };
  checkpoint: {
    parameters: number;
    epoch: number;
    loss: number;
    args: Record<string, unknown>;
    param_groups: Array<Record<string, unknown>>;
    state_ids: number[];
    steps: Record<string, number>;
    step_is_tensor: boolean;
  };
}
const EXPECTED = JSON.parse(readFileSync(fx('expected.json'), 'utf8')) as Expected;

async function view(name: string): Promise<ModelView> {
  return buildModelView(await describeModel(fx(name)));
}

function namesWithRole(v: ModelView, role: string): string[] {
  return [...v.entries.values()]
    .filter((e) => e.role === role)
    .map((e) => e.name)
    .sort();
}

/** Sum of total_params over role parameter, each tie counted once: the number torch's model.parameters() gives. */
function inspectedParameters(tensors: Array<{ role: string; tied_to?: string; total_params: number }>): number {
  return tensors.filter((t) => t.role === 'parameter' && t.tied_to === undefined).reduce((s, t) => s + t.total_params, 0);
}

describe('model view: roles and tie groups on files made by torch', () => {
  it('tied GPT (.pt): one shared storage, counted once; causal-mask buffers by name and shape', async () => {
    const v = await view('gpt.pt');
    expect(v.tieGroups).toEqual([{ representative: 'lm_head.weight', members: ['lm_head.weight', 'tok_emb.weight'], aliases: [] }]);
    expect(v.entries.get('tok_emb.weight')).toMatchObject({ role: 'parameter', tiedTo: 'lm_head.weight', stored: true });
    expect(v.entries.get('lm_head.weight')?.tiedTo).toBeUndefined();
    expect(v.parameterCount()).toBe(EXPECTED.gpt.parameters);
    expect(namesWithRole(v, 'buffer')).toEqual(EXPECTED.gpt.buffer_names);
    // every state_dict entry that is not a buffer is a parameter (torch's named_parameters lists the tied one once)
    expect(namesWithRole(v, 'parameter')).toEqual(EXPECTED.gpt.state_dict_names.filter((n) => !EXPECTED.gpt.buffer_names.includes(n)));
    expect([...v.entries.values()].filter((e) => e.role === 'parameter' && !e.tiedTo).length).toBe(EXPECTED.gpt.parameter_names.length);
    const totals = v.totals();
    expect(totals.parameter.bytes).toBe(EXPECTED.gpt.parameters * 4);
  });

  it('tied GPT (.safetensors, save_model convention): the dropped name is an alias of the kept one', async () => {
    const v = await view('gpt.safetensors');
    expect(v.description.tensors.some((t) => t.name === 'tok_emb.weight')).toBe(false);
    expect(v.tieGroups).toEqual([{ representative: 'lm_head.weight', members: ['lm_head.weight', 'tok_emb.weight'], aliases: ['tok_emb.weight'] }]);
    const alias = v.entries.get('tok_emb.weight')!;
    expect(alias).toMatchObject({ role: 'parameter', tiedTo: 'lm_head.weight', stored: false });
    expect(alias.descriptor.source).toEqual(v.entries.get('lm_head.weight')!.descriptor.source);
    expect(v.aliasLeaves).toEqual(new Set(['__metadata__.tok_emb.weight']));
    expect(v.formatLeaves).toEqual(new Set(['__metadata__.format', '__metadata__.tok_emb.weight']));
    expect(v.parameterCount()).toBe(EXPECTED.gpt.parameters);
    expect(namesWithRole(v, 'buffer')).toEqual(EXPECTED.gpt.buffer_names);
  });

  it('untied variants have no tie groups and count both matrices', async () => {
    for (const f of ['gpt_untied.pt', 'gpt_untied.safetensors']) {
      const v = await view(f);
      expect(v.tieGroups, f).toEqual([]);
      expect(v.parameterCount(), f).toBe(EXPECTED.gpt.parameters + 64 * 32);
    }
  });

  it('BatchNorm CNN: running statistics and num_batches_tracked are buffers', async () => {
    const v = await view('bn_cnn.pt');
    expect(namesWithRole(v, 'buffer')).toEqual(EXPECTED.bn_cnn.buffer_names);
    expect(namesWithRole(v, 'parameter')).toEqual(EXPECTED.bn_cnn.parameter_names);
    expect(v.parameterCount()).toBe(EXPECTED.bn_cnn.parameters);
    expect(v.tieGroups).toEqual([]);
  });

  it('torchvision resnet18 (DEFLATE zip): 11,689,512 parameters as torch counts them, BN statistics are buffers', async () => {
    expect(EXPECTED.resnet18.parameters).toBe(11_689_512);
    const v = await view('resnet18_zeros.pt');
    expect(v.description.tensors.length).toBe(EXPECTED.resnet18.tensors);
    expect(v.description.tensors.every((t) => t.source.kind === 'deflate')).toBe(true);
    expect(v.parameterCount()).toBe(11_689_512);
    expect(namesWithRole(v, 'parameter')).toEqual(EXPECTED.resnet18.parameter_names);
    expect(namesWithRole(v, 'buffer')).toEqual(EXPECTED.resnet18.buffer_names);
    expect(EXPECTED.resnet18.buffer_names.filter((n) => /\.(running_mean|running_var|num_batches_tracked)$/.test(n)).length).toBe(60);
  });

  it('dynamic quantization: each packed weight and bias is linked to the float name it replaces', async () => {
    const v = await view('quantized_dynamic.pt');
    const links = Object.fromEntries([...v.entries.values()].filter((e) => e.linkedTo).map((e) => [e.name, e.linkedTo]));
    expect(links).toEqual(EXPECTED.quantized_dynamic.links);
    for (const name of Object.keys(EXPECTED.quantized_dynamic.links)) expect(v.entries.get(name)?.role, name).toBe('quantized');
    for (const name of ['fc1.scale', 'fc1.zero_point', 'fc2.scale', 'fc2.zero_point']) expect(v.entries.get(name)?.role, name).toBe('quantized');
    expect(namesWithRole(v, 'parameter')).toEqual(EXPECTED.quantized_dynamic.parameter_names);
    expect(v.parameterCount()).toBe(EXPECTED.quantized_dynamic.parameters);
    const w = v.entries.get('fc1._packed_params._packed_params.0')!.descriptor;
    expect(w.quantization).toEqual({
      scheme: 'qint8',
      scale: EXPECTED.quantized_dynamic.fc1_weight_scale,
      zeroPoint: EXPECTED.quantized_dynamic.fc1_weight_zero_point,
    });
  });

  it('training checkpoint: model weights are parameters, Adam moments optimizer state, loss a scalar', async () => {
    const v = await view('checkpoint.pt');
    expect(namesWithRole(v, 'parameter')).toEqual([
      'model_state_dict.0.bias',
      'model_state_dict.0.weight',
      'model_state_dict.2.bias',
      'model_state_dict.2.weight',
    ]);
    expect(v.parameterCount()).toBe(EXPECTED.checkpoint.parameters);
    expect(namesWithRole(v, 'scalar')).toEqual(['loss']);
    expect(namesWithRole(v, 'optimizer_state')).toEqual(
      EXPECTED.checkpoint.state_ids.flatMap((i) => ['exp_avg', 'exp_avg_sq', 'step'].map((k) => `optimizer_state_dict.state.${i}.${k}`)),
    );
  });
});

describe('model view: stored hyperparameters as typed data', () => {
  it('reads Adam param_groups, per-parameter steps (skipping the frozen layer), epoch and argparse args', async () => {
    const v = await view('checkpoint.pt');
    const h = v.hyperparameters;
    const ref = EXPECTED.checkpoint.param_groups[0]!;
    expect(h.optimizers.length).toBe(1);
    const o = h.optimizers[0]!;
    expect(o.path).toBe('optimizer_state_dict');
    expect(o.paramGroups.length).toBe(EXPECTED.checkpoint.param_groups.length);
    const g = o.paramGroups[0]!;
    expect([g.index, g.lr, g.betas, g.eps, g.weight_decay, g.momentum, g.params]).toEqual([
      0,
      ref.lr,
      ref.betas,
      ref.eps,
      ref.weight_decay,
      undefined,
      ref.params,
    ]);
    expect(g.other).toMatchObject({ amsgrad: ref.amsgrad, maximize: ref.maximize, foreach: ref.foreach });
    expect(EXPECTED.checkpoint.step_is_tensor).toBe(true);
    expect(o.steps).toEqual(EXPECTED.checkpoint.state_ids.map((i) => ({ param: i, tensor: `optimizer_state_dict.state.${i}.step` })));
    expect(h.epoch).toBe(EXPECTED.checkpoint.epoch);
    expect(h.args).toEqual(EXPECTED.checkpoint.args);
    // the step tensors and the loss hold what torch stored
    const report = await inspectFile(fx('checkpoint.pt'));
    for (const s of o.steps) expect(report.tensors.find((t) => t.name === s.tensor)?.mean).toBe(EXPECTED.checkpoint.steps[String(s.param)]);
    const loss = report.tensors.find((t) => t.name === 'loss')!;
    expect([loss.role, loss.mean]).toEqual(['scalar', EXPECTED.checkpoint.loss]);
  });

  it('reads a Hugging Face config.json beside the model file, size-checked', async () => {
    const tmp = tempDir();
    try {
      const model = writeSafetensors(tmp.path('model.safetensors'), [{ name: 'w', dtype: 'f32', shape: [1], bytes: new Uint8Array(4) }]);
      const desc = await describeModel(model);
      expect(buildModelViewWithConfig(desc).hyperparameters.config).toBeUndefined();
      writeFileSync(tmp.path('config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 32, tie_word_embeddings: true }));
      const withConfig = buildModelViewWithConfig(desc);
      expect(withConfig.hyperparameters.config).toEqual({
        path: tmp.path('config.json'),
        values: { model_type: 'gpt2', n_embd: 32, tie_word_embeddings: true },
      });
      writeFileSync(tmp.path('config.json'), '[1, 2]');
      const notObject = buildModelViewWithConfig(desc);
      expect([notObject.hyperparameters.config, notObject.warnings.length]).toEqual([undefined, 1]);
      writeFileSync(tmp.path('config.json'), ' '.repeat(4 * 1024 * 1024 + 1));
      const tooLarge = buildModelViewWithConfig(desc);
      expect(tooLarge.hyperparameters.config).toBeUndefined();
      expect(tooLarge.warnings[0]).toMatch(/larger than/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('roles by module convention (name, shape and dtype)', () => {
  const t = (name: string, dtype: TensorDescriptor['dtype'], shape: number[]): TensorDescriptor => ({
    name,
    dtype,
    shape,
    numel: shape.reduce((a, b) => a * b, 1),
    byteOrder: 'little',
    source: { kind: 'file', path: 'x', offset: 0, length: 0 },
  });
  it('decides GPT-2 attn.bias by shape: a [1, 1, n, n] mask is a buffer, a 1-D bias a parameter', () => {
    expect(isBuffer(t('h.0.attn.bias', 'f32', [1, 1, 8, 8]))).toBe(true);
    expect(isBuffer(t('h.0.attn.bias', 'u8', [1, 1, 8, 8]))).toBe(true);
    expect(isBuffer(t('h.0.attn.c_attn.bias', 'f32', [96]))).toBe(false);
    expect(isBuffer(t('h.0.mlp.bias', 'f32', [1, 1, 8, 8]))).toBe(false);
    expect(isBuffer(t('h.0.attn.masked_bias', 'f32', []))).toBe(true);
  });
  it('knows position ids, rotary inverse frequencies and integer tensors as buffers', () => {
    expect(isBuffer(t('embeddings.position_ids', 'i64', [1, 512]))).toBe(true);
    expect(isBuffer(t('layers.0.self_attn.rotary_emb.inv_freq', 'f32', [64]))).toBe(true);
    expect(isBuffer(t('layer.relative_position_index', 'i64', [49, 49]))).toBe(true);
    expect(isBuffer(t('fc.weight', 'f32', [4, 4]))).toBe(false);
    expect(isBuffer(t('counts', 'i32', [4]))).toBe(true);
  });
  it('a top-level 1-element tensor is a scalar only in a training checkpoint (CLIP keeps a learnable logit_scale)', () => {
    const clip = [t('logit_scale', 'f32', []), t('visual.proj', 'f32', [4, 4])];
    expect(
      roleOf(
        clip[0]!,
        roleContext(
          clip.map((x) => x.name),
          [],
        ),
      ).role,
    ).toBe('parameter');
    const ckpt = [t('loss', 'f32', []), t('model_state_dict.fc.weight', 'f32', [4, 4])];
    expect(
      roleOf(
        ckpt[0]!,
        roleContext(
          ckpt.map((x) => x.name),
          [],
        ),
      ).role,
    ).toBe('scalar');
    expect(roleOf(t('best_acc', 'f32', [1]), roleContext([], ['epoch'])).role).toBe('scalar');
  });
});

describe('inspect shows roles and ties', () => {
  requireBuild();

  it("JSON: role on every tensor, tied_to on the tied name; the sum over parameters with ties once is torch's count", async () => {
    const runs = await Promise.all(['gpt.pt', 'gpt.safetensors', 'bn_cnn.pt'].map((f) => cli(['inspect', fx(f), '-o', 'json'])));
    for (const [i, r] of runs.entries()) {
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as { tensors: Array<{ name: string; role: string; tied_to?: string; total_params: number }> };
      expect(out.tensors.every((t) => ['parameter', 'buffer', 'optimizer_state', 'scalar', 'quantized'].includes(t.role))).toBe(true);
      if (i < 2) {
        expect(out.tensors.map((t) => t.name)).toEqual(EXPECTED.gpt.state_dict_names);
        expect(out.tensors.filter((t) => t.tied_to).map((t) => [t.name, t.tied_to])).toEqual([['tok_emb.weight', 'lm_head.weight']]);
        expect(inspectedParameters(out.tensors)).toBe(EXPECTED.gpt.parameters);
        expect(out.tensors.filter((t) => t.role === 'buffer').map((t) => t.name)).toEqual(EXPECTED.gpt.buffer_names);
      } else {
        expect(inspectedParameters(out.tensors)).toBe(EXPECTED.bn_cnn.parameters);
        expect(out.tensors.filter((t) => t.role === 'buffer').map((t) => t.name)).toEqual(EXPECTED.bn_cnn.buffer_names);
      }
    }
    // the tied name's statistics are its representative's (the same storage)
    const pt = JSON.parse(runs[0]!.stdout) as { tensors: Array<Record<string, unknown>> };
    const { name: _a, tied_to: _t, ...tok } = pt.tensors.find((t) => t.name === 'tok_emb.weight')!;
    const { name: _b, ...head } = pt.tensors.find((t) => t.name === 'lm_head.weight')!;
    expect(tok).toEqual(head);
  });

  it('text: marks role and tied_to; the header counts ties once and buffers apart', async () => {
    const r = await cli(['inspect', fx('gpt.pt'), '--shape-only']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const buffers = 2 * (16 * 16 + 1);
    expect(lines[0]).toBe(
      `${fx('gpt.pt')}: pytorch, ${EXPECTED.gpt.state_dict_names.length} tensors, ${EXPECTED.gpt.parameters} parameters, ${buffers} in buffers`,
    );
    expect(lines).toContain('  tok_emb.weight: dtype=f32, shape=[64, 32], params=2048, tied_to=lm_head.weight');
    expect(lines).toContain('  blocks.0.attn.bias: dtype=bool, shape=[1, 1, 16, 16], params=256, role=buffer');
    expect(lines).toContain('  lm_head.weight: dtype=f32, shape=[64, 32], params=2048');
    const q = await cli(['inspect', fx('quantized_dynamic.pt'), '--shape-only']);
    expect(q.stdout).toContain('  fc1._packed_params._packed_params.1: dtype=f32, shape=[32], params=32, role=quantized, linked_to=fc1.bias\n');
  });

  it('resnet18 with DEFLATE entries: --shape-only and a full inspect read it; every value is 0', async () => {
    const [shape, full] = await Promise.all([
      cli(['inspect', fx('resnet18_zeros.pt'), '--shape-only', '-o', 'json']),
      cli(['inspect', fx('resnet18_zeros.pt'), '-o', 'json']),
    ]);
    for (const r of [shape, full]) {
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as {
        tensors: Array<{ name: string; role: string; tied_to?: string; total_params: number; zero_count: number | null; l2_norm: number | null }>;
      };
      expect(out.tensors.length).toBe(EXPECTED.resnet18.tensors);
      expect(inspectedParameters(out.tensors)).toBe(11_689_512);
      expect(out.tensors.filter((t) => t.role === 'buffer').map((t) => t.name)).toEqual(EXPECTED.resnet18.buffer_names);
    }
    const out = JSON.parse(full.stdout) as { tensors: Array<{ total_params: number; zero_count: number; l2_norm: number }> };
    expect(out.tensors.every((t) => t.zero_count === t.total_params && t.l2_norm === 0)).toBe(true);
  }, 60_000); // inflates 46 MB of storages in a child process
});

describe('diff is tie-aware', () => {
  requireBuild();
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('gpt.pt and gpt.safetensors (same weights, tie kept by storage vs by metadata alias) do not differ, either way', async () => {
    const runs = await Promise.all([
      cli([fx('gpt.pt'), fx('gpt.safetensors')]),
      cli([fx('gpt.safetensors'), fx('gpt.pt')]),
      cli([fx('gpt.pt'), fx('gpt.safetensors'), '-o', 'json']),
    ]);
    expect(runs.map((r) => [r.status, r.stdout, r.stderr])).toEqual([
      [0, 'No differences found.\n', ''],
      [0, 'No differences found.\n', ''],
      [0, '[]\n', ''],
    ]);
  });

  it('a tie broken on one side is TieChanged (both directions); values are still compared', async () => {
    const [fwd, back, text] = await Promise.all([
      cli([fx('gpt.pt'), fx('gpt_untied.pt'), '-o', 'json']),
      cli([fx('gpt_untied.pt'), fx('gpt.safetensors'), '-o', 'json']),
      cli([fx('gpt_untied.pt'), fx('gpt.safetensors')]),
    ]);
    const a = JSON.parse(fwd.stdout) as Array<Record<string, unknown[]>>;
    expect(a.map((d) => Object.keys(d)[0])).toEqual(['TensorStatsChanged', 'TieChanged']);
    expect(a[1]).toEqual({ TieChanged: ['tok_emb.weight', 'lm_head.weight', 'tied', 'untied'] });
    expect(a[0]!.TensorStatsChanged![0]).toBe('lm_head.weight');
    const cmp = a[0]!.TensorStatsChanged![3] as { max_abs_diff: number; changed_elements: number };
    expect(cmp.max_abs_diff).toBeCloseTo(EXPECTED.gpt.untied_lm_head_max_abs_diff, 6);
    const b = JSON.parse(back.stdout) as Array<Record<string, unknown[]>>;
    expect(b.find((d) => d.TieChanged)).toEqual({ TieChanged: ['tok_emb.weight', 'lm_head.weight', 'untied', 'tied'] });
    expect(b.some((d) => d.TensorAdded || d.TensorRemoved || d.Added || d.Removed)).toBe(false);
    expect(text.stdout.split('\n')).toContain('  ~ tok_emb.weight: own storage -> tied to lm_head.weight');
  });

  it('between two safetensors files the tie alias is compared as a tie, not as metadata', async () => {
    const r = await cli([fx('gpt.safetensors'), fx('gpt_untied.safetensors')]);
    expect(r.stdout).toBe('  ~ tok_emb.weight: tied to lm_head.weight -> own storage\n');
    const report = await diffFiles(fx('gpt.safetensors'), fx('gpt_untied.safetensors'));
    expect(report.results).toEqual([{ kind: 'TieChanged', name: 'tok_emb.weight', partner: 'lm_head.weight', a: 'tied', b: 'untied' }]);
  });

  it('a name dropped without an alias whose tie partner is on both sides is not a removal; same-format metadata still differs', async () => {
    // what transformers' save_pretrained does: drop the tied name, record nothing
    const buf = readFileSync(fx('gpt.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, Record<string, string>>;
    const data = buf.subarray(8 + n);
    const { 'tok_emb.weight': _dropped, ...meta } = header.__metadata__!;
    writeFileSync(tmp.path('no_alias.safetensors'), rawSafetensors(JSON.stringify({ ...header, __metadata__: meta }), data));
    writeFileSync(tmp.path('format_tf.safetensors'), rawSafetensors(JSON.stringify({ ...header, __metadata__: { ...meta, format: 'tf' } }), data));
    const [ptVsNoAlias, sameFormat] = await Promise.all([
      cli([fx('gpt.pt'), tmp.path('no_alias.safetensors')]),
      cli([tmp.path('no_alias.safetensors'), tmp.path('format_tf.safetensors')]),
    ]);
    expect([ptVsNoAlias.status, ptVsNoAlias.stdout]).toEqual([0, 'No differences found.\n']);
    expect(sameFormat.stdout).toBe('  ~ __metadata__.format: "pt" -> "tf"\n');
  });

  it('a tie group is read once: the bytes a diff reads count the shared matrix once per side', async () => {
    let total = -1;
    const report = await diffFiles(fx('gpt.pt'), fx('gpt.safetensors'), {
      onTotalBytes: (n) => {
        total = n;
      },
    });
    expect(report.results).toEqual([]);
    // f32 parameters (tied matrix once) + per block a [1, 1, 16, 16] bool mask and a 0-d f32 masked_bias
    const perSide = EXPECTED.gpt.parameters * 4 + (EXPECTED.gpt.buffer_names.length / 2) * (16 * 16 + 4);
    expect(total).toBe(2 * perSide);
  });

  it('safetensors metadata is not a difference against a .pt (which has no place for it)', async () => {
    const report = await diffFiles(fx('gpt_untied.safetensors'), fx('gpt_untied.pt'));
    expect(report.results.map((r) => [r.kind, r.name])).toEqual([['TensorStatsChanged', 'lm_head.weight']]);
  });
});
