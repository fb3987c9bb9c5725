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

const OPTIONS = { noRefs: true, lineWidth: -1 };
const tmp = tempDir('diffai-yaml-');
afterAll(() => tmp.cleanup());

/** What the renderers must print for a value: js-yaml's dump of the contract's JSON view. */
const reference = (value: unknown) => yaml.dump(finiteOnly(value), OPTIONS);

/** Pieces strings are made of: indicators, quotes, whitespace, controls, non-BMP, lone surrogates, YAML's special characters. */
const PIECES = [
  ...'abcXYZ019_./-:#?,[]{}&*!|>\'"%@`~=<+ \t\n\r\\',
  '\u0000',
  '\u0007',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  '\u00a0',
  '\u00a1',
  'é',
  '中文',
  '\u2028',
  '\u2029',
  '\ud7ff',
  '\ue000',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '😀',
  '\u{10ffff}',
  '\ud800',
  '\udc00',
  '\udbff',
  ': ',
  ' #',
  '- ',
  '\n\n',
  ' \n',
];

/** Whole strings that YAML would read as something else, or that js-yaml quotes for YAML 1.1. */
const WORDS = [
  '',
  'yes',
  'No',
  'ON',
  'off',
  'y',
  'N',
  'true',
  'False',
  'NULL',
  'null',
  'Null',
  '~',
  '<<',
  '0',
  '-0',
  '+0',
  '00',
  '007',
  '12',
  '-12',
  '+12',
  '1_000',
  '0x1F',
  '0xg',
  '-0x1f',
  '0b101',
  '0b',
  '0b2',
  '0o17',
  '0o8',
  '1.5',
  '.5',
  '1.',
  '-.5',
  '1e5',
  '1E-5',
  '1e',
  '+1.5e+3',
  '.inf',
  '-.Inf',
  '+.INF',
  '.nan',
  '.NaN',
  'NaN',
  'Infinity',
  '9'.repeat(400),
  `0x${'f'.repeat(300)}`,
  '1:30',
  '-1:30:00.5',
  '1_0:2_0',
  '2024-01-31',
  '2024-1-31',
  '2024-01-31T10:20:30Z',
  '2024-01-31 10:20:30.123 +01:00',
  '2024-01-31t1:20:30',
  '-',
  '?',
  ':',
  '#',
  '- a',
  '? a',
  'a:',
  'a: b',
  'a:b',
  'a #b',
  'a#b',
  ' a',
  'a ',
  '\ta',
  'a\n',
  '\n',
  '\n\n',
  'a\n\n',
  '\na',
  ' \na',
  '\n a',
  'a\nb\n',
  'a\r\nb',
  "it's",
  '"q"',
  'l0.b0',
  'model.layers.0.self_attn.q_proj.weight',
  '__proto__',
  'constructor',
  'toString',
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  -0.5,
  1e21,
  -1e21,
  1e-7,
  5e-7,
  -5e-7,
  1.5e-7,
  123e-20,
  5e-324,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53 + 2,
  2 ** 70,
  1e300,
  0.30000000000000004,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

function randomString(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.35) return WORDS[rng.int(WORDS.length)]!;
  if (roll < 0.4) return 'x'.repeat(900 + rng.int(300)) + (rng.next() < 0.5 ? ':' : "'"); // around the 1,024-character key limit
  if (roll < 0.42) return `${'word '.repeat(3000)}end\n${' indented'.repeat(10)}`; // far past any line width
  let s = rng.next() < 0.3 ? WORDS[rng.int(WORDS.length)]! : '';
  const n = rng.int(8);
  for (let i = 0; i < n; i++) s += PIECES[rng.int(PIECES.length)]!;
  return s;
}

function randomNumber(rng: Rng): number {
  const roll = rng.next();
  if (roll < 0.4) return NUMBERS[rng.int(NUMBERS.length)]!;
  if (roll < 0.6) return rng.int(2000) - 1000;
  if (roll < 0.8) return rng.normal() * 10 ** (rng.int(40) - 20);
  // Any double: random bits.
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, rng.int(2 ** 32));
  view.setUint32(4, rng.int(2 ** 32));
  return view.getFloat64(0);
}

/** A JSON-like value: scalars, lists and mappings (some without prototype, some with absent members), nested up to `depth`. */
function randomValue(rng: Rng, depth: number): unknown {
  const roll = rng.next();
  if (depth <= 0 || roll < 0.45) {
    const kind = rng.int(6);
    if (kind === 0) return null;
    if (kind === 1) return rng.next() < 0.5;
    if (kind === 2) return randomNumber(rng);
    if (kind === 3 && depth > 0) return undefined; // left out of mappings, null in lists
    return randomString(rng);
  }
  if (roll < 0.7) return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth - 1));
  const object: Record<string, unknown> = rng.next() < 0.2 ? Object.create(null) : {};
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    const key = rng.next() < 0.5 ? randomString(rng) : ['mean', 'std', '0', '10', '2', '__proto__'][rng.int(6)]!;
    // An own member even when named __proto__ (as JSON.parse makes it).
    Object.defineProperty(object, key, { value: randomValue(rng, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** A diff-entry-like value: `{Kind: [name, {stats…}, {stats…}, {comparison…}]}` with adversarial names and numbers. */
function randomEntry(rng: Rng): unknown {
  const stats = () => ({
    mean: randomNumber(rng),
    std: randomNumber(rng),
    shape: Array.from({ length: rng.int(4) }, () => rng.int(100)),
    dtype: rng.next() < 0.9 ? 'f32' : randomString(rng),
    total_params: rng.int(1e6),
    nan_count: rng.next() < 0.1 ? null : rng.int(5),
    l2_norm: randomNumber(rng),
  });
  const kind = ['TensorStatsChanged', 'TensorAdded', 'Modified'][rng.int(3)]!;
  const entry: Record<string, unknown> = {
    [kind]: [randomString(rng), stats(), stats(), { max_abs_diff: randomNumber(rng), cosine_similarity: randomNumber(rng) }],
  };
  if (rng.next() < 0.2) entry.original_names = { a: randomString(rng), b: randomString(rng) };
  return entry;
}

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
