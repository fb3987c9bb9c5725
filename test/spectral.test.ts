/**
 * --low-rank-delta and --spectral-analysis against known answers: fixtures/spectral, made by
 * fixtures/generate_spectral.py with torch (a merged rank-4 LoRA on three chosen layers, a
 * dense fine-tune, a matrix with a Pareto eigenvalue tail), whose reference.json holds
 * torch.linalg.svdvals (float64) of every ΔW and W and an independent numpy implementation of
 * the Clauset–Shalizi–Newman power-law fit. Plus the linear algebra on matrices whose
 * singular values are known by construction.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { analyzeFiles, type AnalysisEntry } from '../src/analysis/index.js';
import {
  basisOf,
  gaussian,
  householderQr,
  randomizedSingularValues,
  singularValues,
  workingSetBytes,
  type LinearOperator,
} from '../src/analysis/randomized-svd.js';
import { GramSpectra, gramSingularValues } from '../src/analysis/gram-spectrum.js';
import { entropyRank } from '../src/analysis/low-rank-delta.js';
import { Executor } from '../src/engine/executor.js';
import type { ModelDescription } from '../src/formats/types.js';
import { powerLawFit } from '../src/analysis/spectral-analysis.js';
import { expectClose } from './helpers/assert.js';
import { requireBuild, runCli } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });

const fx = (name: string) => join(ROOT, 'fixtures', 'spectral', name);
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped as the generator wrote it
const REF: any = JSON.parse(readFileSync(fx('reference.json'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: analysis data as JSON shows it
type Data = any;
const only = (entries: AnalysisEntry[], key: string): Data => entries.find((e) => e.key === key)!.data;
const byName = (layers: Data[]) => new Map<string, Data>(layers.map((l) => [l.name, l]));

/** Singular values agree with torch's to `rel` of the largest (small values are rounding noise in both). */
function expectSpectrum(got: number[], ref: number[], rel: number, label: string): void {
  for (let i = 0; i < got.length; i++) expectClose(got[i], ref[i]!, 0, rel * ref[0]!, `${label} sigma_${i + 1}`);
}

