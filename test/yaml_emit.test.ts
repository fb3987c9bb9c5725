/**
 * The direct YAML writer (src/render/yaml-emit.ts) against js-yaml, the independent
 * reference: thousands of generated values with adversarial keys and strings (quoting
 * indicators, YAML 1.1 words, numbers and dates as strings, control characters, lone
 * surrogates, line breaks, keys past 1,024 characters), every kind of number, nesting and
 * empty collections print byte for byte what `dump` prints, at the top level and as
 * sequence items at any depth; values the writer leaves (dates, typed arrays, class
 * instances) reach js-yaml through the renderers' fallback; and the YAML renderer's output
 * for real reports (diffs, inspections, an adversarial-name pair) equals js-yaml's dump.
 */
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { diffFiles, inspectFile } from '../src/library.js';
import { finiteOnly, reportContract } from '../src/render/contract.js';
import { render } from '../src/render/registry.js';
import { yamlDocument, yamlItem } from '../src/render/yaml-emit.js';
import { documentChunks } from '../src/render/yaml-text.js';
import { Rng, randomBytes } from './helpers/dtypes.js';
import { core, tempDir, writeSafetensors } from './helpers/files.js';
import { NUMBERS, PIECES, randomEntry, randomValue, WORDS } from './helpers/yaml-values.js';

const OPTIONS = { noRefs: true, lineWidth: -1 };
const tmp = tempDir('diffai-yaml-');
afterAll(() => tmp.cleanup());

/** What the renderers must print for a value: js-yaml's dump of the contract's JSON view. */
const reference = (value: unknown) => yaml.dump(finiteOnly(value), OPTIONS);

describe('the direct YAML writer equals js-yaml byte for byte', () => {
  it('on every word and piece alone, as a value, a key and a list item', () => {
    // Keys whose written form (plain, quoted, escaped) is 1,022 to 1,026 characters: past 1,024 a key is an explicit `? ` pair.
    const long = [1020, 1021, 1022, 1023, 1024, 1025, 1026].flatMap((n) => ['k'.repeat(n), `${'k'.repeat(n - 3)}: `, `${'k'.repeat(n - 4)}\u0007`]);
    for (const s of [...WORDS, ...PIECES, ...PIECES.map((p) => `a${p}`), ...PIECES.map((p) => `${p}a`), ...PIECES.map((p) => `a${p}b`), ...long]) {
      for (const value of [s, { [s]: s }, [s], [[s]], { k: [s, { [s]: [s] }] }]) {
        expect(yamlDocument(value), JSON.stringify(value)).toBe(reference(value));
      }
    }
  });

  it('on every special number, the contract way (non-finite as null, -0 as 0) and the raw way (.nan, .inf, -0.0)', () => {
    for (const n of NUMBERS) {
      for (const value of [n, [n], { n }]) {
        expect(yamlDocument(value), String(n)).toBe(reference(value));
        expect(yamlDocument(value, { keepNonFinite: true }), String(n)).toBe(yaml.dump(value, OPTIONS));
      }
    }
    // Doubles of random bits (every exponent, subnormals), 2,000 to a list.
    const rng = new Rng(17);
    const view = new DataView(new ArrayBuffer(8));
    for (let k = 0; k < 10; k++) {
      const list = Array.from({ length: 2000 }, () => {
        view.setUint32(0, rng.int(2 ** 32));
        view.setUint32(4, rng.int(2 ** 32));
        return view.getFloat64(0);
      });
      expect(yamlDocument(list)).toBe(reference(list));
      expect(yamlDocument(list, { keepNonFinite: true })).toBe(yaml.dump(list, OPTIONS));
    }
    expect(yamlDocument([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 5e-7], { keepNonFinite: true })).toBe(
      '- .nan\n- .inf\n- -.inf\n- -0.0\n- 5.e-7\n',
    );
  });

  it('on 4,000 generated documents, and on their items at depths 1 to 4', () => {
    const rng = new Rng(15);
    for (let k = 0; k < 4000; k++) {
      const value = k % 2 === 0 ? randomValue(rng, 4) : [randomEntry(rng), randomEntry(rng)];
      if (value === undefined) continue;
      expect(yamlDocument(value), JSON.stringify(value)).toBe(reference(value));
      expect(yamlDocument(value, { keepNonFinite: true }), JSON.stringify(value)).toBe(yaml.dump(value, OPTIONS));
      // As an item of a list nested `level` deep: js-yaml prints `- - … ` and the item's text.
      const level = 1 + (k % 4);
      let nested: unknown = value;
      for (let l = 0; l < level; l++) nested = [nested];
      expect(`${'- '.repeat(level)}${yamlItem(value, level)}\n`).toBe(reference(nested));
    }
  });

  it('leaves what it does not write to the caller, whose js-yaml fallback prints the same document', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    const odd = [new Date(0), new Uint8Array([1, 2]), new Point(1, 2), new Map([[1, 2]]), { toJSON: () => 'seven' }, Object(5) as unknown];
    for (const value of odd) {
      expect(yamlDocument({ a: value })).toBeUndefined();
      expect(yamlItem(value, 2)).toBeUndefined();
    }
    const document = [1, { name: 'a: b', when: new Date(86_400_000), values: [1, Number.NaN] }, ...odd, 'last'];
    expect([...documentChunks(document)].join('')).toBe(reference(document));
  });
});

