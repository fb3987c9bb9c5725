import type { DiffResult, PairStream } from '../diff/types.js';
import { reportContract, toContract } from './contract.js';
import { inspectJsonChunks } from './inspect-json.js';
import type { Renderer } from './types.js';

/**
 * JSON output. JSON cannot carry non-finite numbers: JSON.stringify itself writes NaN and
 * ±Infinity as null (as finiteOnly() does), so no replacer is needed, and without one V8
 * stringifies on its fast path (a replacer call per key was most of a million-entry diff's time).
 */
export function renderJson(value: unknown): string {
  // One pass: no deep copy of a 100,000-tensor report.
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * renderJson(value) in pieces when value is an array (a diff's list of differences): each
 * element stringified alone and indented one level, which is the text JSON.stringify gives
 * the whole array, without that text in memory at once.
 */
export function* jsonChunks(value: unknown): Generator<string> {
  if (!Array.isArray(value) || value.length === 0) {
    yield renderJson(value);
    return;
  }
  yield '[\n';
  for (let i = 0; i < value.length; i++) {
    // JSON.stringify writes an element it cannot represent (undefined, a function) as null.
    const text = JSON.stringify(value[i], null, 2) ?? 'null';
    yield `  ${text.replaceAll('\n', '\n  ')}${i + 1 < value.length ? ',' : ''}\n`;
  }
  yield ']\n';
}

/** Entries stringified together in a streamed pair's JSON: pieces of some 30 KB, below V8's large-object size, so they die young. */
const ENTRIES_PER_PIECE = 32;

/**
 * A streamed pair's JSON (the contract array of its differences), ENTRIES_PER_PIECE entries
 * at a time: each group stringified as one array, whose text between the brackets is those
 * entries as the whole array shows them (same indentation, `,\n` between).
 */
export async function* jsonWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<string> {
  let first = true;
  for await (const window of windows) {
    for (let i = 0; i < window.length; i += ENTRIES_PER_PIECE) {
      const text = JSON.stringify(toContract(window.slice(i, i + ENTRIES_PER_PIECE)), null, 2);
      yield `${first ? '[\n' : ',\n'}${text.slice(2, -2)}`;
      first = false;
    }
  }
  yield first ? '[]\n' : '\n]\n';
}

const json: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectJsonChunks(report)].join('') : renderJson(reportContract(report))),
  // An inspection streams a tensor at a time; a diff's differences entry by entry.
  chunks: (report) => (report.kind === 'inspect' ? inspectJsonChunks(report) : jsonChunks(reportContract(report))),
  pairChunks: (stream: PairStream) => jsonWindowChunks(stream.windows),
};
export default json;
