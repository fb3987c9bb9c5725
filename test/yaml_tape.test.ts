/**
 * The byte writer of streamed YAML (src/render/yaml-tape.ts on the text module's tape)
 * against the text writer it must equal byte for byte, yaml-emit's items (`- ` and
 * itemText, with its js-yaml fallback), and against js-yaml's dump of the contract itself:
 * generated entries with adversarial names and keys, doubles of random bits, -0, NaN and
 * ±Infinity (null, as the contract has them), numbers written with exponents, values the
 * byte writer leaves to yaml-emit (class instances, dates, long keys, deep nesting), more
 * distinct keys than the tape's text table holds, and names larger than its byte tape.
 */
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { finiteOnly } from '../src/render/contract.js';
import { JsonTape } from '../src/render/json-tape.js';
import { YamlTape } from '../src/render/yaml-tape.js';
import { itemText } from '../src/render/yaml-text.js';
import { Rng } from './helpers/dtypes.js';
import { NUMBERS, PIECES, randomEntry, randomValue, WORDS } from './helpers/yaml-values.js';

/** The items through a fresh tape, flushed every `every` items (pieces copied: they are borrowed). */
function tapeBytes(items: unknown[], every = items.length): Buffer {
  const tape = new JsonTape();
  const writer = new YamlTape(tape);
  const pieces: Uint8Array[] = [];
  items.forEach((item, i) => {
    writer.item(item);
    if ((i + 1) % every === 0) for (const piece of tape.flush()) pieces.push(piece.slice());
  });
  for (const piece of tape.flush()) pieces.push(piece.slice());
  return Buffer.concat(pieces);
}

/** yaml-emit's text of the same items, as yamlWindowChunks wrote it before. */
const textPath = (items: unknown[]) => Buffer.from(items.map((item) => `- ${itemText(item, 1)}\n`).join(''), 'utf8');

/** js-yaml's dump of the contract's JSON view (non-finite numbers as null, -0 as 0). */
const reference = (items: unknown[]) => Buffer.from(yaml.dump(finiteOnly(items), { noRefs: true, lineWidth: -1 }), 'utf8');

function randomDouble(rng: Rng, view: DataView): number {
  view.setUint32(0, rng.int(2 ** 32));
  view.setUint32(4, rng.int(2 ** 32));
  return view.getFloat64(0);
}

describe('streamed YAML bytes equal the YAML text writer and js-yaml', () => {
  it('on 3,000 generated diff entries and values, flushed at different points', () => {
    const rng = new Rng(23);
    const items: unknown[] = [];
    for (let k = 0; k < 3000; k++) items.push(k % 3 === 0 ? randomValue(rng, 4) : randomEntry(rng));
    const expected = textPath(items);
    expect(tapeBytes(items).equals(expected)).toBe(true);
    expect(tapeBytes(items, 7).equals(expected)).toBe(true);
    expect(tapeBytes(items, 1).equals(expected)).toBe(true);
    expect(expected.equals(reference(items))).toBe(true);
  });

  it('on doubles of random bits, special numbers and exponent forms, as stats members and list items', () => {
    const rng = new Rng(29);
    const view = new DataView(new ArrayBuffer(8));
    const numbers = [...NUMBERS, 1e-6 * (1 - Number.EPSILON), 1e-6, -1e-6, 1e-6 * (1 + Number.EPSILON), 1e20, 1e21, 123456789012, -2147483648, 2147483648];
    for (let k = 0; k < 20000; k++) numbers.push(randomDouble(rng, view));
    // Around 1e-6, where Number#toString turns to exponents (js-yaml then writes `5.e-7`).
    for (let k = 0; k < 2000; k++) numbers.push((rng.next() * 2 - 1) * 10 ** (-4 - rng.int(6)));
    const items: unknown[] = [];
    for (let i = 0; i < numbers.length; i += 4) {
      const [a, b, c, d] = numbers.slice(i, i + 4);
      items.push({ TensorStatsChanged: ['w', { mean: a, std: b, shape: [2, 3] }, { mean: c, std: d }, { max_abs_diff: a, cosine: d }] });
      items.push(a, [b, c, [d]]);
    }
    const bytes = tapeBytes(items, 100);
    expect(bytes.equals(textPath(items))).toBe(true);
    expect(bytes.equals(reference(items))).toBe(true);
    // The contract's mapping, spelled out: NaN and ±Infinity as null, -0 as 0, 5e-7 with a dot.
    expect(tapeBytes([[Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 5e-7, -1.5e-7, 1e21]]).toString()).toBe(
      '- - null\n  - null\n  - null\n  - 0\n  - 5.e-7\n  - -1.5e-7\n  - 1e+21\n',
    );
  });

  it('on names and keys that need quotes, escapes or block scalars', () => {
    const names = [...WORDS, ...PIECES, ...PIECES.map((p) => `layer.${p}.weight`), ...PIECES.map((p) => `${p}x`), ...PIECES.map((p) => `x${p}`)];
    const items = names.flatMap((name) => [
      { TensorAdded: [name, { dtype: name, shape: [1] }] },
      { Modified: [name, { [name]: name }, { [`k${name}`]: [name] }], original_names: { a: name, b: `${name}/b` } },
    ]);
    const bytes = tapeBytes(items, 13);
    expect(bytes.equals(textPath(items))).toBe(true);
    expect(bytes.equals(reference(items))).toBe(true);
  });

  it('leaves unusual items to yaml-emit (and its js-yaml fallback), item by item, with the same bytes', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? [deep] : { level: deep };
    const items: unknown[] = [
      { TensorAdded: ['p', new Point(1, 2)] },
      { Added: ['when', new Date(0)] },
      { Added: ['bytes', new Uint8Array([1, 2])] },
      { Added: ['json', { toJSON: () => 'x', v: 1 }] },
      { Added: ['long key', { ['k'.repeat(100)]: 1, ['q'.repeat(1030)]: [1, 2] }] },
      { Added: ['deep', deep] },
      { Added: ['no prototype', Object.assign(Object.create(null), { a: 1, 'b c': [true, null] })] },
      { Added: ['empty', {}, [], { gone: undefined }, [undefined]] },
      undefined,
      null,
      'plain',
    ];
    const expected = textPath(items);
    expect(tapeBytes(items).equals(expected)).toBe(true);
    expect(tapeBytes(items, 1).equals(expected)).toBe(true);
  });

  it('past the tape’s text table (thousands of distinct keys), number tape (items of 40,000 numbers) and byte tape (a name of 600,000 characters)', () => {
    const rng = new Rng(31);
    const many = (n: number) => Array.from({ length: n }, (_, i) => i / 3);
    const items: unknown[] = [
      // Items found unusual at their end, after they filled half the tape, or more than all of it (taken back, then written by yaml-emit).
      { Added: ['half', many(20000), new Date(0)] },
      { Added: ['more than the tape', many(40000), new Date(0)] },
      { Added: ['more than the tape, plain', many(40000), { done: true }] },
    ];
    for (let k = 0; k < 6000; k++) items.push({ [`key ${k}: x`]: { [`m${k}`]: k / 7, n: 'é' } });
    items.push({ TensorAdded: ['é'.repeat(300000) + 'x'.repeat(300000), { mean: 0.1 }] });
    for (let k = 0; k < 3000; k++) items.push(randomEntry(rng));
    items.push(...items.slice(0, 3)); // again, on a tape partly filled by earlier items
    const bytes = tapeBytes(items, 1000);
    expect(bytes.equals(textPath(items))).toBe(true);
    expect(bytes.equals(reference(items))).toBe(true);
  });
});