describe('linear algebra (src/analysis/linalg.ts)', () => {
  // M = P·diag(σ)·Q with P, Q products of Householder reflections I − 2vvᵀ/vᵀv: singular values σ exactly.
  const reflect = (rows: number, cols: number, seed: number, left: boolean, m: Float64Array) => {
    const dim = left ? rows : cols;
    const v = gaussian(dim, 1, seed);
    const vv = v.reduce((s, x) => s + x * x, 0);
    const out = new Float64Array(m.length);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        let dot = 0;
        if (left) for (let t = 0; t < rows; t++) dot += v[t]! * m[t * cols + j]!;
        else for (let t = 0; t < cols; t++) dot += m[i * cols + t]! * v[t]!;
        out[i * cols + j] = m[i * cols + j]! - (2 / vv) * dot * (left ? v[i]! : v[j]!);
      }
    return out;
  };
  const known = (rows: number, cols: number, sigma: number[]) => {
    let m = new Float64Array(rows * cols);
    sigma.forEach((s, i) => {
      m[i * cols + i] = s;
    });
    for (let r = 0; r < 3; r++) m = reflect(rows, cols, 100 + r, true, reflect(rows, cols, 200 + r, false, m));
    return m;
  };
  const operator = (m: Float64Array, rows: number, cols: number): LinearOperator => ({
    rows,
    cols,
    apply: async (x, k) => {
      const y = new Float64Array(rows * k);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let c = 0; c < k; c++) y[i * k + c] += m[i * cols + j]! * x[j * k + c]!;
      return y;
    },
    applyT: async (y, k) => {
      const z = new Float64Array(cols * k);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let c = 0; c < k; c++) z[j * k + c] += m[i * cols + j]! * y[i * k + c]!;
      return z;
    },
  });

  it('Householder QR: Q has orthonormal columns and Q·R gives back A', () => {
    const [m, l] = [30, 7];
    const a = gaussian(m, l, 7);
    const { q, r } = householderQr(a, m, l);
    for (let c = 0; c < l; c++)
      for (let d = 0; d < l; d++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i * l + c]! * q[i * l + d]!;
        expectClose(dot, c === d ? 1 : 0, 0, 1e-13, `QᵀQ[${c},${d}]`);
        if (d < c) expect(r[c * l + d]).toBe(0);
      }
    for (let i = 0; i < m; i++)
      for (let c = 0; c < l; c++) {
        let v = 0;
        for (let t = 0; t < l; t++) v += q[i * l + t]! * r[t * l + c]!;
        expectClose(v, a[i * l + c]!, 0, 1e-13, `QR[${i},${c}]`);
      }
  });

  it('one-sided Jacobi gives singular values known by construction (to the rounding of building the matrix)', () => {
    const sigma = [5, 3, 1, 1e-3, 1e-7];
    const got = singularValues(known(8, 5, sigma), 8, 5);
    // Building M rounds it by ~1e-16·‖M‖: that, not Jacobi, bounds the agreement of the small values.
    for (const [i, s] of sigma.entries()) expectClose(got[i], s, 1e-12, 1e-14 * sigma[0]!, `sigma_${i + 1}`);
  });

  it('Gram route (gram-spectrum.ts): every singular value of a wide and a tall matrix known by construction, ascending', async () => {
    const sigma = [5, 3, 2, 1, 0.5];
    for (const [m, n] of [
      [5, 9],
      [9, 5],
    ]) {
      const got = await gramSingularValues(operator(known(m, n, sigma), m, n));
      // σ² is what the Gram holds: small values carry an absolute error of about ε·σ₁²/σ.
      expect(got).toHaveLength(5);
      for (const [i, s] of [...sigma].reverse().entries()) expectClose(got![i], s, 1e-12, 1e-12, `${m}x${n} sigma ${s}`);
    }
  });

  it('GramSpectra: a tensor asked for twice in a run is computed once, per model and name', async () => {
    const gram = new GramSpectra();
    let built = 0;
    const op = () => {
      built++;
      return operator(known(6, 4, [4, 3, 2, 1]), 6, 4);
    };
    const [ma, mb] = [{ path: 'a' }, { path: 'b' }] as unknown as ModelDescription[];
    const first = await gram.of(ma!, 'w', op);
    expect(await gram.of(ma!, 'w', op)).toBe(first);
    expect(built).toBe(1);
    await gram.of(mb!, 'w', op);
    await gram.of(ma!, 'v', op);
    expect(built).toBe(3);
  });

  it('randomized block Krylov: exact rank-4 values from a sketch narrower than the matrix; exact path when the basis covers it', async () => {
    const sigma = [4, 3, 2, 1];
    const [m, n] = [60, 45];
    const op = operator(known(m, n, sigma), m, n);
    const r = await randomizedSingularValues(op, { rank: 6, oversample: 2, powerIterations: 1, seed: 1 });
    expect(r.exact).toBe(false);
    expect(r.sketch).toBe(16);
    expect(r.products).toBe(4);
    for (const [i, s] of sigma.entries()) expectClose(r.values[i], s, 1e-12, 0, `sigma_${i + 1}`);
    for (const v of r.values.slice(4)) expect(v).toBeLessThan(1e-12);
    const full = await randomizedSingularValues(op, { rank: 45, oversample: 8, powerIterations: 2, seed: 1 });
    expect([full.exact, full.sketch, full.values.length]).toEqual([true, 45, 45]);
    for (const [i, s] of sigma.entries()) expectClose(full.values[i], s, 1e-12, 0, `exact sigma_${i + 1}`);
  });

  it('basis width and working set: k + 8 vectors times 3 blocks, or the smaller side when that is narrower', () => {
    const o = { rank: 32, oversample: 8, powerIterations: 2, seed: 1 };
    expect(basisOf(4096, 4096, o)).toEqual({ block: 40, width: 120, exact: false });
    expect(basisOf(96, 64, o)).toEqual({ block: 64, width: 64, exact: true });
    // 4096×4096 at k = 32: 120 columns of 5·4096 + 2·4096 f64 ≈ 27.5 MB; an LM head [152064, 4096] would need ~740 MB.
    expect(workingSetBytes(4096, 4096, o)).toBe(8 * 120 * 7 * 4096);
    expect(workingSetBytes(152064, 4096, o)).toBeGreaterThan(256 * 2 ** 20);
  });
});

