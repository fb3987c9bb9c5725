/**
 * JSON of an inspection in pieces: byte for byte what `renderJson(reportContract(report))`
 * prints (JSON.stringify with two-space indentation, non-finite numbers as null), but each
 * tensor is built and stringified on its own, a few thousand per piece, so a million-tensor
 * report is never one object tree or one string.
 */
import type { InspectReport } from '../library.js';
import { inspectRows, type InspectRows } from '../report/inspect-rows.js';
import { JsonTape } from './json-tape.js';
import { StatsTape, plainInspected } from './stats-tape.js';
import type { OutputPiece } from './stream-writer.js';

/** Tensors per piece of streamed output. */
const TENSORS_PER_CHUNK = 256;

/** `value` as JSON.stringify(…, 2) prints it at nesting `depth` (its lines indented to match). */
function nested(value: unknown, depth: number): string | undefined {
  // Without a replacer JSON.stringify already prints NaN and ±Infinity as null (and stays on its fast path).
  const text = JSON.stringify(value, null, 2);
  return text === undefined || depth === 0 ? text : text.replace(/\n/g, `\n${'  '.repeat(depth)}`);
}

const OPEN = '{\n  "tensors": [';
const CLOSE = '\n  ]\n}';

/**
 * Rows [from, to) as JSON.stringify prints them inside the report's "tensors" list: one
 * call for the piece, cut out of a stand-in object that has the list at the same depth.
 */
function tensorsJson(rows: InspectRows, from: number, to: number): string {
  const piece = Array.from({ length: to - from }, (_, i) => rows.tensor(from + i));
  const text = JSON.stringify({ tensors: piece }, null, 2);
  return text.slice(OPEN.length, text.length - CLOSE.length);
}

/** Tensors stringified by V8 before the rest go on a JsonTape (a small inspection does not load the text module). */
const BEFORE_TAPE = 1024;
/** Output the tape hands on at a time. */
const PIECE_BYTES = 1 << 20;

/**
 * With `bytes`, tensors after the first BEFORE_TAPE are written by a JsonTape and come as
 * borrowed UTF-8 pieces (Renderer.chunks); without, every piece is a string.
 */
export function* inspectJsonChunks(report: InspectReport, bytes = false): Generator<OutputPiece> {
  const rows = inspectRows(report);
  // The contract's members (reportContract): the report's in key order, the tensors where
  // they stand, then warnings when there are some.
  const members: Array<[string, unknown]> = [];
  for (const key of Object.keys(report)) {
    if (key === 'kind' || key === 'unmatchedFilters' || key === 'warnings') continue;
    members.push([key, key === 'tensors' ? undefined : report[key as keyof InspectReport]]);
  }
  if (report.warnings.length > 0) members.push(['warnings', report.warnings]);
  let out = '{';
  let first = true;
  for (const [key, value] of members) {
    if (key !== 'tensors') {
      const text = nested(value, 1);
      if (text === undefined) continue; // JSON.stringify leaves such members out
      out += `${first ? '' : ','}\n  ${JSON.stringify(key)}: ${text}`;
      first = false;
      continue;
    }
    out += `${first ? '' : ','}\n  "tensors": `;
    first = false;
    if (rows.count === 0) {
      out += '[]';
      continue;
    }
    yield `${out}[`;
    const stringified = bytes ? Math.min(rows.count, BEFORE_TAPE) : rows.count;
    for (let i = 0; i < stringified; i += TENSORS_PER_CHUNK) {
      yield `${i === 0 ? '' : ','}${tensorsJson(rows, i, Math.min(stringified, i + TENSORS_PER_CHUNK))}`;
    }
    if (stringified < rows.count) {
      const tape = new JsonTape();
      const direct = new StatsTape(tape);
      for (let i = stringified; i < rows.count; i++) {
        tape.raw(',\n    ');
        // The usual tensor (no tie, link, parts or quantization) without the generic walk.
        const t = rows.tensor(i);
        if (plainInspected(t)) direct.jsonInspected(t);
        else tape.value(t, 4);
        if (tape.wantsFlush(PIECE_BYTES)) yield* tape.flush();
      }
      yield* tape.flush();
    }
    out = '\n  ]';
  }
  yield `${out}${first ? '' : '\n'}}\n`;
}
