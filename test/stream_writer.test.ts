/**
 * Streaming renderers (src/render/stream-writer.ts): the JSON and text written piece by piece
 * are the very bytes the whole-string renderers make, and the writer hands its sink chunks
 * of bounded size, waiting for the sink before it takes more.
 */
import { describe, expect, it } from 'vitest';
import { diffFiles } from '../src/library.js';
import { renderJson, streamJson } from '../src/render/json.js';
import { render, renderTo } from '../src/render/registry.js';
import { StreamWriter, collectingWriter } from '../src/render/stream-writer.js';
import { core } from './helpers/files.js';

async function streamed(value: unknown, chunkChars?: number): Promise<{ text: string; chunks: string[] }> {
  const chunks: string[] = [];
  const writer = new StreamWriter(async (t) => {
    chunks.push(t);
  }, chunkChars);
  await streamJson(value, writer);
  await writer.flush();
  return { text: chunks.join(''), chunks };
}

describe('streamed JSON', () => {
  const values: Array<[string, unknown]> = [
    ['an empty array', []],
    ['an object (written whole)', { a: [1, 2, { b: null }], c: 'x' }],
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
    it(`${label}: the same text as JSON.stringify of the whole value, and JSON.parse gives the same value`, async () => {
      const { text } = await streamed(value, 16);
      expect(text).toBe(renderJson(value));
      expect(JSON.parse(text)).toEqual(JSON.parse(renderJson(value)));
    });
  }

  it('hands the sink chunks of about the chunk size, each after the sink took the one before', async () => {
    const value = Array.from({ length: 2000 }, (_, i) => ({ Added: [`t${i}`, i * 0.5] }));
    let busy = false;
    const chunks: string[] = [];
    const writer = new StreamWriter(async (t) => {
      expect(busy).toBe(false);
      busy = true;
      await new Promise((r) => setTimeout(r, 0));
      chunks.push(t);
      busy = false;
    }, 4096);
    await streamJson(value, writer);
    await writer.flush();
    expect(chunks.join('')).toBe(renderJson(value));
    expect(chunks.length).toBeGreaterThan(10);
    const longestEntry = Math.max(...value.map((v) => JSON.stringify(v, null, 2).length + 8));
    for (const c of chunks) expect(c.length).toBeLessThan(4096 + longestEntry);
  });
});

describe('renderers written through renderTo', () => {
  it('text, json and yaml of a real pair diff are byte for byte what render() returns, with and without --stats', async () => {
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), { threads: 1 });
    expect(report.results.length).toBeGreaterThan(0);
    for (const format of ['text', 'json', 'yaml'] as const) {
      for (const options of [{}, { stats: true }]) {
        const { writer, text } = collectingWriter();
        await renderTo(report, format, options, writer);
        expect(text(), format).toBe(await render(report, format, options));
      }
    }
  });

  it('a diff without differences streams the same "No differences" text and "[]"', async () => {
    const report = await diffFiles(core('digits_mlp.safetensors'), core('digits_mlp.safetensors'), { threads: 1 });
    for (const format of ['text', 'json'] as const) {
      const { writer, text } = collectingWriter();
      await renderTo(report, format, {}, writer);
      expect(text()).toBe(await render(report, format, {}));
    }
  });
});
