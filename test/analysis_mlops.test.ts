/**
 * The training and MLOps analyses (issue 11) on fixtures made by real torch, checked against
 * float64 recomputations from the tensors' bytes (decoded here, not through the engine) and
 * against values the generators recorded from torch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisEntry, type AnalysisName } from '../src/analysis/index.js';
import { summaryLine } from '../src/analysis/summary.js';
import { describeModel } from '../src/formats/registry.js';
import { expectClose } from './helpers/assert.js';
import { decodeTensor } from './helpers/decode.js';
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
