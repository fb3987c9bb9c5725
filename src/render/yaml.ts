import type { DiffResult, PairStream } from '../diff/types.js';
import { finiteOnly, reportContract, toContract } from './contract.js';
import type { Renderer } from './types.js';

const DUMP_OPTIONS = { noRefs: true, lineWidth: -1 };

/** YAML text of a value; js-yaml is loaded only when YAML is asked for (start-up time). */
export async function renderYaml(value: unknown): Promise<string> {
  const { default: yaml } = await import('js-yaml');
  return yaml.dump(finiteOnly(value), DUMP_OPTIONS);
}

/** Entries dumped together in a streamed pair's YAML: pieces of some 30 KB, below V8's large-object size, so they die young. */
const ENTRIES_PER_PIECE = 32;

/**
 * A streamed pair's YAML, ENTRIES_PER_PIECE entries at a time. The contract is a top-level
 * block sequence, whose items js-yaml writes each on its own (`- …` lines, no anchors with
 * noRefs), so the dumps of consecutive groups put together are the dump of the whole list.
 */
export async function* yamlWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<string> {
  const { default: yaml } = await import('js-yaml');
  let empty = true;
  for await (const window of windows) {
    for (let i = 0; i < window.length; i += ENTRIES_PER_PIECE) {
      empty = false;
      yield yaml.dump(finiteOnly(toContract(window.slice(i, i + ENTRIES_PER_PIECE))), DUMP_OPTIONS);
    }
  }
  if (empty) yield yaml.dump([], DUMP_OPTIONS);
}

const yamlRenderer: Renderer = {
  render: (report) => renderYaml(reportContract(report)),
  pairChunks: (stream: PairStream) => yamlWindowChunks(stream.windows),
};
export default yamlRenderer;
