/**
 * JsonTape (src/render/json-tape.ts) against JSON.stringify(value, null, 2), the reference
 * it must equal byte for byte: escapes, surrogates, members left out, key order, values it
 * leaves to JSON.stringify, and values larger than its tapes (runs made in the middle of a
 * value, strings that become pieces of their own). Then the writer of streamed pieces with
 * borrowed bytes (src/render/stream-writer.ts).
 */
import { describe, expect, it } from 'vitest';
import { JsonTape } from '../src/render/json-tape.js';
import { type OutputPiece, StreamWriter } from '../src/render/stream-writer.js';

/** The tape's text of `value` at `indent`, or undefined when it records nothing. */
function tapeJson(value: unknown, indent = 0, tape = new JsonTape()): string | undefined {
  if (!tape.value(value, indent)) return undefined;
  return Buffer.concat(tape.flush().map((p) => Buffer.from(p))).toString('utf8');
}

const reference = (value: unknown) => JSON.stringify(value, null, 2);

describe('JsonTape writes what JSON.stringify(value, null, 2) writes', () => {
  it('for strings that need escapes, surrogates (paired and lone) and other scripts', () => {
    const strings = [
      '',
      'plain.name',
      'quote " backslash \\ slash /',
      '\u0000\u0001\u0008\t\n\u000b\f\r\u001b[31m\u001f\u007f',
      'é ü ñ 漢字 \u2028 \u2029 \uFEFF',
      '\u{1F600} astral \u{10FFFF}',
      'lone high \uD800 end',
      'lone low \uDC00 and pair \uD83D\uDE00 and reversed \uDE00\uD83D',
      '\uD800',
    ];
    for (const s of strings) {
      expect(tapeJson(s)).toBe(reference(s));
      expect(tapeJson({ [s]: s })).toBe(reference({ [s]: s }));
    }
  });

  it('for objects and arrays: members left out, nulls in arrays, empty ones, key order, odd keys', () => {
    const sym = Symbol('s');
    const noProto = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: [] });
    const values: unknown[] = [
      { a: undefined, b: () => 1, c: sym, d: 1 },
      { a: undefined },
      [undefined, () => 1, sym, null, 1],
      [],
      {},
      [[], {}, [[]], { x: {} }],
      { 2: 'two', 1: 'one', b: 'b', a: 'a', 10: 'ten' },
      JSON.parse('{"__proto__": [1, 2], "constructor": {"x": 1}}'),
      noProto,
      { nested: { deeper: { deepest: [1, 2.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e-7, 1e21] } } },
      [true, false, null, 'x', 0.1],
      'a string alone',
      42,
      null,
    ];
    for (const v of values) expect(tapeJson(v)).toBe(reference(v));
    for (const indent of [2, 6]) expect(tapeJson(values[9], indent)).toBe(reference(values[9]).replaceAll('\n', `\n${' '.repeat(indent)}`));
    expect(tapeJson(undefined)).toBeUndefined();
    expect(tapeJson(() => 1)).toBeUndefined();
  });

  it('for objects of one shape written many times, and shapes that differ only later', () => {
    const rows = Array.from({ length: 3000 }, (_, i) =>
      i % 7 === 0 ? { mean: i / 7, std: null, extra: 'x' } : i % 5 === 0 ? { mean: i, other: [i] } : { mean: i / 3, std: -i / 9, shape: [i % 4, 2] },
    );
    expect(tapeJson(rows)).toBe(reference(rows));
  });

  it('leaves toJSON, class instances, boxed primitives and deep nesting to JSON.stringify; throws on bigints', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    let deep: unknown = { end: true };
    for (let i = 0; i < 100; i++) deep = { level: i, inner: deep };
    const values: unknown[] = [
      { when: new Date(0), point: new Point(1, 2), map: new Map([[1, 2]]) },
      { toJSON: () => ({ replaced: [1, 2] }) },
      [new Number(3), new String('s'), new Boolean(false)],
      deep,
    ];
    for (const v of values) expect(tapeJson(v, 2)).toBe(reference(v).replaceAll('\n', '\n  '));
    expect(() => tapeJson({ big: 1n })).toThrow(TypeError);
  });

  it('ignores nothing Object.prototype gains: an enumerable member there makes it follow JSON.stringify', () => {
    const value = { a: 1, b: { c: [2] } };
    (Object.prototype as Record<string, unknown>).inherited = 'x';
    try {
      expect(tapeJson(value)).toBe(reference(value));
    } finally {
      delete (Object.prototype as Record<string, unknown>).inherited;
    }
  });

  it('for values larger than its tapes: a long array of numbers, a 3 MB string, many distinct keys', () => {
    const numbers = Array.from({ length: 300_000 }, (_, i) => (i % 3 === 0 ? i : Math.sin(i) * 10 ** ((i % 40) - 20)));
    const long = `start ${'é\u0001x'.repeat(1_000_000)} end`;
    const manyKeys = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key.${i}.${'k'.repeat(i % 50)}`, i % 2 ? `v${i}` : i]));
    const value = { numbers, long, manyKeys, after: [1, 2, 3] };
    const tape = new JsonTape();
    expect(tapeJson(value, 0, tape)).toBe(reference(value));
    // The same tape again (its texts and shapes kept from the first value).
    expect(tapeJson([value.after, value.manyKeys], 0, tape)).toBe(reference([value.after, value.manyKeys]));
  });

  it('remembers no more constant texts than its table holds, however many distinct keys it writes', () => {
    const tape = new JsonTape();
    const capacity = 200_000; // well past the table's texts (the keys also outgrow its arena)
    const value = Object.fromEntries(Array.from({ length: capacity }, (_, i) => [`k${i}`, i]));
    expect(tapeJson(value, 0, tape)).toBe(reference(value));
    const remembered = (tape as unknown as { constants: Map<string, unknown> }).constants.size;
    const registered = (tape as unknown as { textCount: number }).textCount;
    expect(remembered).toBeLessThanOrEqual(registered);
    expect(remembered).toBeLessThan(capacity / 2);
  });
});

describe('StreamWriter with byte pieces', () => {
  it('copies the small pieces it gathers (their buffer is reused) and hands large ones on as they are', async () => {
    const received: OutputPiece[] = [];
    const pieces: OutputPiece[] = [];
    const sink = async (piece: OutputPiece) => {
      pieces.push(piece);
      received.push(typeof piece === 'string' ? piece : Buffer.from(piece));
    };
    const out = new StreamWriter(sink, 16);
    const reused = Buffer.alloc(8);
    for (const word of ['abc', 'defg', 'hij']) {
      const n = reused.write(word);
      await out.write(reused.subarray(0, n));
      reused.fill(0x2a); // the producer reuses its buffer once the write resolved
    }
    await out.write(' text ');
    const large = Buffer.from('L'.repeat(40));
    await out.write(large);
    await out.end();
    expect(Buffer.concat(received.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString()).toBe(`abcdefghij text ${'L'.repeat(40)}`);
    // Gathered text and bytes became one write; the large piece was written on its own.
    expect(received.length).toBe(2);
    expect(pieces[1]).toBe(large);
  });
});