describe('--low-rank-delta', () => {
  it('merged rank-4 LoRA: effective rank 4 on exactly the chosen layers, singular values as torch.linalg.svdvals', async () => {
    const { analyses } = await analyzeFiles([fx('base.safetensors'), fx('lora.safetensors')], ['lowRankDelta']);
    const d = only(analyses, 'LowRankDelta');
    expect([d.matrices, d.changed, d.low_rank, d.max_effective_rank, d.verdict]).toEqual([6, 3, 3, 4, 'low_rank']);
    expect([...d.low_rank_layers].sort()).toEqual([...REF.lora_layers].sort());
    for (const l of d.layers) {
      const ref = REF.lora[l.name];
      expect(l.effective_rank, l.name).toBe(ref.effective_rank);
      if (!REF.lora_layers.includes(l.name)) {
        expect([l.status, l.frobenius_norm, l.singular_values]).toEqual(['unchanged', 0, []]);
        continue;
      }
      expect([l.status, l.low_rank, l.exact, l.singular_values.length]).toEqual(['decomposed', true, true, 32]);
      expectClose(l.frobenius_norm, Math.sqrt(ref.frobenius_sq), 1e-12, 0, `${l.name} norm`);
      expectSpectrum(l.singular_values, ref.singular_values, 1e-9, l.name);
      expectClose(l.energy[3], 1, 1e-9, 0, `${l.name} energy@4`);
      expect(l.energy[2]).toBeLessThan(0.99);
      expectClose(l.entropy_effective_rank, ref.entropy_effective_rank_top32, 1e-6, 0, `${l.name} entropy rank`);
    }
    expect(byName(d.layers).get('conv.weight')).toMatchObject({ reshaped: true, matrix: [16, 72] });
  });

  it('--rank-k 8 takes the randomized path (basis narrower than the matrix) and still finds the rank-4 values', async () => {
    const { analyses } = await analyzeFiles([fx('base.safetensors'), fx('lora.safetensors')], ['lowRankDelta'], { rankK: 8 });
    const d = only(analyses, 'LowRankDelta');
    for (const name of REF.lora_layers) {
      const l = byName(d.layers).get(name);
      expect([l.exact, l.singular_values.length, l.effective_rank], name).toEqual([false, 8, 4]);
      expectSpectrum(l.singular_values.slice(0, 4), REF.lora[name].singular_values, 1e-9, name);
      // The rest is the f32 rounding of B = A + UVᵀ: torch's values there are ~3e-8.
      for (const v of l.singular_values.slice(4)) expect(v).toBeLessThan(1e-6);
    }
  });

  it('dense fine-tune: every matrix changed, high effective ranks as torch computes them', async () => {
    const { analyses } = await analyzeFiles([fx('base.safetensors'), fx('dense.safetensors')], ['lowRankDelta'], { rankK: 128 });
    const d = only(analyses, 'LowRankDelta');
    expect([d.changed, d.low_rank, d.verdict]).toEqual([6, 0, 'dense']);
    for (const l of d.layers) {
      const ref = REF.dense[l.name];
      // Whole spectra here (rank-k above the smaller side): the ranks are those of all singular values.
      expect([l.exact, l.singular_values.length], l.name).toEqual([true, Math.min(...ref.matrix)]);
      expect(l.effective_rank, l.name).toBe(ref.effective_rank);
      expect(l.effective_rank).toBeGreaterThan(Math.min(...ref.matrix) / 4);
      expectClose(l.entropy_effective_rank, ref.entropy_effective_rank, 1e-9, 0, `${l.name} entropy rank`);
      expectSpectrum(l.singular_values, ref.singular_values, 1e-9, l.name);
    }
    const defaultK = only((await analyzeFiles([fx('base.safetensors'), fx('dense.safetensors')], ['lowRankDelta'])).analyses, 'LowRankDelta');
    // With the default 32 values, ranks above 32 are reported as unknown (null), never as 32.
    expect(byName(defaultK.layers).get('layers.0.mlp.fc1.weight').effective_rank).toBeNull();
    expect(defaultK.max_effective_rank).toBeNull();
  });

  it('results do not depend on the chunk size (rows split across chunks)', async () => {
    const files = [fx('base.safetensors'), fx('lora.safetensors')];
    const a = only((await analyzeFiles(files, ['lowRankDelta'], { rankK: 8 })).analyses, 'LowRankDelta');
    const b = only((await analyzeFiles(files, ['lowRankDelta'], { rankK: 8, chunkElements: 1000 })).analyses, 'LowRankDelta');
    expect(b.layers.map((l: Data) => l.singular_values)).toEqual(a.layers.map((l: Data) => l.singular_values));
  });

  it('--shape-only reads no values: not applicable, saying why', async () => {
    const { analyses } = await analyzeFiles([fx('base.safetensors'), fx('lora.safetensors')], ['lowRankDelta', 'spectral'], { shapeOnly: true });
    for (const key of ['LowRankDelta', 'SpectralAnalysis'])
      expect(only(analyses, key)).toEqual({ applicable: false, reason: 'no tensor data read (--shape-only)' });
  });

  it('entropy effective rank (Roy & Vetterli): n equal values give n, one value gives 1', () => {
    expectClose(entropyRank([2, 2, 2, 2]), 4, 1e-15, 0, 'four equal');
    expectClose(entropyRank([3, 0, 0]), 1, 1e-15, 0, 'one');
    expect(entropyRank([0, 0])).toBeNull();
  });
});

