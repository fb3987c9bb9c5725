/**
 * The engine and differ on the committed fixtures, checked against
 * fixtures/core/reference_stats.json (exact rational statistics written by the generator)
 * and, for pairs the generator does not record, against exact comparisons of the decoded
 * files computed here. Tolerances: see test/helpers/assert.ts.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { comparison } from '../src/diff/stats.js';
import type { DiffResult, TensorStats } from '../src/diff/types.js';
import { describeModel } from '../src/formats/registry.js';
import { diffFiles, inspectFile } from '../src/library.js';
import { REL, expectClose, expectComparison, expectStats } from './helpers/assert.js';
import { makeRunner } from './helpers/engine.js';
import { exactCompare, exactStats, type RefStats } from './helpers/exact.js';
import { CORE, REFERENCE, core, readSafetensorsValues, type RefPair, type RefTensor } from './helpers/files.js';
import { naturally } from './helpers/names.js';

const FIXTURES = readdirSync(CORE)
  .filter((f) => f.endsWith('.safetensors'))
  .sort();

/** A reference_stats.json tensor entry in the shape expectStats takes. */
function refStats(t: RefTensor): RefStats {
  const count = t.total_params - t.nan_count - t.posinf_count - t.neginf_count;
  return {
    count,
    mean: t.mean,
    std: t.std,
    min: t.min,
    max: t.max,
    nan: t.nan_count,
    posinf: t.posinf_count,
    neginf: t.neginf_count,
    zeros: t.zero_count,
    l2: t.l2_norm,
    maxAbs: t.min === null ? 0 : Math.max(Math.abs(t.min), Math.abs(t.max!)),
  };
}

function expectTensorStats(got: TensorStats, ref: RefTensor, label: string): void {
  expect({ dtype: got.dtype, shape: got.shape, total_params: got.total_params }, `${label}: dtype/shape/params`).toEqual({
    dtype: ref.dtype,
    shape: ref.shape,
    total_params: ref.total_params,
  });
  expectStats(got, refStats(ref), label);
}

function expectPairComparison(got: DiffResult | undefined, ref: RefPair, label: string): void {
  expect(got?.kind, `${label}: TensorStatsChanged expected`).toBe('TensorStatsChanged');
  if (got?.kind !== 'TensorStatsChanged') return;
  expect(got.comparison.changed_elements, `${label}: changed_elements`).toBe(ref.changed_elements);
  expectClose(got.comparison.max_abs_diff, ref.max_abs_diff, 1e-15, 0, `${label}: max_abs_diff`);
  expectClose(got.comparison.mean_abs_diff, ref.mean_abs_diff, REL, 0, `${label}: mean_abs_diff`);
  expectClose(got.comparison.rel_l2_change, ref.rel_l2_change, REL, 0, `${label}: rel_l2_change`);
  expectClose(got.comparison.cosine_similarity, ref.cosine_similarity, 0, 1e-9, `${label}: cosine_similarity`);
}

const kindsOf = (results: DiffResult[]) => results.map((r) => `${r.kind} ${r.name}`);

describe('test references agree with the generator (sanity of test/helpers)', () => {
  it('exact stats of the independently decoded fixtures match reference_stats.json', () => {
    for (const file of FIXTURES) {
      const ref = REFERENCE.files[file]!;
      const decoded = readSafetensorsValues(core(file));
      expect([...decoded.keys()].sort(), file).toEqual(Object.keys(ref.tensors).sort());
      for (const [name, t] of decoded) {
        const mine = exactStats(t.values);
        const r = refStats(ref.tensors[name]!);
        expect([mine.nan, mine.posinf, mine.neginf, mine.zeros], `${file} ${name}`).toEqual([r.nan, r.posinf, r.neginf, r.zeros]);
        for (const key of ['mean', 'std', 'l2', 'min', 'max'] as const) {
          expectClose(mine[key], r[key], 1e-14, 0, `${file} ${name} ${key}`);
        }
      }
    }
  });
});