describe('the YAML renderer equals js-yaml on real reports', () => {
  it('diffs and inspections of the core fixtures (NaN/Inf statistics, reshaped, added and removed layers, metadata)', async () => {
    const base = core('digits_mlp.safetensors');
    for (const other of [
      'digits_mlp_finetuned',
      'digits_mlp_nan_inf',
      'digits_mlp_reshaped',
      'digits_mlp_layer_added',
      'digits_mlp_layer_removed',
      'digits_mlp_bf16',
    ]) {
      const report = await diffFiles(base, core(`${other}.safetensors`), { threads: 1 });
      expect(report.results.length, other).toBeGreaterThan(0);
      expect(await render(report, 'yaml'), other).toBe(reference(reportContract(report)));
    }
    for (const file of ['digits_mlp_nan_inf', 'adversarial', 'dtypes']) {
      const report = await inspectFile(core(`${file}.safetensors`), { threads: 1 });
      expect(await render(report, 'yaml'), file).toBe(reference(reportContract(report)));
    }
  });

  it('a pair whose tensor names and metadata need quoting, escaping and block scalars', async () => {
    const rng = new Rng(5);
    // (Not __proto__: the test's file writer keeps names as object keys.)
    // More than one piece of streamed inspection (256 tensors a piece).
    const odd = [...WORDS, ...PIECES.map((p) => `w${p}x`), ...PIECES.map((p) => `${p}.${p}`), 'x'.repeat(1100), 'a\nb', 'tab\there', 'esc\u001b[31m'];
    const names = [...new Set([...odd, ...odd.map((n) => `${n}.weight`), ...odd.map((n) => `${n}.bias`)])].filter((n) => n !== '' && n !== '__proto__');
    expect(names.length).toBeGreaterThan(2 * 256);
    const tensors = names.map((name) => ({ name, dtype: 'f32' as const, shape: [3], bytes: randomBytes('f32', 3, rng) }));
    const changed = tensors.map((t, i) => (i % 3 === 0 ? t : { ...t, bytes: randomBytes('f32', 3, rng) }));
    const a = writeSafetensors(tmp.path('odd_a.safetensors'), tensors, { yes: 'no', ': key': '2024-01-01', multi: 'line\none\n' });
    const b = writeSafetensors(tmp.path('odd_b.safetensors'), changed.slice(1), { yes: 'on', ': key': '1e5', multi: ' line\ntwo' });
    const report = await diffFiles(a, b, { threads: 1 });
    expect(report.results.length).toBeGreaterThan(names.length / 2);
    expect(await render(report, 'yaml')).toBe(reference(reportContract(report)));
    const inspected = await inspectFile(a, { threads: 1 });
    expect(await render(inspected, 'yaml')).toBe(reference(reportContract(inspected)));
  });
});
