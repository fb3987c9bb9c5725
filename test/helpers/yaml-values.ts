/**
 * Adversarial JSON-like values for the YAML writers' tests (yaml_emit, yaml_tape): strings
 * YAML would quote, escape or read as something else, every kind of number (random bit
 * patterns too), nesting, absent members, objects without prototype.
 */
import type { Rng } from './dtypes.js';

/** Pieces strings are made of: indicators, quotes, whitespace, controls, non-BMP, lone surrogates, YAML's special characters. */
export const PIECES = [
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
export const WORDS = [
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

export const NUMBERS = [
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

export function randomString(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.35) return WORDS[rng.int(WORDS.length)]!;
  if (roll < 0.4) return 'x'.repeat(900 + rng.int(300)) + (rng.next() < 0.5 ? ':' : "'"); // around the 1,024-character key limit
  if (roll < 0.42) return `${'word '.repeat(3000)}end\n${' indented'.repeat(10)}`; // far past any line width
  let s = rng.next() < 0.3 ? WORDS[rng.int(WORDS.length)]! : '';
  const n = rng.int(8);
  for (let i = 0; i < n; i++) s += PIECES[rng.int(PIECES.length)]!;
  return s;
}

export function randomNumber(rng: Rng): number {
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
export function randomValue(rng: Rng, depth: number): unknown {
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
export function randomEntry(rng: Rng): unknown {
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
