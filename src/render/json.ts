import { reportContract } from './contract.js';
import type { StreamWriter } from './stream-writer.js';
import type { Renderer } from './types.js';

/** JSON cannot carry non-finite numbers: they become null, as finiteOnly() does. */
const finiteReplacer = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** JSON output; non-finite numbers become null (JSON cannot carry them), as finiteOnly() does. */
export function renderJson(value: unknown): string {
  // One pass with a replacer: no deep copy of a 100,000-tensor report.
  return `${JSON.stringify(value, finiteReplacer, 2)}\n`;
}

/**
 * renderJson(value) written element by element when value is an array (a report's list of
 * differences): each element is stringified alone and indented one level, which is the
 * text JSON.stringify gives the whole array, without the whole text in memory at once.
 */
export async function streamJson(value: unknown, out: StreamWriter): Promise<void> {
  if (!Array.isArray(value) || value.length === 0) return out.write(renderJson(value));
  await out.write('[\n');
  for (let i = 0; i < value.length; i++) {
    // JSON.stringify writes an element it cannot represent (undefined, a function) as null.
    const text = JSON.stringify(value[i], finiteReplacer, 2) ?? 'null';
    await out.write(`  ${text.replaceAll('\n', '\n  ')}${i + 1 < value.length ? ',' : ''}\n`);
  }
  await out.write(']\n');
}

const json: Renderer = {
  render: (report) => renderJson(reportContract(report)),
  stream: (report, _options, out) => streamJson(reportContract(report), out),
};
export default json;
