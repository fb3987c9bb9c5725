/**
 * The command line end to end, in child processes (`node bin/diffai.js`, which runs dist/:
 * `npm run build` must have run). Expected text is built from the generator's reference
 * numbers (fixtures/core/reference_stats.json), never from our own output.
 */
import { writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COLOR, PLAIN, choosePalette } from '../src/render/color.js';
import { expectClose } from './helpers/assert.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { f32Bytes } from './helpers/dtypes.js';
import { REFERENCE, core, safetensorsBytes, tempDir, type RefTensor } from './helpers/files.js';
import { naturally } from './helpers/names.js';

// Each test starts node processes; on a busy 2-core machine one can take seconds.
vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);
const tmp = tempDir('diffai-cli-');
afterAll(() => tmp.cleanup());

const BASE = 'digits_mlp.safetensors';
const TUNED = 'digits_mlp_finetuned.safetensors';
const base = core(BASE);
const tuned = core(TUNED);
const refBase = REFERENCE.files[BASE]!.tensors;
const refTuned = REFERENCE.files[TUNED]!.tensors;
const pairTuned = REFERENCE.pairs[`${BASE}|${TUNED}`]!;
const NAMES = Object.keys(refBase).sort();

const f4 = (x: number | null) => (x === null ? 'none' : x.toFixed(4));
/** `label=a->b` with 4 decimals, or with the first number of decimals that tells them apart; equal values once (the README's rule). */
const moved = (label: string, a: number | null, b: number | null) => {
  if (a === b) return `${label}=${f4(a)}`;
  if (a === null || b === null || f4(a) !== f4(b)) return `${label}=${f4(a)}->${f4(b)}`;
  let d = 5;
  while (a.toFixed(d) === b.toFixed(d) && d < 20) d++;
  return `${label}=${a.toFixed(d)}->${b.toFixed(d)}`;
};
const valueLine = (name: string, a: RefTensor, b: RefTensor, stats = false) =>
  `  ~ ${name}: ${[moved('mean', a.mean, b.mean), moved('std', a.std, b.std), ...(stats ? [moved('min', a.min, b.min), moved('max', a.max, b.max)] : [])].join(', ')}`;
const EPOCH = '  ~ __metadata__.epoch: "5" -> "8"';
const lines = (...ls: string[]) => ls.map((l) => `${l}\n`).join('');

const STATS_KEYS = ['dtype', 'l2_norm', 'max', 'mean', 'min', 'nan_count', 'neginf_count', 'posinf_count', 'shape', 'std', 'total_params', 'zero_count'];
const COMPARISON_KEYS = ['changed_elements', 'cosine_similarity', 'max_abs_diff', 'mean_abs_diff', 'rel_l2_change'];

function expectStatsObject(got: Record<string, unknown>, ref: RefTensor, label: string): void {
  expect(Object.keys(got).sort(), `${label}: stats keys`).toEqual(STATS_KEYS);
  expect([got.dtype, got.shape, got.total_params, got.nan_count, got.posinf_count, got.neginf_count, got.zero_count], label).toEqual([
    ref.dtype,
    ref.shape,
    ref.total_params,
    ref.nan_count,
    ref.posinf_count,
    ref.neginf_count,
    ref.zero_count,
  ]);
  const scale = ref.min === null ? 0 : Math.max(Math.abs(ref.min), Math.abs(ref.max!));
  expectClose(got.mean as number | null, ref.mean, 1e-6, 1e-9 * scale, `${label}: mean`);
  expectClose(got.std as number | null, ref.std, 1e-6, 0, `${label}: std`);
  expectClose(got.l2_norm as number | null, ref.l2_norm, 1e-6, 0, `${label}: l2_norm`);
  expect([got.min, got.max], `${label}: min/max`).toEqual([ref.min, ref.max]);
}

