import { reportContract } from './contract.js';
import { inspectJsonChunks } from './inspect-json.js';
import type { Renderer } from './types.js';

/** JSON output; non-finite numbers become null (JSON cannot carry them), as finiteOnly() does. */
export function renderJson(value: unknown): string {
  // One pass with a replacer: no deep copy of a 100,000-tensor report.
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

const json: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectJsonChunks(report)].join('') : renderJson(reportContract(report))),
  // An inspection streams, a tensor at a time; other reports are one string.
  chunks: (report) => (report.kind === 'inspect' ? inspectJsonChunks(report) : undefined),
};
export default json;
