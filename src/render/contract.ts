/**
 * The JSON/YAML shape users script against (DESIGN §5): an array of one-key objects.
 * Numbers that do not exist, and non-finite numbers in leaves, become null.
 */
import type { AnalysisEntry } from '../analysis/types.js';
import type { DiffResult } from '../diff/types.js';
import type { Report } from '../report/types.js';

export type ContractEntry = Record<string, unknown>;

/**
 * One-key objects; a result whose names were remapped (--strip-prefix, --rename) has a
 * second key, `original_names`: `{"a": name in A, "b": name in B}` for the sides it is on.
 */
export function toContract(results: DiffResult[]): ContractEntry[] {
  return results.map((r) => (r.original ? { ...entry(r), original_names: r.original } : entry(r)));
}

function entry(r: DiffResult): ContractEntry {
  switch (r.kind) {
    case 'TensorStatsChanged':
      return { [r.kind]: [r.name, r.a, r.b, r.comparison] };
    case 'TensorShapeChanged':
    case 'TensorDtypeChanged':
    case 'Modified':
      return { [r.kind]: [r.name, r.a, r.b] };
    case 'TensorAdded':
    case 'TensorRemoved':
      return { [r.kind]: [r.name, r.stats] };
    case 'Added':
    case 'Removed':
      return { [r.kind]: [r.name, r.value] };
    case 'TieChanged':
      return { [r.kind]: [r.name, r.partner, r.a, r.b] };
  }
  throw new Error(`unknown result kind ${(r as DiffResult).kind}`);
}

/** Deep copy with non-finite numbers replaced by null (JSON cannot carry them). */
export function finiteOnly(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

/** Analyses as one-key objects `{"Key": data}`, appended after the differences. */
export function analysesContract(entries: AnalysisEntry[]): Array<Record<string, unknown>> {
  return entries.map((e) => ({ [e.key]: e.data }));
}

/**
 * The JSON/YAML value of a report: a pair's differences (then its analyses); a sequence's
 * `{"Diff": {a, b, differences}}` per pair, then its analyses; a directory's files with
 * status and differences; an inspection's object (warnings only when there are some).
 */
export function reportContract(report: Report): unknown {
  switch (report.kind) {
    case 'pair':
      return report.analyses ? [...toContract(report.results), ...analysesContract(report.analyses)] : toContract(report.results);
    case 'sequence':
      return [...report.pairs.map((p) => ({ Diff: { a: p.a.path, b: p.b.path, differences: toContract(p.results) } })), ...analysesContract(report.analyses)];
    case 'directory':
      return report.files.map((f) => ({ file: f.file, status: f.status, differences: toContract(f.results) }));
    case 'inspect': {
      const { kind: _kind, warnings, unmatchedFilters: _unmatched, ...body } = report;
      return warnings.length > 0 ? { ...body, warnings } : body;
    }
  }
}
