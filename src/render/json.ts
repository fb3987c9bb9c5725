import { reportContract } from './contract.js';
import type { Renderer } from './types.js';

/** JSON output; non-finite numbers become null (JSON cannot carry them), as finiteOnly() does. */
export function renderJson(value: unknown): string {
  // One pass with a replacer: no deep copy of a 100,000-tensor report.
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

const json: Renderer = { render: (report) => renderJson(reportContract(report)) };
export default json;
