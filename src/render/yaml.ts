import type { DiffResult, PairStream } from '../diff/types.js';
import { reportContract, toContract } from './contract.js';
import { inspectYamlChunks } from './inspect-yaml.js';
import type { Renderer } from './types.js';
import { documentChunks, itemText } from './yaml-text.js';

/** YAML text of a value (js-yaml's dump of the contract: non-finite numbers as null, no anchors, no folding). */
export function renderYaml(value: unknown): string {
  return [...documentChunks(value)].join('');
}

/** Entries written together in a streamed pair's YAML: pieces of some 30 KB, below V8's large-object size, so they die young. */
const ENTRIES_PER_PIECE = 32;

/**
 * A streamed pair's YAML, ENTRIES_PER_PIECE entries at a time: the contract is a top-level
 * block sequence, whose items are written each on its own (`- …` lines), so the items of
 * consecutive windows put together are the document of the whole list.
 */
export async function* yamlWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<string> {
  let empty = true;
  for await (const window of windows) {
    const entries = toContract(window);
    for (let i = 0; i < entries.length; i += ENTRIES_PER_PIECE) {
      let piece = '';
      for (let j = i; j < Math.min(entries.length, i + ENTRIES_PER_PIECE); j++) piece += `- ${itemText(entries[j], 1)}\n`;
      empty = false;
      yield piece;
    }
  }
  if (empty) yield '[]\n';
}

const yamlRenderer: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectYamlChunks(report)].join('') : renderYaml(reportContract(report))),
  // An inspection streams a tensor at a time; other reports item by item.
  chunks: (report) => (report.kind === 'inspect' ? inspectYamlChunks(report) : documentChunks(reportContract(report))),
  pairChunks: (stream: PairStream) => yamlWindowChunks(stream.windows),
};
export default yamlRenderer;
