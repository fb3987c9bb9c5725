import { finiteOnly, reportContract } from './contract.js';
import type { Renderer } from './types.js';

export function renderJson(value: unknown): string {
  return JSON.stringify(finiteOnly(value), null, 2) + '\n';
}

const json: Renderer = { render: (report) => renderJson(reportContract(report)) };
export default json;
