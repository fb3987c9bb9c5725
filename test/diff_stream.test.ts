/**
 * Streamed diff output (Renderer.chunks, src/cli/output.ts writeChunks): the JSON and text
 * of a diff written piece by piece are the very bytes the whole-string renderers make.
 */
import { describe, expect, it } from 'vitest';
import { diffFiles } from '../src/library.js';
import { jsonChunks, renderJson } from '../src/render/json.js';
import { render, renderChunks } from '../src/render/registry.js';
import { core } from './helpers/files.js';

describe('streamed JSON', () => {
  const values: Array<[string, unknown]> = [
    ['an empty array', []],
    ['an object (one piece)', { a: [1, 2, { b: null }], c: 'x' }],
    ['a number', 3.5],
    [
      'an array of result-like entries with non-finite numbers, nesting, escapes and holes',
      [
        { TensorStatsChanged: ['w\n"x"', { mean: Number.NaN, std: 1e-300, shape: [2, 3] }, { mean: Number.POSITIVE_INFINITY, shape: [] }, { cos: -0 }] },
        { Modified: ['__metadata__.k', 'a\u2028b', ['nested', [1, [2, [3]]]]] },
        undefined,
        [],
        {},
        Number.NEGATIVE_INFINITY,
        'tail',
      ],
    ],
  ];
  for (const [label, value] of values) {
    it(`${label}: the same text as JSON.stringify of the whole value, and JSON.parse gives the same value`, () => {
      const pieces = [...jsonChunks(value)];
      const text = pieces.join('');
      expect(text).toBe(renderJson(value));
      expect(JSON.parse(text)).toEqual(JSON.parse(renderJson(value)));
      // One piece per element and the brackets: never the whole array as one string.
      if (Array.isArray(value) && value.length > 0) expect(pieces.length).toBe(value.length + 2);
    });
  }
});

describe('diff reports in pieces', () => {
  it('text, json and yaml of a real pair diff are byte for byte what render() returns, with and without --stats', async () => {
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), { threads: 1 });
    expect(report.results.length).toBeGreaterThan(1);
    for (const format of ['text', 'json', 'yaml'] as const) {
      for (const options of [{}, { stats: true }]) {
        const pieces = [...(await renderChunks(report, format, options))];
        expect(pieces.join(''), format).toBe(await render(report, format, options));
        // text and json stream a line or an entry at a time.
        if (format !== 'yaml') expect(pieces.length, format).toBeGreaterThan(report.results.length);
      }
    }
  });

  it('a diff without differences gives the same "No differences" text and "[]"', async () => {
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp.safetensors'), { threads: 1 });
    for (const format of ['text', 'json'] as const) {
      expect([...(await renderChunks(report, format, {}))].join('')).toBe(await render(report, format, {}));
    }
  });
});