describe('inspectFile on every fixture matches reference_stats.json', () => {
  it('lists the fixtures the reference describes', () => {
    expect(FIXTURES).toEqual(Object.keys(REFERENCE.files).sort());
    expect(FIXTURES.length).toBeGreaterThanOrEqual(11);
  });

  for (const file of FIXTURES) {
    it(file, async () => {
      const ref = REFERENCE.files[file]!;
      for (const chunkElements of [undefined, 7]) {
        const report = await inspectFile(core(file), chunkElements ? { chunkElements } : {});
        expect(report.format).toBe('safetensors');
        expect(report.file).toBe(core(file));
        // Tensors in natural name order, all of them.
        expect(report.tensors.map((t) => t.name)).toEqual(Object.keys(ref.tensors).sort(naturally));
        for (const t of report.tensors) expectTensorStats(t, ref.tensors[t.name]!, `${file} ${t.name} chunk=${chunkElements}`);
        const metadata = Object.fromEntries(Object.entries(ref.metadata ?? {}).map(([k, v]) => [`__metadata__.${k}`, v]));
        expect(report.metadata).toEqual(metadata);
      }
    });
  }

  it('nulls, not NaN, where a tensor has no finite element or no element', async () => {
    const report = await inspectFile(core('adversarial.safetensors'));
    for (const name of ['f32_all_nan_inf', 'f32_empty', 'f32_empty_3x0']) {
      const t = report.tensors.find((x) => x.name === name)!;
      expect([t.mean, t.std, t.min, t.max, t.l2_norm], name).toEqual([null, null, null, null, 0]);
    }
    const empty = report.tensors.find((x) => x.name === 'f32_empty_3x0')!;
    expect([empty.shape, empty.total_params]).toEqual([[3, 0], 0]);
    const scalar = report.tensors.find((x) => x.name === 'f64_scalar')!;
    expect([scalar.shape, scalar.total_params, scalar.mean, scalar.std]).toEqual([[], 1, 123456.789, 0]);
  });

  it('--path and --ignore-keys-regex filter tensors and metadata; shapeOnly reads no data', async () => {
    const only = await inspectFile(core('digits_mlp.safetensors'), { path: 'fc2' });
    expect(only.tensors.map((t) => t.name)).toEqual(['fc2.bias', 'fc2.weight']);
    expect(only.metadata).toEqual({});
    const ignored = await inspectFile(core('digits_mlp.safetensors'), { ignoreKeysRegex: /weight|epoch/ });
    expect(ignored.tensors.map((t) => t.name)).toEqual(['fc1.bias', 'fc2.bias', 'fc3.bias']);
    expect(Object.keys(ignored.metadata).sort()).toEqual(['__metadata__.dataset', '__metadata__.format']);
    const shapes = await inspectFile(core('digits_mlp.safetensors'), { shapeOnly: true });
    const fc1 = shapes.tensors.find((t) => t.name === 'fc1.weight')!;
    expect([fc1.shape, fc1.total_params, fc1.mean, fc1.nan_count]).toEqual([[32, 64], 2048, null, null]);
  });
});

describe('diffFiles on the recorded pairs matches reference_stats.json', () => {
  for (const [pair, tensors] of Object.entries(REFERENCE.pairs)) {
    const [fa, fb] = pair.split('|') as [string, string];
    it(pair, async () => {
      const refA = REFERENCE.files[fa]!,
        refB = REFERENCE.files[fb]!;
      const report = await diffFiles(core(fa), core(fb));
      const byName = (kind: string, name: string) => report.results.find((r) => r.kind === kind && r.name === name);
      for (const [name, ref] of Object.entries(tensors)) {
        const r = byName('TensorStatsChanged', name);
        if (ref.changed_elements === 0) {
          expect(r, `${pair} ${name}: unchanged, must not be reported`).toBeUndefined();
          continue;
        }
        expectPairComparison(r, ref, `${pair} ${name}`);
        if (r?.kind === 'TensorStatsChanged') {
          expectTensorStats(r.a, refA.tensors[name]!, `${pair} ${name} A`);
          expectTensorStats(r.b, refB.tensors[name]!, `${pair} ${name} B`);
        }
      }
      // Tensors only on one side, reshaped ones, and metadata changes.
      for (const name of Object.keys(refA.tensors)) {
        if (!(name in refB.tensors)) {
          const r = byName('TensorRemoved', name);
          expect(r?.kind, `${pair}: ${name} removed`).toBe('TensorRemoved');
          if (r?.kind === 'TensorRemoved') expectTensorStats(r.stats, refA.tensors[name]!, `${pair} removed ${name}`);
        } else if (JSON.stringify(refA.tensors[name]!.shape) !== JSON.stringify(refB.tensors[name]!.shape)) {
          expect(byName('TensorShapeChanged', name)).toEqual({ kind: 'TensorShapeChanged', name, a: refA.tensors[name]!.shape, b: refB.tensors[name]!.shape });
          expect(byName('TensorStatsChanged', name)).toBeUndefined();
        }
      }
      for (const name of Object.keys(refB.tensors)) {
        if (!(name in refA.tensors)) {
          const r = byName('TensorAdded', name);
          expect(r?.kind, `${pair}: ${name} added`).toBe('TensorAdded');
          if (r?.kind === 'TensorAdded') expectTensorStats(r.stats, refB.tensors[name]!, `${pair} added ${name}`);
        }
      }
      const metaA = refA.metadata ?? {},
        metaB = refB.metadata ?? {};
      for (const key of new Set([...Object.keys(metaA), ...Object.keys(metaB)])) {
        const r = report.results.find((x) => x.name === `__metadata__.${key}`);
        if (metaA[key] === metaB[key]) expect(r, `${pair} metadata ${key}`).toBeUndefined();
        else expect(r).toEqual({ kind: 'Modified', name: `__metadata__.${key}`, a: metaA[key], b: metaB[key] });
      }
      // Nothing else is reported.
      const expected =
        Object.values(tensors).filter((t) => t.changed_elements > 0).length +
        Object.keys(refA.tensors).filter((n) => !(n in refB.tensors)).length +
        Object.keys(refB.tensors).filter((n) => !(n in refA.tensors)).length +
        Object.keys(refA.tensors).filter((n) => n in refB.tensors && JSON.stringify(refA.tensors[n]!.shape) !== JSON.stringify(refB.tensors[n]!.shape)).length +
        Object.keys(metaA).filter((k) => metaA[k] !== metaB[k]).length;
      expect(report.results.length, kindsOf(report.results).join('; ')).toBe(expected);
      // In natural name order.
      const names = report.results.map((r) => r.name);
      expect(names).toEqual([...names].sort(naturally));
    });
  }

  it('engine.compare on every recorded tensor pair, unchanged ones included, every chunk size', async () => {
    for (const chunkElements of [undefined, 1, 3, 1000]) {
      const engine = makeRunner(chunkElements);
      try {
        for (const [pair, tensors] of Object.entries(REFERENCE.pairs)) {
          const [fa, fb] = pair.split('|') as [string, string];
          const a = await describeModel(core(fa));
          const b = await describeModel(core(fb));
          for (const [name, ref] of Object.entries(tensors)) {
            const ta = a.tensors.find((t) => t.name === name)!;
            const tb = b.tensors.find((t) => t.name === name)!;
            const c = comparison((await engine.compare(ta, tb, 0)).comparison);
            const l = `${pair} ${name} chunk=${chunkElements}`;
            expect(c.changed_elements, l).toBe(ref.changed_elements);
            expectClose(c.max_abs_diff, ref.max_abs_diff, 1e-15, 0, `${l}: max_abs_diff`);
            expectClose(c.mean_abs_diff, ref.mean_abs_diff, REL, 0, `${l}: mean_abs_diff`);
            expectClose(c.rel_l2_change, ref.rel_l2_change, REL, 0, `${l}: rel_l2_change`);
            expectClose(c.cosine_similarity, ref.cosine_similarity, 0, 1e-9, `${l}: cosine_similarity`);
          }
        }
      } finally {
        await engine.close();
      }
    }
  });
});