describe.concurrent('diff: text output', () => {
  it('digits_mlp vs finetuned: exact lines from the reference numbers, exit 0 (the comparison ran)', async () => {
    const r = await cli([base, tuned]);
    expect(r.stdout).toBe(lines(EPOCH, ...NAMES.map((n) => valueLine(n, refBase[n]!, refTuned[n]!))));
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('--exit-code: 1 when the models differ, 0 when not; the same output either way', async () => {
    const [differ, plain, same] = await Promise.all([cli([base, tuned, '--exit-code']), cli([base, tuned]), cli([base, base, '--exit-code'])]);
    expect([differ.status, differ.stdout, differ.stderr]).toEqual([1, plain.stdout, '']);
    expect([same.status, same.stdout]).toEqual([0, 'No differences found.\n']);
  });

  it('--stats appends min and max', async () => {
    const r = await cli([base, tuned, '--stats']);
    expect(r.stdout).toBe(lines(EPOCH, ...NAMES.map((n) => valueLine(n, refBase[n]!, refTuned[n]!, true))));
    expect(r.status).toBe(0);
  });

  it('a file against itself: "No differences found.", exit 0 (also with NaN/Inf and every dtype)', async () => {
    const files = [BASE, 'adversarial.safetensors', 'dtypes.safetensors'];
    const runs = await Promise.all(files.map((f) => cli([core(f), core(f)])));
    runs.forEach((r, i) => {
      expect([r.status, r.stdout, r.stderr], files[i]).toEqual([0, 'No differences found.\n', '']);
    });
  });

  it('--quiet prints nothing; it implies --exit-code, so the exit code tells', async () => {
    const [differ, same] = await Promise.all([cli([base, tuned, '-q']), cli([base, base, '--quiet'])]);
    expect([differ.status, differ.stdout, differ.stderr]).toEqual([1, '', '']);
    expect([same.status, same.stdout, same.stderr]).toEqual([0, '', '']);
  });

  it('--brief prints "Files A and B differ" only when they do; it implies --exit-code', async () => {
    const [differ, same] = await Promise.all([cli([base, tuned, '--brief']), cli([base, base, '--brief'])]);
    expect([differ.status, differ.stdout]).toEqual([1, `Files ${base} and ${tuned} differ\n`]);
    expect([same.status, same.stdout]).toEqual([0, '']);
  });

  it('--epsilon: above every max |a−b| only the metadata differs; in between, only tensors moving more', async () => {
    const maxima = Object.values(pairTuned)
      .map((p) => p.max_abs_diff)
      .sort((x, y) => x - y);
    const big = maxima[maxima.length - 1]! * 1.5;
    const mid = (maxima[2]! + maxima[3]!) / 2;
    const [above, between] = await Promise.all([cli([base, tuned, '--epsilon', String(big)]), cli([base, tuned, '--epsilon', String(mid)])]);
    expect([above.status, above.stdout]).toEqual([0, lines(EPOCH)]);
    const moving = NAMES.filter((n) => pairTuned[n]!.max_abs_diff > mid);
    expect(moving.length).toBe(3);
    expect(between.stdout).toBe(lines(EPOCH, ...moving.map((n) => valueLine(n, refBase[n]!, refTuned[n]!))));
  });

  it('--path and --ignore-keys-regex', async () => {
    const [path, ignore] = await Promise.all([cli([base, tuned, '--path', 'fc1']), cli([base, tuned, '--ignore-keys-regex', '^fc[12]\\.|metadata'])]);
    expect(path.stdout).toBe(lines(...['fc1.bias', 'fc1.weight'].map((n) => valueLine(n, refBase[n]!, refTuned[n]!))));
    expect(ignore.stdout).toBe(lines(...['fc3.bias', 'fc3.weight'].map((n) => valueLine(n, refBase[n]!, refTuned[n]!))));
    expect([path.status, ignore.status, path.stderr, ignore.stderr]).toEqual([0, 0, '', '']);
  });

  it('--sort-by-change-magnitude orders by the reference rel_l2_change, largest first', async () => {
    const r = await cli([base, tuned, '--sort-by-change-magnitude']);
    const order = [...NAMES].sort((x, y) => pairTuned[y]!.rel_l2_change! - pairTuned[x]!.rel_l2_change!);
    expect(order).not.toEqual(NAMES);
    expect(r.stdout).toBe(lines(...order.map((n) => valueLine(n, refBase[n]!, refTuned[n]!)), EPOCH));
  });

  it('--shape-only: + lines for added tensors, - lines for removed ones, shape lines for reshaped ones', async () => {
    const added = REFERENCE.files['digits_mlp_layer_added.safetensors']!.tensors;
    const reshaped = REFERENCE.files['digits_mlp_reshaped.safetensors']!.tensors;
    const dims = (s: number[]) => `[${s.join(', ')}]`;
    const [a, rm, rs, aValues] = await Promise.all([
      cli([base, core('digits_mlp_layer_added.safetensors'), '--shape-only']),
      cli([base, core('digits_mlp_layer_removed.safetensors'), '--shape-only']),
      cli([base, core('digits_mlp_reshaped.safetensors'), '--shape-only']),
      cli([base, core('digits_mlp_layer_added.safetensors')]),
    ]);
    const plus = ['fc_extra.bias', 'fc_extra.weight'].map((n) => `  + ${n}: shape=${dims(added[n]!.shape)}, dtype=f32, params=${added[n]!.total_params}`);
    expect([a.status, a.stdout]).toEqual([0, lines(...plus)]);
    // Without --shape-only: the same (the common tensors are identical).
    expect([aValues.status, aValues.stdout]).toEqual([0, lines(...plus)]);
    expect([rm.status, rm.stdout]).toEqual([
      0,
      lines(...['fc2.bias', 'fc2.weight'].map((n) => `  - ${n}: shape=${dims(refBase[n]!.shape)}, dtype=f32, params=${refBase[n]!.total_params}`)),
    ]);
    expect([rs.status, rs.stdout]).toEqual([
      0,
      lines(...['fc2.bias', 'fc2.weight', 'fc3.weight'].map((n) => `  ~ ${n}: shape=${dims(refBase[n]!.shape)} -> ${dims(reshaped[n]!.shape)}`)),
    ]);
  });

  it('f16 and bf16 copies: a dtype line, then the values line (rounding moved the statistics)', async () => {
    const copies = [
      ['digits_mlp_f16.safetensors', 'f16'],
      ['digits_mlp_bf16.safetensors', 'bf16'],
    ] as const;
    const runs = await Promise.all(copies.map(([file]) => cli([base, core(file)])));
    for (const [i, [file, dtype]] of copies.entries()) {
      const copy = REFERENCE.files[file]!.tensors;
      const r = runs[i]!;
      expect(r.stdout, file).toBe(lines(...NAMES.flatMap((n) => [`  ~ ${n}: dtype=f32 -> ${dtype}`, valueLine(n, refBase[n]!, copy[n]!)])));
      expect(r.status).toBe(0);
    }
  });

  it('-v/--verbose: the same stdout, details on stderr', async () => {
    const r = await cli([base, tuned, '-v']);
    expect(r.stdout).toBe(lines(EPOCH, ...NAMES.map((n) => valueLine(n, refBase[n]!, refTuned[n]!))));
    expect(r.stderr).toMatch(/^diffai: .*\d+ differences in [\d.]+ ms$/m);
    expect(
      r.stderr
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('diffai: ')),
    ).toBe(true);
  });
});

describe.concurrent('diff: JSON and YAML', () => {
  it('-o json: an array of one-key objects with stats and comparison objects matching the reference', async () => {
    const r = await cli([base, tuned, '-o', 'json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown[]>>;
    expect(Array.isArray(out)).toBe(true);
    for (const entry of out) expect(Object.keys(entry).length).toBe(1);
    expect(out.map((e) => Object.keys(e)[0])).toEqual(['Modified', ...NAMES.map(() => 'TensorStatsChanged')]);
    expect(out[0]).toEqual({ Modified: ['__metadata__.epoch', '5', '8'] });
    for (const entry of out.slice(1)) {
      const [name, a, b, c] = entry.TensorStatsChanged as [string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
      expectStatsObject(a, refBase[name]!, `${name} A`);
      expectStatsObject(b, refTuned[name]!, `${name} B`);
      const ref = pairTuned[name]!;
      expect(Object.keys(c).sort()).toEqual(COMPARISON_KEYS);
      expect(c.changed_elements).toBe(ref.changed_elements);
      expectClose(c.max_abs_diff as number, ref.max_abs_diff, 1e-15, 0, `${name} max_abs_diff`);
      expectClose(c.mean_abs_diff as number, ref.mean_abs_diff, 1e-6, 0, `${name} mean_abs_diff`);
      expectClose(c.rel_l2_change as number, ref.rel_l2_change, 1e-6, 0, `${name} rel_l2_change`);
      expectClose(c.cosine_similarity as number, ref.cosine_similarity, 0, 1e-9, `${name} cosine_similarity`);
    }
  });

  it('-o yaml parses (js-yaml) to the same value as -o json', async () => {
    const others = [TUNED, 'digits_mlp_f16.safetensors'];
    const runs = await Promise.all(others.map((other) => Promise.all([cli([base, core(other), '-o', 'json']), cli([base, core(other), '-o', 'yaml'])])));
    for (const [i, other] of others.entries()) {
      const [j, y] = runs[i]!;
      expect([j.status, y.status]).toEqual([0, 0]);
      expect(yaml.load(y.stdout), other).toEqual(JSON.parse(j.stdout));
    }
  });

  it('shape, dtype, added and removed entries have the documented shapes', async () => {
    const [reshaped, f16, added, removed, same] = await Promise.all([
      cli([base, core('digits_mlp_reshaped.safetensors'), '-o', 'json']),
      cli([base, core('digits_mlp_f16.safetensors'), '-o', 'json', '--shape-only']),
      cli([base, core('digits_mlp_layer_added.safetensors'), '-o', 'json']),
      cli([base, core('digits_mlp_layer_removed.safetensors'), '-o', 'json']),
      cli([base, base, '-o', 'json']),
    ]);
    const shapes = REFERENCE.files['digits_mlp_reshaped.safetensors']!.tensors;
    expect(JSON.parse(reshaped.stdout)).toEqual(
      ['fc2.bias', 'fc2.weight', 'fc3.weight'].map((n) => ({ TensorShapeChanged: [n, refBase[n]!.shape, shapes[n]!.shape] })),
    );
    expect(JSON.parse(f16.stdout)).toEqual(NAMES.map((n) => ({ TensorDtypeChanged: [n, 'f32', 'f16'] })));
    const addedRef = REFERENCE.files['digits_mlp_layer_added.safetensors']!.tensors;
    const addedOut = JSON.parse(added.stdout) as Array<{ TensorAdded: [string, Record<string, unknown>] }>;
    expect(addedOut.map((e) => e.TensorAdded[0])).toEqual(['fc_extra.bias', 'fc_extra.weight']);
    for (const [name, stats] of addedOut.map((e) => e.TensorAdded)) expectStatsObject(stats, addedRef[name]!, `added ${name}`);
    const removedOut = JSON.parse(removed.stdout) as Array<{ TensorRemoved: [string, Record<string, unknown>] }>;
    expect(removedOut.map((e) => e.TensorRemoved[0])).toEqual(['fc2.bias', 'fc2.weight']);
    for (const [name, stats] of removedOut.map((e) => e.TensorRemoved)) expectStatsObject(stats, refBase[name]!, `removed ${name}`);
    expect([same.status, JSON.parse(same.stdout)]).toEqual([0, []]);
  });

  it('null, never NaN, for statistics that do not exist (all-NaN tensors, no finite pairs)', async () => {
    const a = tmp.path('nan-a.safetensors');
    const b = tmp.path('nan-b.safetensors');
    writeFileSync(a, safetensorsBytes([{ name: 'x', dtype: 'f32', shape: [3], bytes: f32Bytes([NaN, NaN, NaN]) }]));
    writeFileSync(
      b,
      safetensorsBytes([
        { name: 'x', dtype: 'f32', shape: [3], bytes: f32Bytes([NaN, 1, Infinity]) },
        { name: 'y', dtype: 'f32', shape: [2], bytes: f32Bytes([NaN, -Infinity]) },
      ]),
    );
    const [j, y, t] = await Promise.all([cli([a, b, '-o', 'json']), cli([a, b, '-o', 'yaml']), cli([a, b])]);
    expect(j.stdout).not.toMatch(/NaN|Infinity/);
    const out = JSON.parse(j.stdout);
    expect(out).toEqual([
      {
        TensorStatsChanged: [
          'x',
          {
            mean: null,
            std: null,
            min: null,
            max: null,
            shape: [3],
            dtype: 'f32',
            total_params: 3,
            nan_count: 3,
            posinf_count: 0,
            neginf_count: 0,
            zero_count: 0,
            l2_norm: 0,
          },
          {
            mean: 1,
            std: 0,
            min: 1,
            max: 1,
            shape: [3],
            dtype: 'f32',
            total_params: 3,
            nan_count: 1,
            posinf_count: 1,
            neginf_count: 0,
            zero_count: 0,
            l2_norm: 1,
          },
          // Two positions changed (NaN→1, NaN→Inf); no position is finite on both sides.
          { max_abs_diff: null, mean_abs_diff: null, rel_l2_change: null, cosine_similarity: null, changed_elements: 2 },
        ],
      },
      {
        TensorAdded: [
          'y',
          {
            mean: null,
            std: null,
            min: null,
            max: null,
            shape: [2],
            dtype: 'f32',
            total_params: 2,
            nan_count: 1,
            posinf_count: 0,
            neginf_count: 1,
            zero_count: 0,
            l2_norm: 0,
          },
        ],
      },
    ]);
    expect(yaml.load(y.stdout)).toEqual(out);
    expect(y.stdout).not.toMatch(/\.nan|\.inf/i);
    expect(t.stdout).toBe(lines('  ~ x: mean=none->1.0000, std=none->0.0000, nan=3->1, +inf=0->1', '  + y: shape=[2], dtype=f32, params=2'));
  });
});

describe.concurrent('colours', () => {
  const Y = (s: string) => `\x1b[33m${s}\x1b[0m`;
  const coloured = lines(Y(EPOCH), ...NAMES.map((n) => Y(valueLine(n, refBase[n]!, refTuned[n]!))));
  const plain = lines(EPOCH, ...NAMES.map((n) => valueLine(n, refBase[n]!, refTuned[n]!)));

  for (const [label, args, env, expected] of [
    // The rest of the precedence table is checked on choosePalette below.
    ['none when stdout is not a terminal', [], {}, plain],
    ['FORCE_COLOR=1 turns them on', [], { FORCE_COLOR: '1' }, coloured],
    ['NO_COLOR=1 wins over FORCE_COLOR=1', [], { NO_COLOR: '1', FORCE_COLOR: '1' }, plain],
    ['--color turns them on, even with NO_COLOR=1', ['--color'], { NO_COLOR: '1' }, coloured],
    ['--no-color wins over FORCE_COLOR=1', ['--no-color'], { FORCE_COLOR: '1' }, plain],
  ] as const) {
    it(label, async () => {
      const r = await cli([base, tuned, ...args], env);
      expect(r.stdout).toBe(expected);
      expect(r.status).toBe(0);
    });
  }

  it('added lines green, removed lines red; JSON never coloured', async () => {
    const [added, removed, json] = await Promise.all([
      cli([base, core('digits_mlp_layer_added.safetensors'), '--color']),
      cli([base, core('digits_mlp_layer_removed.safetensors'), '--color']),
      cli([base, tuned, '-o', 'json'], { FORCE_COLOR: '1' }),
    ]);
    expect(added.stdout.split('\n')[0]).toBe('\x1b[32m  + fc_extra.bias: shape=[16], dtype=f32, params=16\x1b[0m');
    expect(removed.stdout.split('\n')[0]).toBe('\x1b[31m  - fc2.bias: shape=[16], dtype=f32, params=16\x1b[0m');
    expect(json.stdout).not.toContain('\x1b');
    expect(() => JSON.parse(json.stdout)).not.toThrow();
  });

  it('choosePalette precedence: flag > NO_COLOR (non-empty) > FORCE_COLOR > terminal', () => {
    const table: Array<[boolean | undefined, boolean, NodeJS.ProcessEnv, typeof COLOR]> = [
      [undefined, true, {}, COLOR],
      [undefined, false, {}, PLAIN],
      [false, true, {}, PLAIN],
      [true, false, { NO_COLOR: '1' }, COLOR],
      [undefined, true, { NO_COLOR: '1' }, PLAIN],
      [undefined, true, { NO_COLOR: '' }, COLOR],
      [undefined, false, { FORCE_COLOR: '1' }, COLOR],
      [undefined, false, { FORCE_COLOR: '' }, COLOR],
      [undefined, true, { FORCE_COLOR: '0' }, PLAIN],
      [undefined, true, { FORCE_COLOR: 'false' }, PLAIN],
      [undefined, false, { NO_COLOR: 'x', FORCE_COLOR: '1' }, PLAIN],
    ];
    for (const [flag, tty, env, expected] of table) {
      expect(choosePalette(flag, tty, env), JSON.stringify({ flag, tty, env })).toBe(expected);
    }
  });
});

describe.concurrent('inspect', () => {
  it('text: a header line, one line per tensor from the reference numbers, then metadata', async () => {
    const r = await cli(['inspect', base]);
    const params = NAMES.reduce((s, n) => s + refBase[n]!.total_params, 0);
    expect(params).toBe(2778);
    const tensorLine = (n: string) => {
      const t = refBase[n]!;
      const extra = [t.zero_count ? `zeros=${t.zero_count}` : '', t.nan_count ? `nan=${t.nan_count}` : ''].filter(Boolean);
      return [
        `  ${n}: dtype=${t.dtype}, shape=[${t.shape.join(', ')}], params=${t.total_params}`,
        `mean=${f4(t.mean)}`,
        `std=${f4(t.std)}`,
        `min=${f4(t.min)}`,
        `max=${f4(t.max)}`,
        `l2=${f4(t.l2_norm)}`,
        ...extra,
      ].join(', ');
    };
    const meta = Object.entries(REFERENCE.files[BASE]!.metadata!).map(([k, v]) => `  __metadata__.${k}: ${JSON.stringify(v)}`);
    expect(r.stdout).toBe(lines(`${base}: safetensors, 6 tensors, ${params} parameters`, ...NAMES.map(tensorLine), 'metadata:', ...meta));
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('-o json: {file, format, tensors, metadata} matching the reference; -o yaml the same value', async () => {
    const files = [BASE, 'dtypes.safetensors', 'adversarial.safetensors'];
    const runs = await Promise.all(files.map((file) => Promise.all([cli(['inspect', core(file), '-o', 'json']), cli(['inspect', core(file), '-o', 'yaml'])])));
    for (const [i, file] of files.entries()) {
      const [j, y] = runs[i]!;
      expect([j.status, y.status]).toEqual([0, 0]);
      expect(j.stdout).not.toMatch(/NaN|Infinity/);
      const out = JSON.parse(j.stdout) as { file: string; format: string; tensors: Array<Record<string, unknown>>; metadata: Record<string, string> };
      expect(Object.keys(out)).toEqual(['file', 'format', 'tensors', 'metadata']);
      expect([out.file, out.format]).toEqual([core(file), 'safetensors']);
      const ref = REFERENCE.files[file]!;
      // natural order (i8 before i16)
      expect(out.tensors.map((t) => t.name)).toEqual(Object.keys(ref.tensors).sort(naturally));
      for (const t of out.tensors) {
        const { name, role, ...stats } = t;
        // the model view's role: these files hold only float weights and integer/bool data tensors
        expect(role, `${file} ${String(name)}`).toBe(
          ['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'c64'].includes(stats.dtype as string) ? 'parameter' : 'buffer',
        );
        // JSON cannot hold integers above 2^53 exactly; u64/i64 extremes are compared as doubles.
        const r = ref.tensors[name as string]!;
        expectStatsObject(stats, r, `${file} ${String(name)}`);
      }
      expect(out.metadata).toEqual(Object.fromEntries(Object.entries(ref.metadata ?? {}).map(([k, v]) => [`__metadata__.${k}`, v])));
      expect(yaml.load(y.stdout), file).toEqual(out);
    }
  });

  it('an invalid file exits 2 with one line; a missing argument too', async () => {
    const bad = tmp.path('bad.safetensors');
    writeFileSync(bad, new Uint8Array([1, 2, 3]));
    const [invalid, missing, none] = await Promise.all([cli(['inspect', bad]), cli(['inspect', tmp.path('nope.safetensors')]), cli(['inspect'])]);
    expectTrouble(invalid, `${bad}: `);
    expectTrouble(missing, `${tmp.path('nope.safetensors')}: `, /no such file/);
    expectTrouble(none, '');
  });
});

describe.concurrent('bad arguments: exit 2, one line on stderr, nothing on stdout', () => {
  for (const [label, args, problem] of [
    ['one file', [base], /not enough|argument/i],
    ['no arguments', [], /not enough|argument/i],
    ['unknown option', [base, tuned, '--bogus'], /^unknown option --bogus; see diffai --help$/],
    ['negative epsilon', [base, tuned, '--epsilon', '-1'], /^--epsilon must be a non-negative number, got "-1"$/],
    ['non-numeric epsilon', [base, tuned, '--epsilon', 'abc'], /^--epsilon must be a non-negative number, got "abc"$/],
    ['unknown output format', [base, tuned, '-o', 'xml'], /xml|choices|invalid/i],
    ['invalid regular expression', [base, tuned, '--ignore-keys-regex', '(['], /ignore-keys-regex/],
  ] as const) {
    it(label, async () => {
      expectTrouble(await cli([...args]), '', problem);
    });
  }

  it('--help exits 0 and documents both commands', async () => {
    const r = await cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/inspect/);
    expect(r.stdout).toMatch(/--epsilon/);
  });
});
