import type { DiffResult, PairStream } from '../diff/types.js';
import { reportContract, toContract } from './contract.js';
import { inspectJsonChunks } from './inspect-json.js';
import { JsonTape } from './json-tape.js';
import { StatsTape, plainStatsChanged } from './stats-tape.js';
import type { Renderer } from './types.js';
import { jsonSafeChunks, jsonSafeChunksAsync, jsonTerminalSafe } from './json-safe.js';

/**
 * JSON output. JSON cannot carry non-finite numbers: JSON.stringify itself writes NaN and
 * ±Infinity as null (as finiteOnly() does), so no replacer is needed, and without one V8
 * stringifies on its fast path (a replacer call per key was most of a million-entry diff's time).
 */
export function renderJson(value: unknown): string {
  // One pass: no deep copy of a 100,000-tensor report.
  return jsonTerminalSafe(`${JSON.stringify(value, null, 2)}\n`);
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
    yield jsonTerminalSafe(`  ${text.replaceAll('\n', '\n  ')}${i + 1 < value.length ? ',' : ''}\n`);
  }
  yield ']\n';
}

/** Output handed on at a time by the tape: writes of 1 MiB (a file or a pipe takes them in one call). */
const PIECE_BYTES = 1 << 20;

/**
 * A streamed pair's JSON (the contract array of its differences): the text renderJson gives
 * the whole list. The first window is stringified by V8 (a small diff does not load the
 * text module); the rest goes on a JsonTape and comes out a megabyte at a time, as borrowed
 * bytes (valid until the next piece is asked for).
 */
export async function* jsonWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<string | Uint8Array> {
  let first = true;
  let tape: JsonTape | undefined;
  let statsTape: StatsTape | undefined;
  for await (const window of windows) {
    if (window.length === 0) continue;
    if (first) {
      const text = JSON.stringify(toContract(window), null, 2);
      yield `[\n${text.slice(2, -2)}`;
      first = false;
      continue;
    }
    tape ??= new JsonTape();
    statsTape ??= new StatsTape(tape);
    for (const r of window) {
      tape.raw(',\n  ');
      // The usual entry straight from its result; any other through its contract object.
      if (plainStatsChanged(r)) statsTape.json(r);
      else tape.value(toContract([r])[0], 2);
    }
    if (tape.wantsFlush(PIECE_BYTES)) yield* tape.flush();
  }
  if (first) {
    yield '[]\n';
    return;
  }
  tape?.raw('\n]\n');
  if (tape) yield* tape.flush();
  else yield '\n]\n';
}

// Every piece passes through json-safe.ts: names reach the output raw from files.
const json: Renderer = {
  render: (report) => (report.kind === 'inspect' ? jsonTerminalSafe([...inspectJsonChunks(report)].join('')) : renderJson(reportContract(report))),
  // An inspection streams a tensor at a time; a diff's differences entry by entry.
  chunks: (report) => jsonSafeChunks(report.kind === 'inspect' ? inspectJsonChunks(report, true) : jsonChunks(reportContract(report))),
  pairChunks: (stream: PairStream) => jsonSafeChunksAsync(jsonWindowChunks(stream.windows)),
};
export default json;