describe('diffFiles: other cases, checked against exact comparisons of the decoded files', () => {
  it('a file against itself has no differences (NaN at the same positions are equal)', async () => {
    for (const file of FIXTURES) {
      const report = await diffFiles(core(file), core(file));
      expect(kindsOf(report.results), file).toEqual([]);
    }
  });

  for (const copy of ['digits_mlp_f16.safetensors', 'digits_mlp_bf16.safetensors']) {
    it(`f32 base against its ${copy.includes('bf16') ? 'bf16' : 'f16'} copy: dtype change plus the rounding as a value change`, async () => {
      const a = readSafetensorsValues(core('digits_mlp.safetensors'));
      const b = readSafetensorsValues(core(copy));
      const report = await diffFiles(core('digits_mlp.safetensors'), core(copy));
      for (const [name, ta] of a) {
        const tb = b.get(name)!;
        const dtypeChange = report.results.find((r) => r.name === name && r.kind === 'TensorDtypeChanged');
        expect(dtypeChange).toEqual({ kind: 'TensorDtypeChanged', name, a: 'f32', b: tb.dtype });
        const ref = exactCompare(ta.values, tb.values);
        expect(ref.changed, `${copy} ${name}: rounding changes some elements`).toBeGreaterThan(0);
        const r = report.results.find((x) => x.name === name && x.kind === 'TensorStatsChanged');
        expect(r?.kind, name).toBe('TensorStatsChanged');
        if (r?.kind !== 'TensorStatsChanged') continue;
        expectComparison(r.comparison, ref, `${copy} ${name}`);
        expectTensorStats(r.b, REFERENCE.files[copy]!.tensors[name]!, `${copy} ${name} B`);
        // Text order: the dtype line comes before the values line of the same tensor.
        expect(report.results.indexOf(dtypeChange!)).toBeLessThan(report.results.indexOf(r));
      }
      expect(report.results.filter((r) => r.kind === 'Modified' || r.kind === 'Added' || r.kind === 'Removed')).toEqual([]);
    });
  }

  it('epsilon: a tensor is reported only when some |a−b| > epsilon, with changed_elements counted against epsilon', async () => {
    const pair = REFERENCE.pairs['digits_mlp.safetensors|digits_mlp_finetuned.safetensors']!;
    const a = readSafetensorsValues(core('digits_mlp.safetensors'));
    const b = readSafetensorsValues(core('digits_mlp_finetuned.safetensors'));
    const maxima = Object.values(pair)
      .map((t) => t.max_abs_diff)
      .sort((x, y) => x - y);
    // Thresholds between and around the reference maxima.
    const thresholds = [0, 1e-4, (maxima[0]! + maxima[1]!) / 2, (maxima[2]! + maxima[3]!) / 2, maxima[5]!, maxima[5]! * 1.01, 1];
    for (const epsilon of thresholds) {
      const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), { epsilon });
      const reported = report.results.filter((r) => r.kind === 'TensorStatsChanged').map((r) => r.name);
      const expected = Object.entries(pair)
        .filter(([, t]) => t.max_abs_diff > epsilon)
        .map(([n]) => n)
        .sort();
      expect(reported, `epsilon=${epsilon}`).toEqual(expected);
      for (const r of report.results) {
        if (r.kind !== 'TensorStatsChanged') continue;
        const ref = exactCompare(a.get(r.name)!.values, b.get(r.name)!.values, epsilon);
        expectComparison(r.comparison, ref, `epsilon=${epsilon} ${r.name}`);
      }
      // Metadata differs whatever the epsilon.
      expect(report.results.some((r) => r.kind === 'Modified' && r.name === '__metadata__.epoch')).toBe(true);
    }
  });

  it('sortByChangeMagnitude orders value changes by rel_l2_change, largest first, then the rest by name', async () => {
    const pair = REFERENCE.pairs['digits_mlp.safetensors|digits_mlp_finetuned.safetensors']!;
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), { sortByChangeMagnitude: true });
    const expected = Object.entries(pair)
      .sort(([, x], [, y]) => y.rel_l2_change! - x.rel_l2_change!)
      .map(([n]) => `TensorStatsChanged ${n}`);
    expect(kindsOf(report.results)).toEqual([...expected, 'Modified __metadata__.epoch']);
  });

  it('shapeOnly reads headers only: added/removed/reshaped/dtype changes, no value changes', async () => {
    const added = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_layer_added.safetensors'), { shapeOnly: true });
    expect(kindsOf(added.results)).toEqual(['TensorAdded fc_extra.bias', 'TensorAdded fc_extra.weight']);
    const stats = (added.results[0] as Extract<DiffResult, { kind: 'TensorAdded' }>).stats;
    expect([stats.shape, stats.dtype, stats.total_params, stats.mean, stats.nan_count]).toEqual([[16], 'f32', 16, null, null]);
    const finetuned = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), { shapeOnly: true });
    expect(kindsOf(finetuned.results)).toEqual(['Modified __metadata__.epoch']);
    const f16 = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_f16.safetensors'), { shapeOnly: true });
    expect(f16.results.every((r) => r.kind === 'TensorDtypeChanged')).toBe(true);
    expect(f16.results.length).toBe(6);
  });

  it('path and ignoreKeysRegex restrict tensors and metadata alike', async () => {
    const base = core('digits_mlp.safetensors'),
      tuned = core('digits_mlp_finetuned.safetensors');
    expect(kindsOf((await diffFiles(base, tuned, { path: 'fc1' })).results)).toEqual(['TensorStatsChanged fc1.bias', 'TensorStatsChanged fc1.weight']);
    expect(kindsOf((await diffFiles(base, tuned, { path: 'epoch' })).results)).toEqual(['Modified __metadata__.epoch']);
    expect(kindsOf((await diffFiles(base, tuned, { ignoreKeysRegex: /^fc[12]\.|metadata/ })).results)).toEqual([
      'TensorStatsChanged fc3.bias',
      'TensorStatsChanged fc3.weight',
    ]);
  });

  it('dtypes.safetensors against adversarial.safetensors: all tensors removed/added, metadata added', async () => {
    const report = await diffFiles(core('dtypes.safetensors'), core('adversarial.safetensors'));
    const dt = REFERENCE.files['dtypes.safetensors']!,
      adv = REFERENCE.files['adversarial.safetensors']!;
    expect(report.results.filter((r) => r.kind === 'TensorRemoved').map((r) => r.name)).toEqual(Object.keys(dt.tensors).sort(naturally));
    expect(report.results.filter((r) => r.kind === 'TensorAdded').map((r) => r.name)).toEqual(Object.keys(adv.tensors).sort(naturally));
    expect(report.results.filter((r) => r.kind === 'Added')).toEqual([{ kind: 'Added', name: '__metadata__.description', value: adv.metadata!.description }]);
    for (const r of report.results) {
      if (r.kind === 'TensorAdded') expectTensorStats(r.stats, adv.tensors[r.name]!, `added ${r.name}`);
      if (r.kind === 'TensorRemoved') expectTensorStats(r.stats, dt.tensors[r.name]!, `removed ${r.name}`);
    }
  });
});
