import { reportContract } from './contract.js';
import { inspectJsonChunks } from './inspect-json.js';
import type { Renderer } from './types.js';

/** JSON cannot carry non-finite numbers: they become null, as finiteOnly() does. */
const finiteReplacer = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** JSON output; non-finite numbers become null (JSON cannot carry them), as finiteOnly() does. */
export function renderJson(value: unknown): string {
  // One pass with a replacer: no deep copy of a 100,000-tensor report.
  return `${JSON.stringify(value, finiteReplacer, 2)}\n`;
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
    const text = JSON.stringify(value[i], finiteReplacer, 2) ?? 'null';
    yield `  ${text.replaceAll('\n', '\n  ')}${i + 1 < value.length ? ',' : ''}\n`;
  }
  yield ']\n';
}

const json: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectJsonChunks(report)].join('') : renderJson(reportContract(report))),
  // An inspection streams a tensor at a time; a diff's differences entry by entry.
  chunks: (report) => (report.kind === 'inspect' ? inspectJsonChunks(report) : jsonChunks(reportContract(report))),
};
export default json;