describe('--spectral-analysis', () => {
  it('with --param-efficiency-analysis in the same run: the shared matrices are streamed once, results unchanged', async () => {
    const files = [fx('base.safetensors'), fx('dense.safetensors')];
    const streams = async (names: Array<'spectral' | 'paramEfficiency'>) => {
      const mv = vi.spyOn(Executor.prototype, 'matvec');
      const mvt = vi.spyOn(Executor.prototype, 'matvecT');
      try {
        const { analyses } = await analyzeFiles(files, names);
        return { calls: mv.mock.calls.length + mvt.mock.calls.length, analyses };
      } finally {
        mv.mockRestore();
        mvt.mockRestore();
      }
    };
    const spectral = await streams(['spectral']);
    const efficiency = await streams(['paramEfficiency']);
    const both = await streams(['spectral', 'paramEfficiency']);
    expect(only(both.analyses, 'SpectralAnalysis')).toEqual(only(spectral.analyses, 'SpectralAnalysis'));
    expect(only(both.analyses, 'ParamEfficiencyAnalysis')).toEqual(only(efficiency.analyses, 'ParamEfficiencyAnalysis'));
    // Every layer spectral analyses here (both sides) is one param-efficiency also takes every singular value of.
    const layers = only(spectral.analyses, 'SpectralAnalysis').layers.length;
    expect(layers).toBeGreaterThan(0);
    expect(both.calls).toBeLessThan(spectral.calls + efficiency.calls);
    expect(both.calls).toBe(efficiency.calls);
  });

  it('power-law fit (CSN 2009) equals the independent numpy implementation on torch eigenvalues', () => {
    for (const [model, layers] of Object.entries(REF.spectra as Record<string, Record<string, Data>>)) {
      for (const [name, ref] of Object.entries(layers)) {
        const sv: number[] = ref.exact ? ref.singular_values : ref.singular_values.slice(0, 64);
        const lambdas = sv.map((s) => s * s).filter((x) => x > sv[0]! ** 2 * 1e-10);
        const fit = powerLawFit(lambdas)!;
        expectClose(fit.alpha, ref.fit.alpha, 1e-10, 0, `${model} ${name} alpha`);
        expect([fit.xmin, fit.n_tail], `${model} ${name}`).toEqual([ref.fit.xmin, ref.fit.n_tail]);
        expectClose(fit.ks_distance, ref.fit.ks_distance, 1e-10, 0, `${model} ${name} ks`);
      }
    }
  });

  it('A vs B: exact spectra of the layers with both sides ≥ 50, alpha and its change as the reference', async () => {
    const { analyses } = await analyzeFiles([fx('base.safetensors'), fx('dense.safetensors')], ['spectral']);
    const d = only(analyses, 'SpectralAnalysis');
    const expected = Object.keys(REF.spectra.base).sort();
    // embed [40, 64] and conv [16, 72] are below the minimum side of 50.
    expect(d.layers.map((l: Data) => l.name)).toEqual(expected);
    for (const l of d.layers) {
      for (const [side, model] of [
        ['a', 'base'],
        ['b', 'dense'],
      ] as const) {
        const ref = REF.spectra[model][l.name];
        const s = l[side];
        expect(s.spectrum, l.name).toBe('exact');
        expectClose(s.alpha, ref.fit.alpha, 1e-9, 0, `${l.name} ${side} alpha`);
        expectClose(s.xmin, ref.fit.xmin, 1e-9, 0, `${l.name} ${side} xmin`);
        expect(s.n_tail).toBe(ref.fit.n_tail);
        expectClose(s.lambda_max, ref.singular_values[0] ** 2, 1e-9, 0, `${l.name} ${side} lambda_max`);
        const fro = ref.singular_values.reduce((t: number, v: number) => t + v * v, 0);
        expectClose(s.stable_rank, fro / ref.singular_values[0] ** 2, 1e-9, 0, `${l.name} ${side} stable rank`);
        expect(s.esd.counts.reduce((t: number, c: number) => t + c, 0)).toBe(ref.singular_values.length);
      }
      expectClose(l.delta_alpha, REF.spectra.dense[l.name].fit.alpha - REF.spectra.base[l.name].fit.alpha, 1e-9, 1e-12, `${l.name} delta`);
    }
  });

  it('a matrix above the exact bound: top-64 tail by randomized SVD, eigenvalues and alpha close to torch', async () => {
    const { analyses } = await analyzeFiles([fx('tail.safetensors'), fx('tail.safetensors')], ['spectral']);
    const [l] = only(analyses, 'SpectralAnalysis').layers;
    const ref = REF.spectra.tail['tail.weight'];
    expect(l.a.spectrum).toBe('top-64');
    expect(l.b).toEqual(l.a);
    // Stated tolerance of the tail path on this fixture (a flat Pareto tail, the hard case): 1 % per eigenvalue, 1 % on alpha.
    for (const [i, v] of l.a.top_eigenvalues.entries()) expectClose(v, ref.singular_values[i] ** 2, 1e-2, 0, `lambda_${i + 1}`);
    expectClose(l.a.alpha, ref.fit_top64.alpha, 1e-2, 0, 'alpha');
  });
});

