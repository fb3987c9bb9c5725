import type { DiffResult, PairStream } from '../diff/types.js';
import { reportContract, toContract } from './contract.js';
import { inspectYamlChunks } from './inspect-yaml.js';
import { JsonTape } from './json-tape.js';
import { StatsTape, plainStatsChanged } from './stats-tape.js';
import type { Renderer } from './types.js';
import { documentChunks, itemText } from './yaml-text.js';
import { YamlTape } from './yaml-tape.js';

/** YAML text of a value (js-yaml's dump of the contract: non-finite numbers as null, no anchors, no folding). */
export function renderYaml(value: unknown): string {
  return [...documentChunks(value)].join('');
}

/** Entries written together in a streamed pair's first window: pieces of some 30 KB, below V8's large-object size, so they die young. */
const ENTRIES_PER_PIECE = 32;

/** Output handed on at a time by the tape: writes of 1 MiB (a file or a pipe takes them in one call). */
const PIECE_BYTES = 1 << 20;

/**
 * A streamed pair's YAML: the contract is a top-level block sequence, whose items are
 * written each on its own (`- …` lines), so the items of consecutive windows put together
 * are the document of the whole list. The first window is written as text by yaml-emit (a
 * small diff does not load the text module); the rest goes on a tape (yaml-tape.ts) and
 * comes out a megabyte at a time, as borrowed bytes (valid until the next piece is asked for).
 */
export async function* yamlWindowChunks(windows: AsyncIterable<DiffResult[]>): AsyncGenerator<string | Uint8Array> {
  let empty = true;
  let yamlTape: YamlTape | undefined;
  let tape: JsonTape | undefined;
  let statsTape: StatsTape | undefined;
  for await (const window of windows) {
    if (window.length === 0) continue;
    if (empty) {
      const entries = toContract(window);
      empty = false;
      for (let i = 0; i < entries.length; i += ENTRIES_PER_PIECE) {
        let piece = '';
        for (let j = i; j < Math.min(entries.length, i + ENTRIES_PER_PIECE); j++) piece += `- ${itemText(entries[j], 1)}\n`;
        yield piece;
      }
      continue;
    }
    tape ??= new JsonTape();
    yamlTape ??= new YamlTape(tape);
    statsTape ??= new StatsTape(tape);
    // The usual entry straight from its result; any other through its contract object.
    for (const r of window) {
      if (plainStatsChanged(r)) statsTape.yaml(r);
      else yamlTape.item(toContract([r])[0]);
    }
    if (tape.wantsFlush(PIECE_BYTES)) yield* tape.flush();
  }
  if (empty) yield '[]\n';
  else if (tape) yield* tape.flush();
}

const yamlRenderer: Renderer = {
  render: (report) => (report.kind === 'inspect' ? [...inspectYamlChunks(report)].join('') : renderYaml(reportContract(report))),
  // An inspection streams a tensor at a time; other reports item by item.
  chunks: (report) => (report.kind === 'inspect' ? inspectYamlChunks(report) : documentChunks(reportContract(report))),
  pairChunks: (stream: PairStream) => yamlWindowChunks(stream.windows),
};
export default yamlRenderer;
