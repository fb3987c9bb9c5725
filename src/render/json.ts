import { finiteOnly } from './contract.js';

export function renderJson(value: unknown): string {
  return JSON.stringify(finiteOnly(value), null, 2) + '\n';
}