describe('command line', () => {
  it('summary lines in the documents shape, JSON keys, not applicable without matrices, --rank-k checked', () => {
    requireBuild();
    const r = runCli([fx('base.safetensors'), fx('lora.safetensors'), '--low-rank-delta', '--spectral-analysis']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('low_rank_delta: matrices=6, changed=3, low_rank=3, max_effective_rank=4, verdict=low_rank\n');
    expect(r.stdout).toMatch(/^spectral_analysis: layers=4, alpha=\d+\.\d{4}->\d+\.\d{4}, outside_2_6=\d->\d, largest_change=/m);
    const j = runCli([fx('vectors.safetensors'), fx('vectors.safetensors'), '--low-rank-delta', '--spectral-analysis', '-o', 'json']);
    const out = JSON.parse(j.stdout);
    expect(out.find((o: Data) => o.LowRankDelta).LowRankDelta).toMatchObject({ applicable: false });
    expect(out.find((o: Data) => o.SpectralAnalysis).SpectralAnalysis).toMatchObject({ applicable: false });
    for (const bad of ['0', '2.5']) {
      const e = runCli([fx('base.safetensors'), fx('lora.safetensors'), '--low-rank-delta', '--rank-k', bad]);
      expect(e.status, bad).toBe(2);
      expect(e.stderr).toMatch(/^diffai: --rank-k must be a whole number from 1 to 256, got /);
    }
  });
});
