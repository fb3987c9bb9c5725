import type { DiffResult, PairStream } from '../diff/types.js';
import { reportContract, toContract } from './contract.js';
import { inspectJsonChunks } from './inspect-json.js';
import { JsonBytes } from './json-bytes.js';
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

/**
 * Bytes of streamed JSON gathered before they are handed on: writes of 1 MiB (a file or a
 * pipe takes them in one call), in one buffer reused from piece to piece.
 */
const PIECE_BYTES = 1 << 20;

/**
 * A streamed pair's JSON (the contract array of its differences), written entry by entry as
 * UTF-8 (json-bytes.ts) and handed on PIECE_BYTES at a time: the text renderJson gives the
 * whole list. Each piece is borrowed: valid until the next one is asked for.
 */
export async function* jsonWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<Uint8Array> {
  const out = new JsonBytes(PIECE_BYTES + (PIECE_BYTES >> 3));
  let first = true;
  for await (const window of windows) {
    for (const entry of toContract(window)) {
      out.ascii(first ? '[' : ',');
      first = false;
      out.newline(2);
      out.value(entry, 2);
      if (out.length >= PIECE_BYTES) {
        yield out.bytes();
        out.reset();
      }
    }
  }
  if (first) out.ascii('[]\n');
  else {
    out.newline(0);
    out.ascii(']\n');
  }
  yield out.bytes();
}

const json: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectJsonChunks(report)].join('') : renderJson(reportContract(report))),
  // An inspection streams a tensor at a time; a diff's differences entry by entry.
  chunks: (report) => (report.kind === 'inspect' ? inspectJsonChunks(report) : jsonChunks(reportContract(report))),
  pairChunks: (stream: PairStream) => jsonWindowChunks(stream.windows),
};
export default json;
