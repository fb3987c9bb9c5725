/**
 * YAML pieces for the renderers: the direct writer (yaml-emit.ts), and js-yaml, the
 * reference, for a value the writer leaves (then only that item goes through js-yaml).
 * Both paths print `dump(finiteOnly(value), { noRefs: true, lineWidth: -1 })`.
 */
import yaml from 'js-yaml';
import { finiteOnly } from './contract.js';
import { isAbsent, yamlDocument, yamlItem } from './yaml-emit.js';

const DUMP_OPTIONS = { noRefs: true, lineWidth: -1 };

/**
 * js-yaml's text of `value` as a block-sequence item at `level`: the value nested in
 * `level` one-item lists dumps as `- - … ` and that text, the prefix is cut off.
 */
function referenceItem(value: unknown, level: number): string {
  let wrapped: unknown = [value];
  for (let l = 1; l < level; l++) wrapped = [wrapped];
  return yaml.dump(finiteOnly(wrapped), DUMP_OPTIONS).slice(2 * level, -1);
}

/** `value` as an item of a block sequence at `level` (1: a document's top-level list), the text after its `- `. */
export function itemText(value: unknown, level: number): string {
  return yamlItem(value, level) ?? referenceItem(value, level);
}

/** A whole document: a list item by item (each falls back alone), anything else at once. */
export function* documentChunks(value: unknown): Generator<string> {
  if (Array.isArray(value) && value.length > 0) {
    for (const item of value) yield `- ${itemText(item, 1)}\n`;
    return;
  }
  yield yamlDocument(value) ?? yaml.dump(finiteOnly(value), DUMP_OPTIONS);
}

/**
 * One member of a top-level mapping, `key: value` (a block collection under the key on
 * lines of its own), without the line break between members; undefined for a value JSON
 * leaves out.
 */
export function memberText(key: string, value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  const member = { [key]: value };
  return (yamlDocument(member) ?? yaml.dump(finiteOnly(member), DUMP_OPTIONS)).slice(0, -1);
}
