/**
 * YAML of an inspection in pieces: byte for byte what js-yaml dumps of
 * `finiteOnly(reportContract(report))`, but each tensor is built and written on its own, a
 * few hundred per piece, so a million-tensor report is never one object tree or one string.
 */
import type { InspectReport } from '../library.js';
import { inspectRows } from '../report/inspect-rows.js';
import { itemText, memberText } from './yaml-text.js';

/** Tensors per piece of streamed output. */
const TENSORS_PER_CHUNK = 256;

export function* inspectYamlChunks(report: InspectReport): Generator<string> {
  const rows = inspectRows(report);
  // The contract's members (reportContract): the report's in key order, the tensors where
  // they stand, then warnings when there are some. A top-level mapping: members one a line.
  const keys = Object.keys(report).filter((key) => key !== 'kind' && key !== 'unmatchedFilters' && key !== 'warnings');
  if (report.warnings.length > 0) keys.push('warnings');
  let out = '';
  let started = false; // a member was written: the next starts a line
  for (const key of keys) {
    const separator = started ? '\n' : '';
    if (key !== 'tensors') {
      const text = memberText(key, report[key as keyof InspectReport]);
      if (text === undefined) continue;
      out += separator + text;
      started = true;
      continue;
    }
    started = true;
    if (rows.count === 0) {
      out += `${separator}tensors: []`;
      continue;
    }
    // The list under its key: items on lines of their own, one level in.
    yield `${out}${separator}tensors:`;
    for (let i = 0; i < rows.count; i += TENSORS_PER_CHUNK) {
      let piece = '';
      for (let j = i; j < Math.min(rows.count, i + TENSORS_PER_CHUNK); j++) piece += `\n  - ${itemText(rows.tensor(j), 2)}`;
      yield piece;
    }
    out = '';
  }
  yield started ? `${out}\n` : '{}\n';
}
